"""SIGTERM to the pipeline's driver while a training epoch is under way, as
``kill``, ``scancel``, a Slurm time limit or a pre-emption send it: the
training saves a checkpoint where it stands and stops, the driver stops
with status 143 and frees the work dir, no stage process is left; the same
command (a requeued job) resumes from that checkpoint and ends with
exactly the weights of the uninterrupted reference run."""
import glob
import os
import os.path as osp
import subprocess

import pytest
import torch
from conftest import run_tool
from pipeline_reference import command, pipeline_data, reference_run

pytestmark = pytest.mark.slow


def _weights(work):
    with open(osp.join(work, 'cobra', 'last_checkpoint')) as f:
        path = f.read().strip()
    return torch.load(
        path, map_location='cpu', weights_only=False)['state_dict']


def _stage_processes(work):
    """Processes whose command line names the work dir (a stage tool)."""
    out = subprocess.run(['ps', '-eo', 'pid,args'],
                         capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines()[1:] if work in line]


def test_sigterm_mid_epoch_checkpoints_and_resumes_exactly(
        tmp_path_factory, tmp_path):
    data_root = pipeline_data(tmp_path_factory)
    work = str(tmp_path / 'work')
    cmd = command(data_root, work) + ['--stages', 'classifier']
    # 4 iterations an epoch: SIGTERM to the driver after iteration 5, in
    # epoch 2
    stopped = run_tool(
        cmd, env=dict(MMSEG_COBRA_FAULT='train_iter@5:term'), timeout=900)
    out = stopped.stdout + stopped.stderr
    assert stopped.returncode == 143, out[-3000:]
    assert 'stopped by SIGTERM during stage classifier' in stopped.stderr
    assert not osp.exists(osp.join(work, '.stages', 'driver.lock'))
    assert not osp.exists(osp.join(work, '.stages', 'classifier.json'))
    assert not _stage_processes(work)
    saved = glob.glob(osp.join(work, 'cobra', 'preempted_epoch_*.pth'))
    assert len(saved) == 1, os.listdir(osp.join(work, 'cobra'))
    with open(osp.join(work, 'cobra', 'last_checkpoint')) as f:
        assert f.read().strip() == saved[0]
    log = open(osp.join(work, 'logs', 'classifier.log')).read()
    assert 'SIGTERM: checkpoint preempted_epoch_' in log

    resumed = run_tool(cmd, timeout=900)
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    assert osp.isfile(osp.join(work, '.stages', 'classifier.json'))
    if '_batch_' in saved[0]:  # inside the epoch (the usual case)
        assert 'after batch' in open(osp.join(work, 'logs',
                                              'classifier.log')).read()
    ref_work, _ = reference_run(tmp_path_factory)
    ref, got = _weights(ref_work), _weights(work)
    assert ref.keys() == got.keys()
    differ = [k for k in ref if not torch.equal(ref[k], got[k])]
    assert not differ, differ[:5]
