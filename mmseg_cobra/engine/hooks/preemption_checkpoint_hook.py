"""Save a checkpoint when the job is told to stop (SIGTERM), resume there.

A cluster ends a job with SIGTERM before it kills it: Slurm at its time
limit or on pre-emption (``--requeue``), Kubernetes when it evicts a pod,
the pipeline's driver when it is stopped itself. mmengine's
``CheckpointHook`` only saves at its interval, so the work since the last
one would be lost.
"""
import os.path as osp
import signal
import threading
from typing import Optional

from mmengine.dist import get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import HOOKS

from ...utils.file_io import write_text


class TrainingPreempted(RuntimeError):
    """Training stopped after saving a checkpoint on SIGTERM;
    ``tools/train.py`` exits with :attr:`exit_code` (143, as a process
    ended by SIGTERM)."""

    exit_code = 128 + signal.SIGTERM


class _SkipFirst:
    """A data loader whose next pass leaves out its first ``skip`` batches
    (they are read, as mmengine's iteration-based loop replays its loader,
    so the rest of the epoch gets the batches it would have had)."""

    def __init__(self, loader, skip: int) -> None:
        self.loader = loader
        self.skip = skip

    def __iter__(self):
        for idx, batch in enumerate(self.loader):
            if idx >= self.skip:
                yield batch

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        return getattr(self.loader, name)


@HOOKS.register_module()
class PreemptionCheckpointHook(Hook):
    """On SIGTERM, finish the current iteration, save a checkpoint (with
    optimizer, schedulers and, through ``RandomStateHook``, the random
    state), point ``last_checkpoint`` at it and stop (raise
    :class:`TrainingPreempted`: ``tools/train.py`` exits with status 143),
    so ``--resume`` (the pipeline, a requeued job) continues from there.

    Every rank stops at the same iteration: the request is all-reduced
    (max) after each iteration when several processes train. An
    iteration-based loop resumes at the next iteration (mmengine replays
    its loader); an epoch-based one at the next batch of the same epoch
    (this hook leaves out the batches already trained). ``tools/train.py``
    registers it for every training; the signal is caught only while
    training runs.

    Args:
        signum (int): The signal that asks for the checkpoint (SIGTERM).
    """

    priority = 'LOWEST'  # after the interval checkpoint of the iteration

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        self.signum = signum
        self.requested = False
        self._old_handler = None
        self._skip = 0
        self._at_epoch_end = False

    def _request(self, signum: int, frame) -> None:
        self.requested = True

    def before_train(self, runner) -> None:
        if threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(self.signum, self._request)

    def after_train(self, runner) -> None:
        if self._old_handler is not None:
            signal.signal(self.signum, self._old_handler)
            self._old_handler = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._skip = int(checkpoint['meta'].get('batches_done_in_epoch', 0))

    def before_train_epoch(self, runner) -> None:
        if self._skip and not isinstance(runner.train_loop,
                                         IterBasedTrainLoop):
            print_log(
                f'resuming epoch {runner.epoch + 1} after batch '
                f'{self._skip} (checkpoint saved on SIGTERM)',
                logger='current')
            runner.train_loop.dataloader = _SkipFirst(
                runner.train_loop.dataloader, self._skip)
        self._skip = 0

    def after_train_epoch(self, runner) -> None:
        loader = runner.train_loop.dataloader
        if isinstance(loader, _SkipFirst):
            runner.train_loop.dataloader = loader.loader
        if self._at_epoch_end:  # asked in the epoch's last iteration
            self._stop(runner, f'preempted_epoch_{runner.epoch + 1}.pth', None,
                       True)

    def _agreed(self) -> bool:
        """Whether any rank was asked to stop (the same answer on every
        rank)."""
        _, world_size = get_dist_info()
        if world_size == 1:
            return self.requested
        import torch
        import torch.distributed as dist
        device = 'cuda' if dist.get_backend() == 'nccl' else 'cpu'
        flag = torch.tensor([int(self.requested)], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self._agreed():
            return
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            # by_epoch=False: the epoch under way, the next iteration
            self._stop(runner, f'preempted_iter_{runner.iter + 1}.pth', None,
                       False)
        loader = runner.train_loop.dataloader
        done = batch_idx + 1 + (
            loader.skip if isinstance(loader, _SkipFirst) else 0)
        if done >= len(loader):  # the epoch's end hooks first
            self._at_epoch_end = True
            return
        # the epoch under way, and how far it got
        meta = dict(
            epoch=runner.epoch,
            iter=runner.iter + 1,
            batches_done_in_epoch=done)
        self._stop(runner,
                   f'preempted_epoch_{runner.epoch + 1}_batch_{done}.pth',
                   meta, False)

    def _stop(self, runner, name: str, meta: Optional[dict],
              by_epoch: bool) -> None:
        """Save the checkpoint ``name``, point ``last_checkpoint`` at it,
        stop training."""
        runner.save_checkpoint(
            runner.work_dir, name, meta=meta, by_epoch=by_epoch)
        if is_main_process():
            write_text(
                osp.join(runner.work_dir, name),
                osp.join(runner.work_dir, 'last_checkpoint'))
        print_log(
            f'{signal.Signals(self.signum).name}: checkpoint {name} saved '
            f'at iteration {runner.iter + 1}; --resume continues from it',
            logger='current')
        raise TrainingPreempted()
