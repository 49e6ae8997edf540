"""Per-image CPU work spread over every rank of every node.

The CPU stages (IR labels, CRF masks, final masks, seed evaluation, mask
report) run one rank per node (``torchrun --nproc-per-node 1`` or ``srun
--ntasks-per-node 1``); each rank takes image ``i`` for ``i % world ==
rank`` (:func:`shard`) and works on it in a local process pool. Results
cross ranks through mmengine's dist helpers on a gloo group: counts and
confusion matrices are summed (:func:`sum_over_ranks`), small per-rank
summaries are gathered on rank 0 (:func:`gather_on_rank0`). No rank ever
holds another rank's images.
"""
import atexit
import contextlib
import datetime
import os
import threading
from typing import Any, List, Optional, Sequence, TypeVar

import numpy as np
import torch
from mmengine.dist import (all_reduce, broadcast_object_list, gather_object,
                           get_rank, get_world_size, is_distributed)

from .dist_utils import init_gloo_group, shutdown_dist
from .peer_watch import ENV, PeerLost, PeerWatch, peer_timeout

T = TypeVar('T')

#: How long a rank waits in a collective for the others: ranks finish
#: their shards at different times (hours apart on COCO if a node is
#: slower). A rank that dies closes its connections, which the others see
#: at once; one that is stopped is named after the peer timeout by the
#: watch (:mod:`.peer_watch`).
CPU_STAGE_TIMEOUT = datetime.timedelta(hours=12)
#: This process's watch over the other ranks (set by init_cpu_stage).
_watch: Optional[PeerWatch] = None
#: The least time the ranks are given to join a CPU stage's group (s).
JOIN_FLOOR_S = 20.0


def init_cpu_stage(launcher: str) -> None:
    """Join the stage's ranks (``launcher`` ``pytorch``/``slurm``/``mpi``)
    in a gloo group, also on GPU nodes (the work is on the CPU), and watch
    them (:class:`~.peer_watch.PeerWatch`: a stopped rank is named after
    the peer timeout instead of holding the others).

    ``none`` does nothing: one rank, every image.
    """
    global _watch
    if launcher == 'none' or is_distributed():
        return
    _watch = PeerWatch(
        _join_bounded(launcher), get_rank(), get_world_size(), peer_timeout())
    atexit.register(_close_watch)  # a stage that ends with an error


def _close_watch() -> None:
    global _watch
    if _watch is not None:
        _watch.close()
        _watch = None


def close_cpu_stage() -> None:
    """End a CPU stage's group: stop the watch, then wait for every rank
    and leave (:func:`.dist_utils.shutdown_dist`)."""
    _close_watch()
    shutdown_dist()


def _join_bounded(launcher: str):
    """The gloo group, joined within the peer timeout (at least
    :data:`JOIN_FLOOR_S`): a node stopped while the others join would hold
    them for the collectives' timeout. The ranks of a stage start seconds
    apart (each node's driver starts it when its own previous stage ends;
    importing torch on a busy node), so a shorter wait is no sign of a
    stopped node.

    Raises:
        PeerLost: Not every rank joined in time (names rank 0's address).
    """
    box: dict = {}

    def join():
        try:
            box['store'] = init_gloo_group(launcher,
                                           CPU_STAGE_TIMEOUT.total_seconds())
        except Exception as exc:  # noqa: BLE001 - raised below
            box['error'] = exc

    thread = threading.Thread(target=join, daemon=True)
    thread.start()
    limit = max(peer_timeout(), JOIN_FLOOR_S)
    thread.join(limit)
    if 'error' in box:
        raise box['error']
    if 'store' not in box:
        raise PeerLost(
            'rank 0 of this stage (node 0, host '
            f'{os.environ.get("MASTER_ADDR", "unknown host")}) and the other '
            f'ranks did not all join within {limit / 60:.1f} '
            'minutes: is a node stopped (SIGSTOP, hung), or did one not start '
            'the stage? Stop the whole job and rerun it; it resumes. The '
            f'wait is {ENV} minutes (the pipeline config\'s '
            f'peer_timeout_min), at least {JOIN_FLOOR_S:.0f} s')
    return box['store']


def _watched():
    """A collective's context: the other ranks watched while it waits."""
    return _watch.watching() if _watch is not None else \
        contextlib.nullcontext()


def shard(items: Sequence[T],
          rank: Optional[int] = None,
          world: Optional[int] = None) -> List[T]:
    """The items of ``rank``: item ``i`` goes to rank ``i % world``.

    Args:
        items (Sequence): Every item, in the dataset's order.
        rank (int, optional): Default: this process's rank.
        world (int, optional): Default: the world size.

    Returns:
        list: ``items[rank::world]``.
    """
    rank = get_rank() if rank is None else rank
    world = get_world_size() if world is None else world
    return list(items[rank::world])


def sum_over_ranks(array: np.ndarray) -> np.ndarray:
    """``array`` summed over every rank (a copy; unchanged on one rank).

    Integer arrays are summed as int64, float arrays as float64, so the
    sum of counts is exact and equal to a one-process run's.
    """
    array = np.asarray(array)
    if get_world_size() == 1:
        return array.copy()
    dtype = torch.float64 if np.issubdtype(array.dtype,
                                           np.floating) else torch.int64
    tensor = torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
    with _watched():
        all_reduce(tensor, op='sum')
    return tensor.numpy().astype(array.dtype)


def gather_on_rank0(obj: Any) -> Optional[List[Any]]:
    """Every rank's ``obj`` on rank 0 (in rank order); None elsewhere.

    Keep ``obj`` small (counts, the first few reasons): it is pickled.
    """
    if get_world_size() == 1:
        return [obj]
    with _watched():
        return gather_object(obj, dst=0)


def broadcast_from_rank0(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if get_world_size() == 1:
        return obj
    box = [obj]
    with _watched():
        broadcast_object_list(box, src=0)
    return box[0]


def first_by_index(parts: Sequence[dict], order: dict,
                   limit: Optional[int]) -> dict:
    """Merge per-rank ``{id: value}`` dicts in the one-process order.

    Args:
        parts (Sequence[dict]): One dict per rank.
        order (dict): ``{id: position in the dataset}``.
        limit (int, optional): Keep the first ``limit`` (None: all).

    Returns:
        dict: The merged entries, in dataset order.
    """
    merged = {k: v for part in parts for k, v in part.items()}
    keys = sorted(merged, key=order.__getitem__)
    return {k: merged[k] for k in keys[:limit]}


__all__ = [
    'CPU_STAGE_TIMEOUT', 'JOIN_FLOOR_S', 'broadcast_from_rank0',
    'first_by_index', 'close_cpu_stage', 'gather_on_rank0', 'init_cpu_stage',
    'shard', 'sum_over_ranks'
]
