"""Distributed initialisation that works with and without GPUs.

mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which raises
on a machine without CUDA. :func:`init_dist_any_device` keeps mmengine's path
on GPUs (nccl) and initialises a ``gloo`` process group on CPU, so
``tools/dist_train.sh CONFIG 2`` also runs on a laptop or a CI runner.
"""
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import init_dist, is_distributed
from mmengine.logging import print_log


def _slurm_env(port: Optional[int]) -> None:
    """Translate SLURM variables into the ones ``init_process_group`` reads."""
    proc_id = int(os.environ['SLURM_PROCID'])
    os.environ['RANK'] = str(proc_id)
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')


def _mpi_env() -> None:
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('MASTER_ADDR must be set for the mpi launcher')


def _launcher_env(launcher: str, port: Optional[int]) -> None:
    """The variables ``init_process_group`` reads, from ``launcher``'s."""
    if launcher == 'slurm':
        _slurm_env(port)
    elif launcher == 'mpi':
        _mpi_env()
    elif launcher != 'pytorch':
        raise ValueError(f'invalid launcher {launcher!r}: expected '
                         "'pytorch', 'slurm' or 'mpi'")


def init_dist_any_device(launcher: str,
                         backend: str = 'nccl',
                         **kwargs) -> str:
    """Initialise the default process group for ``launcher``.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        backend (str): Backend wanted on GPUs. Without CUDA, ``nccl`` is
            replaced by ``gloo``.
        **kwargs: Passed to the process-group initialisation (``timeout`` in
            seconds, ``port`` for slurm).

    Returns:
        str: The backend actually used.
    """
    if is_distributed():
        return torch_dist.get_backend()
    if torch.cuda.is_available():
        init_dist(launcher, backend=backend, **kwargs)
        return backend
    if backend == 'nccl':
        print_log(
            'no CUDA device: using the gloo backend on CPU', logger='current')
        backend = 'gloo'
    timeout = kwargs.pop('timeout', None)
    _launcher_env(launcher, kwargs.pop('port', None))
    if timeout is not None:
        import datetime
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(backend=backend, **kwargs)
    return backend


def init_gloo_group(launcher: str, timeout: float):
    """A gloo process group for a CPU stage, on a store this code holds.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        timeout (float): Seconds of the store's and the collectives' waits.

    Returns:
        torch.distributed.TCPStore: The group's store (rank 0 serves it on
        ``MASTER_PORT``), for :class:`~.peer_watch.PeerWatch`.
    """
    import datetime
    _launcher_env(launcher, None)
    rank, world = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    wait = datetime.timedelta(seconds=timeout)
    store = torch_dist.TCPStore(
        os.environ.get('MASTER_ADDR', '127.0.0.1'),
        int(os.environ.get('MASTER_PORT', '29500')),
        world,
        is_master=rank == 0,
        timeout=wait,
        wait_for_workers=False)
    torch_dist.init_process_group(
        'gloo', store=store, rank=rank, world_size=world, timeout=wait)
    return store


def shutdown_dist() -> None:
    """Wait for every rank, then destroy the process group.

    Without it each process tears gloo/nccl down at interpreter exit while
    its threads may still run, and a rank can abort ("terminate called
    without an active exception", SIGABRT) after its work is done, failing
    the whole ``dist_train.sh``/``dist_test.sh`` run.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
