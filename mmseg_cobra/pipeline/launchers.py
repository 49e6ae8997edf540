"""How the pipeline starts each stage: one process, torchrun, or srun.

Every stage is one tool command. :class:`StageLauncher` turns it into the
command line of the launcher the pipeline runs under:

- ``none``: ``python TOOL ARGS`` (one process; the CPU stages use a local
  pool of ``nproc_cpu`` processes);
- ``pytorch``: ``python -m torch.distributed.run --nnodes N --node_rank R
  --master_addr A --master_port P --nproc_per_node G TOOL ARGS --launcher
  pytorch``, started by the pipeline of every node (node 0 drives, the
  others join, see :mod:`.work_dir_lock`). Training and testing run G
  processes per node; the CPU stages one rank per node (the node's own
  process, ``RANK``/``WORLD_SIZE`` set as torchrun would), each with its
  pool;
- ``slurm``: inside an allocation (``sbatch``/``salloc``), ``srun
  --ntasks N*G --ntasks-per-node G ... TOOL ARGS --launcher slurm`` for
  training and testing, ``srun --ntasks N --ntasks-per-node 1
  --cpus-per-task C ...`` for the CPU stages; ``SRUN_ARGS`` from the
  environment is added to both.
"""
import os
import shlex
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..utils.errors import UserError

#: Launchers of the pipeline (``mpi`` is for the tools only).
PIPELINE_LAUNCHERS = ('none', 'pytorch', 'slurm')


class LaunchError(UserError, ValueError):
    """The launch settings cannot work (the message says what to set)."""


