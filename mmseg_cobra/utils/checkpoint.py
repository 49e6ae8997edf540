"""Loading mmengine checkpoints safely under ``torch.load(weights_only=True)``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6
that means ``weights_only=True``, which refuses the few non-tensor objects an
mmengine checkpoint carries (the message hub's ``HistoryBuffer`` and the numpy
arrays and scalars inside it). Instead of switching the safety off, this module
allow-lists exactly those globals and replaces mmengine's local-file loader by
one that states ``weights_only=True`` explicitly and names the offending file
and object when a checkpoint carries anything else.
"""
import os.path as osp
import pickle
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .errors import UserError


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list."""


def _numpy_globals() -> List[Union[Callable, type]]:
    """numpy objects that appear inside pickled ``HistoryBuffer`` state."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t))
        for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                  np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                  np.float64)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtype_classes]


#: The statistics HistoryBuffer registers in every instance.
_DEFAULT_STATISTICS = frozenset(('min', 'max', 'current', 'mean'))


def history_buffer_getattr(obj: type, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` while unpickling a checkpoint.

    A pickled ``HistoryBuffer`` refers to its statistics methods as
    ``getattr(HistoryBuffer, 'mean')`` and so on. Allowing the real
    ``getattr`` would let a checkpoint reach any attribute of any allowed
    object; this replacement only returns HistoryBuffer's registered
    statistics methods and refuses everything else.
    """
    allowed = _DEFAULT_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed')


#: Every global an mmengine Runner checkpoint needs beyond what torch allows
#: by default. Nothing else is added. ``builtins.getattr`` is served by
#: :func:`history_buffer_getattr`, restricted to what HistoryBuffer pickles.
MMENGINE_CHECKPOINT_GLOBALS: List[Union[Callable, type, tuple]] = [
    HistoryBuffer, *_numpy_globals(),
    (history_buffer_getattr, 'builtins.getattr')
]

_registered = False


def register_checkpoint_safe_globals() -> None:
    """Allow-list :data:`MMENGINE_CHECKPOINT_GLOBALS` for ``torch.load``.

    Idempotent; run when the package is imported. Only adds to torch's
    allow-list (what mmengine's checkpoints need under torch >= 2.6, where
    ``torch.load`` defaults to ``weights_only=True``): mmengine's own
    loaders stay in place for every program that imports the plugin.
    """
    global _registered
    if _registered:
        return
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)
    _registered = True


def use_project_checkpoint_loader() -> None:
    """Load local checkpoints with :func:`load_local_checkpoint` (the file
    and the fix named when it is missing or pickles a foreign object).

    Called by this project's tools (``tools/train.py``, ``tools/test.py``)
    for their own process; importing the package does not do it, so other
    programs keep mmengine's local loader.
    """
    register_checkpoint_safe_globals()
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)


def load_local_checkpoint(
        filename: str,
        map_location: Optional[Union[str, torch.device,
                                     Callable]] = None) -> dict:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location: Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file pickles an object that is neither a
            tensor/container nor one of :data:`MMENGINE_CHECKPOINT_GLOBALS`.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f'checkpoint {filename} can not be found: check the path given to '
            '--resume / load_from / the test command')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {filename}: it contains the pickled '
            f'object(s) {_offending_globals(filename, exc)}, which are '
            'neither tensors, plain containers nor the mmengine types '
            'mmseg_cobra allows '
            '(mmseg_cobra.utils.MMENGINE_CHECKPOINT_GLOBALS). Loading it '
            'could run arbitrary code. If you made this file yourself and '
            'trust it, re-save only its state_dict, or allow that exact '
            'class with '
            'torch.serialization.add_safe_globals before loading.') from exc


def _offending_globals(filename: str, exc: Exception) -> str:
    """Names of the pickled globals that are not allowed, for the message."""
    allowed = {
        name if isinstance(item, tuple) else
        f'{item.__module__}.{item.__qualname__}'
        for item in MMENGINE_CHECKPOINT_GLOBALS
        for name in ([item[1]] if isinstance(item, tuple) else [None])
    }
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:  # noqa: BLE001 - the original error is still reported
        found = []
    reason = str(exc).split('WeightsUnpickler error:')[-1].strip()
    reason = reason.split('\n\n')[0].strip()
    return ', '.join(g for g in found if g not in allowed) or reason


class CheckpointMismatchError(UserError, ValueError):
    """A checkpoint holds the weights of another model."""


def _saved_model_hint(ckpt: dict) -> str:
    """`` (it was saved from a <type> model)`` from the config a runner
    checkpoint carries, else ``''``."""
    meta = ckpt.get('meta', {}) or {}
    cfg_text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(cfg_text, str):
        return ''
    try:
        from mmengine.config import Config
        saved = Config.fromstring(cfg_text, '.py').model.type
    except Exception:  # noqa: BLE001  (an unreadable cfg: no hint)
        return ''
    return f' (it was saved from a {saved} model)'


def check_checkpoint_fits(model: torch.nn.Module,
                          ckpt: dict,
                          filename: str,
                          max_named: int = 3) -> None:
    """Refuse a checkpoint that does not hold this model's weights.

    mmengine loads ``load_from`` with ``strict=False``: a checkpoint of
    another model (an IRN checkpoint given to the CoBra config, a VOC model
    given to a COCO config) loads "with warnings" and the test runs on
    random weights. :class:`~mmseg_cobra.engine.hooks.CheckpointFitHook`
    calls this on the checkpoint mmengine has just read, before its weights
    go into the model.

    Args:
        model (nn.Module): The built model (a wrapper's ``module`` is used).
        ckpt (dict): The loaded checkpoint.
        filename (str): Its path, for the message.
        max_named (int): Parameter names quoted per kind of mismatch.

    Raises:
        CheckpointMismatchError: Some of the model's weights are missing from
            the checkpoint, or have another shape.
    """
    state = ckpt.get('state_dict', ckpt)
    state = {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    model = getattr(model, 'module', model)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    shapes = [
        f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}'
        for k, v in expected.items()
        if k in state and hasattr(state[k], 'shape')
        and tuple(state[k].shape) != tuple(v.shape)
    ]
    if not missing and not shapes:
        return
    origin = _saved_model_hint(ckpt)
    parts = []
    if missing:
        parts.append(f'{len(missing)} of {len(expected)} weights of '
                     f'{type(model).__name__} are not in it (e.g. '
                     f'{", ".join(missing[:max_named])})')
    if shapes:
        parts.append(f'{len(shapes)} have another shape (e.g. '
                     f'{"; ".join(shapes[:max_named])}): another class '
                     'count or backbone')
    raise CheckpointMismatchError(
        f'checkpoint {filename} does not fit the config\'s model{origin}: ' +
        '; '.join(parts) + '. Give the checkpoint trained with this '
        'config (its work_dir/last_checkpoint)')
