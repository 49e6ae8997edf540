"""Stage 2 through tools/test.py: seeds written, resumed, sharded, scored."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CONFIG, direct_miou, run_tool
from mmengine.config import Config
from mmseg.registry import MODELS
from PIL import Image

from mmseg_cobra.ops.seed_labels import combine_seeds, seeds_to_label
from mmseg_cobra.structures.seed_io import load_seed

pytestmark = pytest.mark.slow

SCALES = '[0.5,0.75,1.0,1.25,1.5,1.75,2.0]'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    cfg = Config.fromfile(TINY_CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def seed_test_args(root, work_dir, extra=()):
    return [
        '--work-dir', work_dir, '--cfg-options',
        'test_dataloader.dataset.data_root=' + root,
        'test_dataloader.num_workers=0', f'model.test_cfg.scales={SCALES}',
        *extra
    ]


def seed_files(work_dir):
    return sorted(glob.glob(osp.join(work_dir, 'seeds', '*.npz')))


def test_seeds_resume_after_kill(synthetic_root, checkpoint, tmp_path):
    work_dir = str(tmp_path / 'work')
    cmd = [
        sys.executable, 'tools/test.py', TINY_CONFIG, checkpoint,
        *seed_test_args(synthetic_root, work_dir)
    ]
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.time() + 300
    while len(seed_files(work_dir)) < 4 and proc.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, 'finished before it could be killed'
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p: os.stat(p).st_mtime_ns for p in seed_files(work_dir)}
    assert 4 <= len(done) < 24
    # no half-written file is visible under a seed name
    for path in done:
        np.load(path)['cam_fuse']

    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, checkpoint,
        *seed_test_args(synthetic_root, work_dir)
    ])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert f'{len(done)} of 24 samples already written' in log
    files = seed_files(work_dir)
    assert len(files) == 24
    for path, mtime in done.items():
        assert os.stat(path).st_mtime_ns == mtime, 'finished seed rewritten'
    with open(osp.join(work_dir, 'seeds', '.written_rank0.txt')) as f:
        written = f.read().split()
    assert len(written) == len(set(written))
    assert 'seed mIoU' in log

    # a rerun with every seed written (e.g. killed after the last seed, before
    # the pipeline recorded the stage) finishes with a message, not an error
    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, checkpoint,
        *seed_test_args(synthetic_root, work_dir)
    ])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'nothing left to do: all 24 samples are already written' in log
    for path in files:
        np.load(path)['cam_fuse']


def test_dist_test_two_ranks_write_disjoint_halves(synthetic_root, checkpoint,
                                                   tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool([
        'bash', 'tools/dist_test.sh', TINY_CONFIG, checkpoint, '2',
        *seed_test_args(
            synthetic_root, work_dir, extra=['model.test_cfg.scales=[1.0]'])
    ],
                      env={
                          'PYTHON': sys.executable,
                          'PORT': '29527',
                          'CUDA_VISIBLE_DEVICES': ''
                      })
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    written = []
    for rank in (0, 1):
        with open(osp.join(work_dir, 'seeds',
                           f'.written_rank{rank}.txt')) as f:
            written.append(set(f.read().split()))
    assert len(written[0]) == len(written[1]) == 12
    assert not written[0] & written[1]
    assert len(seed_files(work_dir)) == 24


def test_eval_seeds_tool_and_bad_files(synthetic_root, checkpoint, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, checkpoint,
        *seed_test_args(
            synthetic_root, work_dir, extra=['model.test_cfg.scales=[1.0]'])
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    seed_dir = osp.join(work_dir, 'seeds')
    files = seed_files(work_dir)
    # truncate one file, make another look like a 20-class (VOC) seed
    with open(files[0], 'r+b') as f:
        f.truncate(100)
    data = dict(np.load(files[1]))
    data['num_classes'] = np.asarray(20)
    np.savez_compressed(files[1], **data)

    out = str(tmp_path / 'report.json')
    result = run_tool([
        sys.executable, 'tools/eval_seeds.py', TINY_CONFIG, '--seed-dir',
        seed_dir, '--data-root', synthetic_root, '--out', out
    ])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert '2 of 24 images skipped' in log
    bad0 = osp.basename(files[0])[:-4]
    bad1 = osp.basename(files[1])[:-4]
    assert bad0 in log and 'unreadable' in log
    assert bad1 in log and 'made for 20 classes' in log
    report = json.load(open(out))
    assert report['_images']['scored'] == 22
    # every source's best fixed threshold, scored again here directly on
    # the 22 good seed files
    good = [f for f in files if f not in files[:2]]
    seeds = [load_seed(f) for f in good]
    gts = [
        np.asarray(
            Image.open(
                osp.join(synthetic_root, 'SegmentationClassAug',
                         osp.basename(f)[:-4] + '.png'))) for f in good
    ]
    for source in ('cnn', 'vit', 'mean', 'max', 'fuse'):
        fixed = report[f'{source}/fixed']
        preds = [
            seeds_to_label(
                combine_seeds(seed, source), seed['keys'], fixed['threshold'])
            for seed in seeds
        ]
        assert fixed['mIoU'] == pytest.approx(
            direct_miou(preds, gts, 5), abs=1e-6)
        assert 'per_class' in report[f'{source}/dynamic']