@dataclass
class StageLauncher:
    """The launch settings of one pipeline process.

    Args:
        launcher (str): ``none``, ``pytorch`` or ``slurm``.
        nproc (int): Processes per node of a training/testing stage (one
            per GPU).
        nnodes (int): Nodes of the job.
        node_rank (int): This node's rank (0 drives).
        master_addr (str): Node 0's address (``pytorch``).
        master_port (int): The stages' rendezvous port; the driver's own
            store listens on ``master_port + 1`` (``pytorch`` with several
            nodes).
        python (str): The interpreter of the tools.
        srun_args (str): Extra ``srun`` arguments (``slurm``).
        cpus_per_task (int, optional): ``srun --cpus-per-task`` of a
            training/testing task (``slurm``; None: srun's default).
    """
    launcher: str = 'none'
    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = '127.0.0.1'
    master_port: int = 29500
    python: str = 'python'
    srun_args: str = ''
    cpus_per_task: Optional[int] = None

    def __post_init__(self) -> None:
        if self.launcher not in PIPELINE_LAUNCHERS:
            raise LaunchError(f'launcher {self.launcher!r}: expected one of '
                              f'{", ".join(PIPELINE_LAUNCHERS)}')
        if self.nproc < 1 or self.nnodes < 1:
            raise LaunchError(f'--nproc {self.nproc} / --nnodes '
                              f'{self.nnodes}: both must be at least 1')
        if not 0 <= self.node_rank < self.nnodes:
            raise LaunchError(
                f'--node-rank {self.node_rank} with --nnodes {self.nnodes}: '
                f'the node ranks are 0..{self.nnodes - 1}')
        if self.launcher == 'none' and self.nnodes > 1:
            raise LaunchError('several nodes need --launcher pytorch (one '
                              'command per node) or slurm')

    @classmethod
    def for_slurm(cls, nproc: Optional[int], python: str,
                  master_port: Optional[int]) -> 'StageLauncher':
        """The settings of a pipeline started inside a Slurm allocation.

        Nodes from ``SLURM_JOB_NUM_NODES``; processes per node from
        ``nproc``, else ``SLURM_NTASKS_PER_NODE``, else
        ``SLURM_TASKS_PER_NODE`` (``8(x4)``: what ``--ntasks=32
        --gres=gpu:8`` gives), else ``SLURM_NTASKS`` over the nodes; CPUs
        per training task from ``SLURM_CPUS_PER_TASK`` (srun does not
        inherit sbatch's ``--cpus-per-task`` since Slurm 22.05), else the
        node's CPUs (``SLURM_CPUS_ON_NODE``) over its tasks; the port, when
        not given, from the job id (two jobs on one node do not collide).

        Raises:
            LaunchError: Outside an allocation, or tasks that do not
                split evenly over the nodes.
        """
        env = os.environ
        if 'SLURM_JOB_ID' not in env:
            raise LaunchError(
                '--launcher slurm runs inside a Slurm allocation: start it '
                'from an sbatch script or an salloc shell (SLURM_JOB_ID is '
                'not set)')
        nnodes = int(
            env.get('SLURM_JOB_NUM_NODES', env.get('SLURM_NNODES', '1')))
        per_node = nproc or slurm_tasks_per_node(env, nnodes)
        cpus = env.get('SLURM_CPUS_PER_TASK')
        if cpus is None and env.get('SLURM_CPUS_ON_NODE'):
            cpus = max(1, _slurm_count(env['SLURM_CPUS_ON_NODE']) // per_node)
        return cls(
            'slurm',
            nproc=per_node,
            nnodes=nnodes,
            master_port=master_port or job_port(env['SLURM_JOB_ID']),
            python=python,
            srun_args=env.get('SRUN_ARGS', ''),
            cpus_per_task=int(cpus) if cpus else None)

    @property
    def world_size(self) -> int:
        """Processes of a training/testing stage."""
        return 1 if self.launcher == 'none' else self.nnodes * self.nproc

    @property
    def cpu_world_size(self) -> int:
        """Ranks of a CPU stage: one per node."""
        return 1 if self.launcher == 'none' else self.nnodes

    @property
    def drives(self) -> bool:
        """Whether this process drives (node 0): it checks the dataset,
        records the stages and writes the summary."""
        return self.node_rank == 0

    def env(self) -> Dict[str, str]:
        """Environment additions of the stage commands."""
        env = {'MASTER_PORT': str(self.master_port)}
        if self.launcher == 'pytorch':
            env['MASTER_ADDR'] = self.master_addr
        return env

    def _torchrun(self, nproc_per_node: int) -> List[str]:
        return [
            self.python, '-m', 'torch.distributed.run',
            f'--nnodes={self.nnodes}', f'--node_rank={self.node_rank}',
            f'--master_addr={self.master_addr}',
            f'--master_port={self.master_port}',
            f'--nproc_per_node={nproc_per_node}'
        ]

    def _srun(self, ntasks: int, per_node: int,
              cpus: Optional[int]) -> List[str]:
        cmd = [
            'srun', f'--ntasks={ntasks}', f'--ntasks-per-node={per_node}',
            '--kill-on-bad-exit=1'
        ]
        if cpus:
            cmd.append(f'--cpus-per-task={cpus}')
        return cmd + shlex.split(self.srun_args) + [self.python, '-u']

    def distributed(self, tool: str, args: List[str]) -> List[str]:
        """A training/testing stage (``tools/train.py``, ``test.py``)."""
        if self.launcher == 'none':
            return [self.python, tool] + args
        if self.launcher == 'pytorch':
            prefix = self._torchrun(self.nproc)
        else:
            prefix = self._srun(self.nnodes * self.nproc, self.nproc,
                                self.cpus_per_task)
        return prefix + [tool] + args + ['--launcher', self.launcher]

    def cpu(self,
            tool: str,
            args: List[str],
            nproc_cpu: Optional[int] = None) -> List[str]:
        """A per-image CPU stage: one rank per node, each with a pool of
        ``nproc_cpu`` processes (``--nproc``; None: the tool has none).

        With ``pytorch`` the rank is this node's process itself (no
        torchrun: one process per node needs no agent, and torchrun would
        take the tool's ``--nproc`` for its own ``--nproc-per-node``); its
        rank comes from :meth:`cpu_env`.
        """
        if nproc_cpu is not None:
            args = args + ['--nproc', str(nproc_cpu)]
        if self.cpu_world_size == 1:
            return [self.python, tool] + args
        if self.launcher == 'pytorch':
            return [self.python, tool] + args + ['--launcher', 'pytorch']
        return self._srun(self.nnodes, 1,
                          nproc_cpu) + [tool] + args + ['--launcher', 'slurm']

    def cpu_env(self) -> Dict[str, str]:
        """Environment of a CPU stage's rank under ``pytorch`` (what
        torchrun would set: this node is rank ``node_rank`` of
        ``nnodes``)."""
        if self.launcher != 'pytorch' or self.cpu_world_size == 1:
            return {}
        return dict(
            RANK=str(self.node_rank),
            LOCAL_RANK='0',
            WORLD_SIZE=str(self.nnodes),
            LOCAL_WORLD_SIZE='1')

    def describe(self) -> str:
        """One line for the terminal."""
        if self.launcher == 'none':
            return 'one process per stage'
        return (f'{self.launcher}: {self.nnodes} node(s) x {self.nproc} '
                f'process(es) per training/testing stage, 1 rank per node '
                'for the CPU stages')


def _slurm_count(value: str) -> int:
    """The first count of a Slurm list such as ``8(x4)`` or ``64,32``."""
    return int(value.split(',')[0].split('(')[0])


def slurm_tasks_per_node(env: Dict[str, str], nnodes: int) -> int:
    """Tasks per node of the allocation (see
    :meth:`StageLauncher.for_slurm`).

    Raises:
        LaunchError: The allocation gives the nodes different counts.
    """
    if env.get('SLURM_NTASKS_PER_NODE'):
        return _slurm_count(env['SLURM_NTASKS_PER_NODE'])
    spec = env.get('SLURM_TASKS_PER_NODE')
    if spec:  # '8(x4)', '8,8', '8(x2),4'
        counts = []
        for part in spec.split(','):
            count, _, times = part.partition('(x')
            counts += [int(count)] * int(times.rstrip(')') or 1)
        if len(set(counts)) > 1:
            raise LaunchError(
                f'SLURM_TASKS_PER_NODE={spec}: the nodes have different task '
                'counts; ask for the same number on every node '
                '(--ntasks-per-node) or give --nproc-per-node')
        return counts[0]
    ntasks = int(env.get('SLURM_NTASKS', '1'))
    if ntasks % nnodes:
        raise LaunchError(
            f'SLURM_NTASKS={ntasks} does not split over {nnodes} nodes: use '
            '--ntasks-per-node or give --nproc-per-node')
    return ntasks // nnodes


def job_port(job_id: str, base: int = 20000, span: int = 20000) -> int:
    """A rendezvous port of a Slurm job: ``base + 2 * (id % (span / 2))``,
    even, so that it and the next one (the driver's store) differ between
    jobs whose ids differ by less than ``span / 2``."""
    return base + 2 * (int(job_id) % (span // 2))


def free_port_pair(host: str = '127.0.0.1') -> int:
    """A port P with P and P + 1 free on this machine (a one-node run's
    rendezvous and the driver's store)."""
    import socket
    for _ in range(100):
        with socket.socket() as first:
            first.bind((host, 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
        return port
    raise LaunchError('no free pair of ports on this machine: give '
                      '--master-port')


def batch_and_lr(stage_cfg, world_size: int) -> dict:
    """The batch and learning rate a training stage will use.

    Args:
        stage_cfg (Config): The stage config with the pipeline's options.
        world_size (int): Its processes.

    Returns:
        dict: ``per_process``, ``total``, ``base`` (``auto_scale_lr``'s
        ``base_batch_size`` or None), ``scaled`` (whether mmengine scales
        the lr) and ``lr`` (the optimizer's, after scaling).
    """
    per_process = int(stage_cfg.train_dataloader.batch_size)
    total = per_process * world_size
    auto = stage_cfg.get('auto_scale_lr') or {}
    base = auto.get('base_batch_size')
    scaled = bool(auto.get('enable', False)) and bool(base)
    optimizer = stage_cfg.optim_wrapper.get('optimizer', {})
    lr = optimizer.get('lr')
    if scaled and lr is not None:
        lr = lr * total / base
    return dict(
        per_process=per_process, total=total, base=base, scaled=scaled, lr=lr)


def split_total_batch(stage_cfg,
                      options: Dict[str, object],
                      world_size: int,
                      total: Optional[int] = None) -> Tuple[dict, str]:
    """The per-process batch of a training stage run on ``world_size``
    processes: the total batch (``total``, default the stage config's
    ``auto_scale_lr.base_batch_size``, the paper's) divided by the world
    size, unless ``options`` set ``train_dataloader.batch_size`` (then
    kept whatever the world size).

    Args:
        stage_cfg (Config): The stage config (changed: the options that
            decide the batch and lr are merged into it).
        options (dict): The stage's ``--cfg-options``, dotted keys.
        world_size (int): Processes of the stage.
        total (int, optional): The total batch wanted.

    Returns:
        tuple: The options with the per-process batch, and a line saying
        the world size, per-process and total batch and the lr used.

    Raises:
        LaunchError: The total batch does not split over the processes.
    """
    options = dict(options)
    total = total or (stage_cfg.get('auto_scale_lr')
                      or {}).get('base_batch_size')
    if total and 'train_dataloader.batch_size' not in options:
        if total % world_size:
            raise LaunchError(
                f'the total batch {total} does not split over {world_size} '
                'processes: set total_batch_size in the pipeline config to '
                'a multiple of the world size, or the per-process '
                'train_dataloader.batch_size in its cfg_options')
        options['train_dataloader.batch_size'] = total // world_size
    stage_cfg.merge_from_dict({
        k: v
        for k, v in options.items()
        if k.startswith(('auto_scale_lr', 'train_dataloader.batch_size',
                         'optim_wrapper.optimizer.lr'))
    })
    info = batch_and_lr(stage_cfg, world_size)
    lr = 'n/a' if info['lr'] is None else f'{info["lr"]:g}'
    how = f'scaled from base batch {info["base"]}' if info['scaled'] \
        else 'auto_scale_lr off'
    return options, (f'world size {world_size}, batch '
                     f'{info["per_process"]} per process, total '
                     f'{info["total"]}, lr {lr} ({how})')


__all__ = [
    'LaunchError', 'PIPELINE_LAUNCHERS', 'StageLauncher', 'batch_and_lr',
    'free_port_pair', 'job_port', 'slurm_tasks_per_node', 'split_total_batch'
]
