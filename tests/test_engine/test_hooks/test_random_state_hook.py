"""RandomStateHook: a training killed mid-way and resumed ends with the same
weights as an uninterrupted one (iteration- and epoch-based loops)."""
import os.path as osp
import random
import signal
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CONFIG, run_tool

from mmseg_cobra.engine.hooks.random_state_hook import (get_random_state,
                                                        set_random_state)

DEEPLAB = osp.join(REPO, 'configs/seg/deeplabv3plus_r18_synthetic.py')


def test_state_round_trip_through_a_weights_only_load(tmp_path):
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    state = get_random_state()
    path = str(tmp_path / 'state.pth')
    torch.save(dict(random_state=state), path)
    draws = (random.random(), np.random.rand(3), torch.rand(3))
    set_random_state(torch.load(path, weights_only=True)['random_state'])
    again = (random.random(), np.random.rand(3), torch.rand(3))
    assert draws[0] == again[0]
    assert np.array_equal(draws[1], again[1])
    assert torch.equal(draws[2], again[2])


def _seg_args(root, work, hooks=True, workers=0):
    args = [
        sys.executable,
        'tools/train.py',
        DEEPLAB,
        '--work-dir',
        work,
        '--no-dataset-check',
        '--cfg-options',
        'train_dataloader.dataset.data_root=' + root,
        'train_dataloader.dataset.data_prefix.seg_map_path='
        'SegmentationClassAug',
        f'train_dataloader.num_workers={workers}',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=4',
        'val_dataloader.dataset.data_root=' + root,
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'train_cfg.max_iters=12',
        'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=4',
    ]
    return args + ([] if hooks else ['custom_hooks=[]'])


def _cobra_args(root, work, workers=0):
    return [
        sys.executable,
        'tools/train.py',
        TINY_CONFIG,
        '--work-dir',
        work,
        '--no-dataset-check',
        '--cfg-options',
        'train_dataloader.dataset.data_root=' + root,
        f'train_dataloader.num_workers={workers}',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=8',
        'train_cfg.max_epochs=3',
        'custom_hooks.ComplementaryLossSwitchHook.start_epoch=1',
    ]


def _weights(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = torch.load(
            f.read().strip(), map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def _killed_then_resumed(args, work, fault):
    proc = run_tool(args, env=dict(MMSEG_COBRA_FAULT=fault), timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert osp.isfile(osp.join(work, 'last_checkpoint'))
    # tools/train.py CONFIG --work-dir DIR --resume ...
    result = run_tool(args[:5] + ['--resume'] + args[5:], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize('loop,workers', [('iteration', 0), ('epoch', 0),
                                          ('iteration', 2), ('epoch', 2)])
def test_killed_and_resumed_training_equals_uninterrupted(
        synthetic_root, tmp_path, loop, workers):
    """Also with 2 data-loader worker processes (their augmentation draws
    are seeded by mmengine from seed, rank and worker id)."""
    base = _seg_args if loop == 'iteration' else _cobra_args

    def make(root, work):
        return base(root, work, workers=workers)

    # iteration: killed at 6 of 12, resumes from 4; epoch: killed in epoch 2
    # of 3 (3 iterations per epoch), resumes from epoch 1
    fault = 'train_iter@6' if loop == 'iteration' else 'train_iter@5'
    ref = str(tmp_path / 'ref')
    result = run_tool(make(synthetic_root, ref), timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    work = str(tmp_path / 'killed')
    log = _killed_then_resumed(make(synthetic_root, work), work, fault)
    assert 'random state restored from the checkpoint' in log
    assert _same(_weights(ref), _weights(work))
    if loop == 'iteration' and workers == 0:
        # without the hook the resumed run draws other crops and flips
        work = str(tmp_path / 'no_hook')
        log = _killed_then_resumed(
            _seg_args(synthetic_root, work, hooks=False), work, fault)
        assert 'random state restored' not in log
        assert not _same(_weights(ref), _weights(work))
