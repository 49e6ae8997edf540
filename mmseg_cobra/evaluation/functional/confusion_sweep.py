"""Accumulators for threshold sweeps and boundary precision/recall."""
from typing import Dict, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.evaluation.metrics import IoUMetric

from ...structures import IGNORE_INDEX


def metrics_from_confusion(conf: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-class IoU, precision and recall (fractions) of a confusion matrix
    (rows ground truth), computed by mmseg's
    :meth:`IoUMetric.total_area_to_metrics`."""
    conf = torch.from_numpy(conf.astype(np.float64))
    inter = conf.diagonal()
    pred, label = conf.sum(dim=0), conf.sum(dim=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        out = IoUMetric.total_area_to_metrics(
            inter,
            pred + label - inter,
            pred,
            label,
            metrics=['mIoU', 'mFscore'])
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def miou_from_confusion(conf: np.ndarray) -> float:
    """mIoU (%) of a confusion matrix (rows ground truth)."""
    return float(np.nanmean(metrics_from_confusion(conf)['IoU']) * 100)


class ConfusionSweep:
    """Confusion matrices of one kind of label map over a parameter sweep.

    Args:
        values (Sequence[float]): The swept parameter (e.g. background
            scores).
        num_labels (int): Classes including background.
        ignore_index (int): Ground-truth label to ignore.
    """

    def __init__(self,
                 values: Sequence[float],
                 num_labels: int,
                 ignore_index: int = IGNORE_INDEX) -> None:
        self.values = tuple(float(v) for v in values)
        self.num_labels = num_labels
        self.ignore_index = ignore_index
        self.conf = np.zeros((len(self.values), num_labels, num_labels),
                             np.int64)
        self.num_images = 0

    def add(self, label_maps: Sequence[np.ndarray], gt: np.ndarray) -> None:
        """One image: a label map per swept value (same order)."""
        for i, label in enumerate(label_maps):
            self.conf[i] += confusion(label, gt, self.num_labels,
                                      self.ignore_index)
        self.num_images += 1

    def miou(self) -> Dict[float, float]:
        """mIoU (%) per swept value."""
        return {
            v: miou_from_confusion(c)
            for v, c in zip(self.values, self.conf)
        }

    def best(self) -> tuple:
        """``(value, mIoU)`` of the best swept value."""
        sweep = self.miou()
        value = max(sweep, key=sweep.get)
        return value, sweep[value]


class BoundaryPR:
    """Precision / recall of a boundary map against ground-truth edges.

    Both live on the same grid. A predicted boundary cell is correct if a
    ground-truth edge cell lies within ``tolerance`` cells (Chebyshev
    distance), and a ground-truth edge cell is found if a predicted one
    does (the usual matching tolerance of boundary benchmarks).

    Args:
        thresholds (Sequence[float]): Boundary probabilities swept.
        tolerance (int): Matching distance in cells.
    """

    def __init__(self,
                 thresholds: Sequence[float] = tuple(
                     np.round(np.arange(0.1, 1.0, 0.1), 2)),
                 tolerance: int = 1) -> None:
        self.thresholds = tuple(float(t) for t in thresholds)
        self.tolerance = tolerance
        # per threshold: matched predictions, predictions, found gt, gt
        self.counts = np.zeros((len(self.thresholds), 4), np.int64)

    def _dilate(self, x: torch.Tensor) -> torch.Tensor:
        k = 2 * self.tolerance + 1
        return F.max_pool2d(x[None, None].float(), k, 1, self.tolerance)[0,
                                                                         0] > 0

    def add(self, boundary: torch.Tensor, gt_edge: torch.Tensor) -> None:
        gt_edge = gt_edge > 0
        gt_near = self._dilate(gt_edge)
        for i, t in enumerate(self.thresholds):
            pred = boundary > t
            self.counts[i] += (int((pred & gt_near).sum()), int(pred.sum()),
                               int((gt_edge & self._dilate(pred)).sum()),
                               int(gt_edge.sum()))

    def summary(self) -> dict:
        """Precision, recall and F (%) per threshold, and the best F."""
        rows = {}
        for t, (tp, npred, found, ngt) in zip(self.thresholds, self.counts):
            p = 100.0 * tp / max(npred, 1)
            r = 100.0 * found / max(ngt, 1)
            f = 2 * p * r / max(p + r, 1e-9)
            rows[t] = dict(precision=p, recall=r, F=f)
        best = max(rows, key=lambda t: rows[t]['F'])
        return dict(per_threshold=rows, best_threshold=best, **rows[best])


def confusion(pred: np.ndarray,
              gt: np.ndarray,
              num_labels: int,
              ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Confusion matrix ``[num_labels, num_labels]`` (rows = ground truth)."""
    valid = gt != ignore_index
    idx = gt[valid].astype(np.int64) * num_labels + pred[valid]
    return np.bincount(
        idx, minlength=num_labels**2).reshape(num_labels, num_labels)


def label_maps_for_sweep(
        cams: np.ndarray, keys: np.ndarray,
        thresholds: Sequence[float]) -> Dict[float, np.ndarray]:
    """:func:`seeds_to_label` for many thresholds, sharing the argmax."""
    if len(keys) == 0:
        zero = np.zeros(cams.shape[1:], np.uint8)
        return {t: zero for t in thresholds}
    peak = cams.max(axis=0)
    fg = (np.asarray(keys)[cams.argmax(axis=0)] + 1).astype(np.uint8)
    return {t: np.where(peak > t, fg, 0).astype(np.uint8) for t in thresholds}
