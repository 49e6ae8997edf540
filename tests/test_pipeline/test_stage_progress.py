"""StageProgress: the pipeline's status line from a stage tool's log."""
import io
import time

from mmengine.utils import ProgressBar

from mmseg_cobra.pipeline.progress import (Progress, StageProgress,
                                           describe_outputs)


def test_parse_mmengine_lines():
    bar = Progress.parse('[>>>>>>     ] 12/100, 3.4 task/s, elapsed: 4s, '
                         'ETA:    26s')
    assert (bar.phase, bar.done, bar.total, bar.eta) == ('images', 12, 100,
                                                         '0:00:26')
    assert bar.describe() == '12/100 images, 3.4 img/s, ETA 0:00:26'
    train = Progress.parse(
        '2026/12/06 05:00:00 - mmengine - INFO - Epoch(train)  [3][ 50/331]'
        '  base_lr: 1.0e-01 lr: 9.1e-02  eta: 1 day, 2:03:04  time: 0.5')
    assert (train.phase, train.epoch, train.done, train.total) == ('train', 3,
                                                                   50, 331)
    assert train.describe() == ('train epoch 3: 50/331 iterations, '
                                'ETA 1 day, 2:03:04')
    assert train.describe(count=False) == ('train epoch 3 (331 iterations), '
                                           'ETA 1 day, 2:03:04')
    it = Progress.parse('Iter(train) [ 1200/40000]  lr: 1e-2  eta: 5:01:02  '
                        'time: 0.4')
    assert (it.phase, it.epoch, it.done, it.eta) == ('train', None, 1200,
                                                     '5:01:02')
    test = Progress.parse('Epoch(test) [ 8/32]    eta: 0:00:09  time: 0.3')
    assert test.describe() == 'test: 8/32 iterations, ETA 0:00:09'
    assert Progress.parse('loss: 0.3') is None


def _write_slowly(path, lines):
    with open(path, 'a') as f:
        for line in lines:
            f.write(line)
            f.flush()
            time.sleep(0.02)


def test_follows_a_progress_bar_without_a_terminal(tmp_path):
    """A real mmengine ProgressBar written to the log: without a terminal,
    one line per tenth of the images, never the tool's own text."""
    log = str(tmp_path / 'stage.log')
    with open(log, 'w') as f:
        f.write('$ python tools/make_ir_labels.py ...\nearlier output\n')
    out = io.StringIO()
    with StageProgress(log, '[pipeline] ir_labels', out=out, poll=0.01):
        with open(log, 'a') as f:
            bar = ProgressBar(40, file=f)
            for _ in range(40):
                bar.update()
                time.sleep(0.005)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith('[pipeline] ir_labels: 40/40 images, ')
    assert 2 <= len(lines) <= 11, lines  # at most one per tenth
    assert all(line.startswith('[pipeline] ir_labels: ') for line in lines)
    assert 'earlier output' not in out.getvalue()


def test_training_prints_once_per_epoch(tmp_path):
    log = str(tmp_path / 'stage.log')
    open(log, 'w').close()
    out = io.StringIO()
    lines = [
        f'Epoch(train)  [{e}][{i:2d}/20]  lr: 0.1  eta: 0:0{9 - e}:00  '
        'time: 0.1\n' for e in (1, 2) for i in (5, 10, 15, 20)
    ]
    with StageProgress(log, '[pipeline] classifier', out=out, poll=0.01):
        _write_slowly(log, lines)
    printed = out.getvalue().splitlines()
    assert [p.split(': ')[1].split(' (')[0]
            for p in printed] == ['train epoch 1', 'train epoch 2']
    # the epoch's length, not where in it the first log line fell
    assert printed[-1] == ('[pipeline] classifier: train epoch 2 '
                           '(20 iterations), ETA 0:07:00')


def test_verbose_streams_the_log(tmp_path):
    log = str(tmp_path / 'stage.log')
    with open(log, 'w') as f:
        f.write('before the stage\n')
    out = io.StringIO()
    with StageProgress(
            log, '[pipeline] seeds', verbose=True, out=out, poll=0.01):
        _write_slowly(log, ['line one\n', 'Epoch(test) [1/2]\n'])
    assert out.getvalue() == 'line one\nEpoch(test) [1/2]\n'


def test_terminal_rewrites_one_line(tmp_path):

    class Terminal(io.StringIO):

        def isatty(self):
            return True

    log = str(tmp_path / 'stage.log')
    open(log, 'w').close()
    out = Terminal()
    with StageProgress(log, '[pipeline] masks', out=out, poll=0.01):
        _write_slowly(log, [
            f'Epoch(test) [{i}/4]    eta: 0:00:0{4 - i}  time: 0.1\n'
            for i in range(1, 5)
        ])
    text = out.getvalue()
    assert '\n' not in text  # rewritten in place, cleared at the end
    assert text.endswith('\r\033[K')
    assert '[pipeline] masks: test: 4/4 iterations' in text


def test_describe_outputs(tmp_path):
    seeds = tmp_path / 'seeds'
    seeds.mkdir()
    for i in range(3):
        (seeds / f'{i}.npz').write_bytes(b'')
    (seeds / '.written_rank0.txt').write_text('')  # bookkeeping: not counted
    ckpt = tmp_path / 'epoch_2.pth'
    ckpt.write_bytes(b'')
    text = describe_outputs(
        dict(
            seed_dir=str(seeds),
            checkpoint=str(ckpt),
            mask_miou=75.1049,
            seconds=3.0,
            rule='reference'))
    assert text == (f'seed_dir {seeds} (3 files); checkpoint {ckpt}; '
                    'mask_miou 75.10')
    assert describe_outputs(dict(value='config')) == ''
