"""Save the random number generators with every checkpoint, restore them on
resume, so an interrupted training continues exactly as it would have."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import HOOKS


def get_random_state() -> dict:
    """Python, NumPy, torch (and CUDA) generator states as plain types
    (lists, ints, byte tensors) that a ``weights_only`` load accepts."""
    np_state = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(
            name=np_state[0],
            key=np_state[1].tolist(),
            pos=int(np_state[2]),
            has_gauss=int(np_state[3]),
            cached_gaussian=float(np_state[4])),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict) -> None:
    """Inverse of :func:`get_random_state`."""
    py = state['python']
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state['numpy']
    np.random.set_state((n['name'], np.asarray(n['key'], np.uint32), n['pos'],
                         n['has_gauss'], n['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed training bit-identical to an uninterrupted one.

    mmengine's checkpoints hold the model, optimizer, schedulers and the
    seed, but not the state of the random generators, so a run resumed
    from epoch ``e`` draws other crops and flips than the run that was
    interrupted. This hook adds ``random_state`` (see
    :func:`get_random_state`) to every checkpoint and restores it when
    training resumes. Epoch-based loops get every generator back at the
    start of the resumed epoch. Iteration-based loops replay the data
    loader up to the resumed iteration (mmengine does that): the generators
    are set to the state the first run started from (also saved) before
    the replay, so the replay and the next batch draw what the first run
    drew, and the torch generators (the model's own draws, e.g. dropout)
    to the checkpoint's after it. A checkpoint saved inside an epoch (on
    SIGTERM, ``PreemptionCheckpointHook``) is resumed the same way: the
    state the epoch started with (saved too) before the batches already
    trained are read again, the torch generators after them. Data-loader
    workers are seeded by mmengine from the seed, rank and worker id, so
    they repeat themselves with a fixed ``randomness.seed``.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None  # state at the checkpoint
        self._start: Optional[dict] = None  # state when training started
        # state when the epoch under way started (epoch-based loops), and
        # the one of a checkpoint saved inside an epoch
        self._epoch_start: Optional[dict] = None
        self._resume_epoch_start: Optional[dict] = None

    def before_train(self, runner) -> None:
        if self._pending is None:  # a fresh start, not a resume
            self._start = get_random_state()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = get_random_state()
        if self._start is not None:
            checkpoint['random_state_start'] = self._start
        if self._epoch_start is not None:
            checkpoint['random_state_epoch_start'] = self._epoch_start

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('random_state')
        self._start = checkpoint.get('random_state_start')
        # saved inside an epoch (PreemptionCheckpointHook, on SIGTERM)
        mid_epoch = checkpoint.get('meta', {}).get('batches_done_in_epoch')
        self._resume_epoch_start = checkpoint.get(
            'random_state_epoch_start') if mid_epoch else None

    def _log(self, runner, what: str) -> None:
        print_log(
            f'random state restored from the checkpoint ({what}; '
            f'epoch {runner.epoch}, iteration {runner.iter})',
            logger='current')

    def before_train_epoch(self, runner) -> None:
        iter_based = isinstance(runner.train_loop, IterBasedTrainLoop)
        if self._pending is not None:
            if iter_based:
                # mmengine now replays the data loader to the resumed
                # iteration: start it from the state the first run
                # started from, so the replay draws what that run drew
                if self._start is not None:
                    set_random_state(self._start)
            elif self._resume_epoch_start is not None:
                # a checkpoint from inside this epoch: the batches already
                # trained are read again (PreemptionCheckpointHook), from
                # the state the epoch started with, as for iterations
                set_random_state(self._resume_epoch_start)
            else:
                set_random_state(self._pending)
                self._pending = None
                self._log(runner, 'all generators')
        if not iter_based:
            self._epoch_start = get_random_state()

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        if self._pending is None:
            return
        # iteration-based resume, after the replay (and the next batch's
        # draws, which came out as the first run's): the model's own draws
        # (dropout, ...) continue from the checkpoint
        state = self._pending
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
        self._pending = None
        self._log(runner, 'data draws replayed, torch generators')
