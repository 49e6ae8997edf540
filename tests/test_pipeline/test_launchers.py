"""The stage commands of each launcher, and the batch/lr a training stage
gets at a world size."""
import os

import pytest
from mmengine.config import Config

from mmseg_cobra.pipeline.launchers import (LaunchError, StageLauncher,
                                            batch_and_lr, free_port_pair)


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


def _slurm(monkeypatch, **env):
    for key in list(os.environ):
        if key.startswith('SLURM'):
            monkeypatch.delenv(key)
    monkeypatch.setenv('SLURM_JOB_ID', '7')
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_slurm_ntasks_with_gres_runs_every_task(monkeypatch):
    """``--ntasks=32 --gres=gpu:8`` on 4 nodes sets no
    SLURM_NTASKS_PER_NODE: 8 per node from SLURM_TASKS_PER_NODE (or
    SLURM_NTASKS), not 1."""
    _slurm(
        monkeypatch,
        SLURM_JOB_NUM_NODES='4',
        SLURM_NTASKS='32',
        SLURM_TASKS_PER_NODE='8(x4)')
    launch = StageLauncher.for_slurm(None, 'py', None)
    assert (launch.nproc, launch.world_size) == (8, 32)
    monkeypatch.delenv('SLURM_TASKS_PER_NODE')
    assert StageLauncher.for_slurm(None, 'py', None).nproc == 8
    monkeypatch.setenv('SLURM_TASKS_PER_NODE', '8(x2),4(x2)')
    with pytest.raises(LaunchError, match='different task counts'):
        StageLauncher.for_slurm(None, 'py', None)
    monkeypatch.setenv('SLURM_TASKS_PER_NODE', '8,8,8,8')
    assert StageLauncher.for_slurm(None, 'py', None).nproc == 8


def test_slurm_training_tasks_get_their_cpus(monkeypatch):
    """srun does not inherit sbatch's --cpus-per-task (Slurm >= 22.05):
    the training srun asks for it."""
    _slurm(
        monkeypatch,
        SLURM_JOB_NUM_NODES='2',
        SLURM_NTASKS_PER_NODE='4',
        SLURM_CPUS_PER_TASK='6')
    cmd = StageLauncher.for_slurm(None, 'py', 29500).distributed('t.py', [])
    assert '--cpus-per-task=6' in cmd
    monkeypatch.delenv('SLURM_CPUS_PER_TASK')
    monkeypatch.setenv('SLURM_CPUS_ON_NODE', '32')
    cmd = StageLauncher.for_slurm(None, 'py', 29500).distributed('t.py', [])
    assert '--cpus-per-task=8' in cmd  # the node's CPUs over its tasks


def test_ports_do_not_collide_between_jobs(monkeypatch):
    _slurm(monkeypatch, SLURM_NTASKS_PER_NODE='1')
    ports = set()
    for job in ('1001', '1002', '1003'):
        monkeypatch.setenv('SLURM_JOB_ID', job)
        port = StageLauncher.for_slurm(None, 'py', None).master_port
        assert 20000 <= port < 40000 and port % 2 == 0
        ports |= {port, port + 1}
    assert len(ports) == 6  # three jobs, two ports each, all different
    # given: kept
    assert StageLauncher.for_slurm(None, 'py', 29600).master_port == 29600
    first = free_port_pair()  # a one-node run: a free pair
    import socket
    with socket.socket() as a, socket.socket() as b:
        a.bind(('127.0.0.1', first))
        b.bind(('127.0.0.1', first + 1))
