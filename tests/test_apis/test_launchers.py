"""The stage commands of each launcher, and the batch/lr a training stage
gets at a world size."""
import pytest
from mmengine.config import Config

from mmseg_cobra.apis.launchers import LaunchError, StageLauncher, batch_and_lr


def test_none_runs_one_process():
    launch = StageLauncher(python='py')
    assert launch.world_size == launch.cpu_world_size == 1
    assert launch.distributed('train.py',
                              ['c.py']) == ['py', 'train.py', 'c.py']
    assert launch.cpu('t.py', ['c.py'],
                      4) == ['py', 't.py', 'c.py', '--nproc', '4']
    assert launch.cpu('t.py', ['c.py']) == ['py', 't.py', 'c.py']


def test_pytorch_across_nodes():
    launch = StageLauncher(
        'pytorch',
        nproc=4,
        nnodes=2,
        node_rank=1,
        master_addr='10.0.0.1',
        master_port=29600,
        python='py')
    assert (launch.world_size, launch.cpu_world_size) == (8, 2)
    assert not launch.drives
    torchrun = [
        'py', '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1',
        '--master_addr=10.0.0.1', '--master_port=29600'
    ]
    assert launch.distributed('train.py', ['c.py']) == torchrun + [
        '--nproc_per_node=4', 'train.py', 'c.py', '--launcher', 'pytorch'
    ]
    # the CPU stages: one rank per node (this node's process, no
    # torchrun), each with its pool
    assert launch.cpu('t.py', ['c.py'], 8) == [
        'py', 't.py', 'c.py', '--nproc', '8', '--launcher', 'pytorch'
    ]
    assert launch.cpu_env() == dict(
        RANK='1', LOCAL_RANK='0', WORLD_SIZE='2', LOCAL_WORLD_SIZE='1')
    assert StageLauncher('pytorch', nproc=4).cpu_env() == {}
    assert launch.env() == dict(MASTER_PORT='29600', MASTER_ADDR='10.0.0.1')


def test_slurm_inside_an_allocation(monkeypatch):
    monkeypatch.setenv('SLURM_JOB_ID', '7')
    monkeypatch.setenv('SLURM_JOB_NUM_NODES', '3')
    monkeypatch.setenv('SLURM_NTASKS_PER_NODE', '8(x3)')
    monkeypatch.setenv('SRUN_ARGS', '--qos=high --time=2:00:00')
    launch = StageLauncher.for_slurm(None, 'py', 29500)
    assert (launch.nnodes, launch.nproc, launch.world_size) == (3, 8, 24)
    assert launch.distributed('test.py', ['c.py', 'ck.pth']) == [
        'srun', '--ntasks=24', '--ntasks-per-node=8', '--kill-on-bad-exit=1',
        '--qos=high', '--time=2:00:00', 'py', '-u', 'test.py', 'c.py',
        'ck.pth', '--launcher', 'slurm'
    ]
    assert launch.cpu('t.py', [], 16) == [
        'srun', '--ntasks=3', '--ntasks-per-node=1', '--kill-on-bad-exit=1',
        '--cpus-per-task=16', '--qos=high', '--time=2:00:00', 'py', '-u',
        't.py', '--nproc', '16', '--launcher', 'slurm'
    ]


def test_slurm_outside_an_allocation_and_bad_ranks_refused(monkeypatch):
    monkeypatch.delenv('SLURM_JOB_ID', raising=False)
    with pytest.raises(LaunchError, match='inside a Slurm allocation'):
        StageLauncher.for_slurm(None, 'py', 29500)
    with pytest.raises(LaunchError, match='node ranks are 0..1'):
        StageLauncher('pytorch', nnodes=2, node_rank=2)
    with pytest.raises(LaunchError, match='several nodes'):
        StageLauncher('none', nnodes=2)


def _cfg(batch, lr, auto=None):
    cfg = Config(
        dict(
            train_dataloader=dict(batch_size=batch),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr))))
    if auto is not None:
        cfg.auto_scale_lr = auto
    return cfg


def test_batch_and_lr_follow_the_world_size():
    assert batch_and_lr(_cfg(8, 0.1), 4) == dict(
        per_process=8, total=32, base=None, scaled=False, lr=0.1)
    off = dict(enable=False, base_batch_size=32)
    assert batch_and_lr(_cfg(8, 0.1, off), 2)['lr'] == 0.1
    on = dict(enable=True, base_batch_size=32)
    info = batch_and_lr(_cfg(8, 0.1, on), 2)
    assert (info['total'], info['scaled']) == (16, True)
    assert info['lr'] == pytest.approx(0.05)
