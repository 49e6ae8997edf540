"""The frame every offline report over a dataset's images shares (the seed
report of ``tools/eval_seeds.py``, :class:`~.mask_report.MaskReport`).

Each rank scores its share of the images (image ``i`` on rank ``i %
world``, :func:`~mmseg_cobra.utils.sharding.shard`), an image that cannot
be scored is skipped with its reason instead of stopping the report, rank 0
shows the progress, and at the end every rank's counts are summed and the
skipped images gathered in the dataset's order, so one process and ``N``
give the same report.
"""
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmengine.dist import get_rank
from mmengine.utils import ProgressBar

from ..utils.sharding import (broadcast_from_rank0, first_by_index,
                              gather_on_rank0, sum_over_ranks)


class SkipImage(Exception):
    """Raised by a report's per-image scoring: the image is left out and
    the message is the reason the report gives."""


class ImageScorer:
    """Skip reasons, progress and the merge of every rank's counts.

    Args:
        ids (Sequence[str]): Every image of the report, in the dataset's
            order (the order skipped images are named in).
        keep_skipped (int, optional): How many skipped images are named
            (the others are counted); None names all.
    """

    def __init__(self,
                 ids: Sequence[str],
                 keep_skipped: Optional[int] = None) -> None:
        self.order = {img_id: i for i, img_id in enumerate(ids)}
        self.keep_skipped = keep_skipped
        #: this rank's skipped images (the first ``keep_skipped``)
        self.skipped_here: Dict[str, str] = {}
        self.num_skipped_here = 0
        self.num_scored_here = 0
        #: every rank's, after :meth:`merge`
        self.num_scored = 0
        self.num_skipped = 0
        #: every rank's skipped images, the first ``keep_skipped`` in the
        #: dataset's order, after :meth:`merge`
        self.skipped: Dict[str, str] = {}

    def skip(self, img_id: str, why: str) -> None:
        """Leave ``img_id`` out, for ``why``."""
        self.num_skipped_here += 1
        if self.keep_skipped is None or \
                len(self.skipped_here) < self.keep_skipped:
            self.skipped_here[img_id] = why

    def score(self, items: Sequence, img_id: Callable[[object], str],
              add: Callable[[object], None]) -> None:
        """``add(item)`` for each of this rank's ``items``, a progress bar
        on rank 0; an item whose ``add`` raises :class:`SkipImage` is
        skipped with the exception's message.

        Args:
            items (Sequence): This rank's images (ids, data infos, ...).
            img_id (Callable): The image id of an item.
            add (Callable): Scores one item.
        """
        bar = ProgressBar(len(items)) if get_rank() == 0 else None
        for item in items:
            try:
                add(item)
                self.num_scored_here += 1
            except SkipImage as exc:
                self.skip(img_id(item), str(exc))
            if bar is not None:
                bar.update()
        if bar is not None:
            print()

    def merge(self, counts: Iterable[np.ndarray] = ()) -> List[np.ndarray]:
        """Every rank's ``counts`` (the report's own arrays) and image
        counts summed, the skipped images gathered (a no-op on one rank).
        Call it on every rank.

        Returns:
            list[np.ndarray]: ``counts``, summed over the ranks.
        """
        summed = [sum_over_ranks(c) for c in counts]
        self.num_scored, self.num_skipped = (
            int(x) for x in sum_over_ranks(
                np.array([self.num_scored_here, self.num_skipped_here],
                         np.int64)))
        parts = gather_on_rank0(self.skipped_here)
        self.skipped = broadcast_from_rank0(
            None if parts is
            None else first_by_index(parts, self.order, self.keep_skipped))
        return summed


__all__ = ['ImageScorer', 'SkipImage']
