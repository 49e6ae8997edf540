"""tools/train.py and tools/dist_train.sh on a tiny CoBra and synthetic
data."""
import glob
import json
import os.path as osp
import sys

import pytest
from conftest import REPO, TINY_CONFIG, run_tool


def train_args(root, work_dir, epochs, batch_size=8, extra=()):
    return [
        'train_dataloader.dataset.data_root=' + root,
        f'train_dataloader.batch_size={batch_size}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={epochs}',
        'default_hooks.logger.interval=1',
        *extra,
    ]


def read_scalars(work_dir):
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    assert files, f'no scalars.json under {work_dir}'
    rows = []
    for path in files:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if 'loss' in r]


@pytest.mark.slow
def test_train_save_and_resume(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    first = run_tool([
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
        '--cfg-options', *train_args(synthetic_root, work_dir, epochs=1)
    ])
    assert first.returncode == 0, first.stderr[-3000:]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))

    second = run_tool([
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
        '--resume', '--cfg-options',
        *train_args(synthetic_root, work_dir, epochs=2)
    ])
    assert second.returncode == 0, second.stderr[-3000:]
    log = second.stdout + second.stderr
    assert 'resumed epoch: 1, iter: 3' in log
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    iters = [r['iter'] for r in read_scalars(work_dir)]
    # 24 images / batch 8 = 3 iterations per epoch; the resumed run starts
    # at iteration 4 rather than 1
    assert iters[-3:] == [4, 5, 6]


@pytest.mark.slow
def test_tiny_training_run_lowers_the_loss(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool([
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
        '--cfg-options', *train_args(
            synthetic_root,
            work_dir,
            epochs=8,
            extra=['custom_hooks.ComplementaryLossSwitchHook.start_epoch=2'])
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    rows = read_scalars(work_dir)
    terms = ('loss_cls_cnn', 'loss_cls_vit', 'loss_cam', 'loss_sap',
             'loss_cap')
    before = [r for r in rows if r['epoch'] <= 2]
    after = [r for r in rows if r['epoch'] > 2]
    assert before and after
    assert all('loss_cam' not in r for r in before)
    assert all(all(t in r for t in terms) for r in after)
    # the logged 'loss' is a moving average that mixes in the iterations
    # before the switch, so compare the sum of the logged terms
    total = lambda r: sum(r[t] for t in terms)  # noqa: E731
    assert total(after[-1]) < 0.9 * total(after[0])
    for term in terms:
        assert after[-1][term] < after[0][term], term
    cls = lambda r: r['loss_cls_cnn'] + r['loss_cls_vit']  # noqa: E731
    assert cls(rows[-1]) < cls(rows[0])


def dist_train_one_epoch(root, work_dir, port):
    """``tools/dist_train.sh`` with 2 CPU processes, one epoch, batch 4."""
    return run_tool([
        'bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        work_dir, '--cfg-options',
        *train_args(root, work_dir, epochs=1, batch_size=4)
    ],
                    env={
                        'PYTHON': sys.executable,
                        'PORT': port,
                        'CUDA_VISIBLE_DEVICES': ''
                    })


@pytest.mark.slow
def test_dist_train_two_cpu_processes(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = dist_train_one_epoch(synthetic_root, work_dir, '29517')
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert 'Distributed training: True' in log
    assert 'gloo' in log
    # 24 images over 2 ranks x batch 4 = 3 iterations per epoch
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert [r['iter'] for r in read_scalars(work_dir)] == [1, 2, 3]
    # the dataset check ran once, on rank 0
    assert log.count('dataset check (train_dataloader)') == 1, log[-4000:]


@pytest.mark.slow
def test_dist_train_bad_image_stops_every_rank_with_rank0_verdict(
        synthetic_root, tmp_path):
    import shutil
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    with open(osp.join(root, 'ImageSets/Segmentation/train_aug.txt')) as f:
        bad_id = f.readline().strip()
    bad = osp.join(root, 'JPEGImages', bad_id + '.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    work_dir = str(tmp_path / 'work')
    result = dist_train_one_epoch(root, work_dir, '29519')
    log = result.stdout + result.stderr
    assert result.returncode != 0
    # both ranks stop with rank 0's message, which names the file
    assert log.count('error: dataset check (train_dataloader) failed') == 2
    assert bad in log
    assert not osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


@pytest.mark.slow
def test_wrong_custom_import_fails_clearly(tmp_path):
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                   "custom_imports = dict(imports=['mmseg_cobra_typo'], "
                   'allow_failed_imports=False)\n')
    result = run_tool([sys.executable, 'tools/train.py', str(cfg)])
    assert result.returncode != 0
    assert 'custom_imports' in result.stderr
    assert 'mmseg_cobra_typo' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('tool,argv', [
    ('train.py', ['cfg.py']),
    ('test.py', ['cfg.py', 'ckpt.pth']),
])
@pytest.mark.parametrize('flag', ['--local_rank', '--local-rank'])
def test_both_local_rank_spellings_are_accepted(tool, argv, flag, monkeypatch):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'tool_' + tool[:-3], osp.join(REPO, 'tools', tool))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    monkeypatch.setattr(sys, 'argv', [tool, *argv, flag, '3'])
    args = module.parse_args()
    assert args.local_rank == 3
    import os
    assert os.environ['LOCAL_RANK'] == '3'
