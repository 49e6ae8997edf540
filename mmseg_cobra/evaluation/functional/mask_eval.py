"""Score a directory of label PNGs against ground truth, with mmseg's IoU."""
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np
import torch
from mmengine.utils import ProgressBar
from mmseg.evaluation.metrics import IoUMetric

from ...structures import IGNORE_INDEX
from ...utils.image_io import read_ground_truth, read_label


def label_dir_areas(
        pred_dir: str,
        gt_dir: str,
        ids: Sequence[str],
        num_classes: int,
        ignore_index: int = IGNORE_INDEX,
        show_progress: bool = True) -> Tuple[np.ndarray, int, Dict]:
    """Per-class areas of ``<pred_dir>/<id>.png`` against
    ``<gt_dir>/<id>.png``, summed over ``ids``.

    Areas come from :meth:`mmseg.evaluation.IoUMetric.intersect_and_union`.
    Predictions that are missing or of another size than their ground truth
    are not scored; they are listed (never counted as empty masks).

    Returns:
        tuple: float64 ``[4, num_classes]`` areas (intersection, union,
        prediction, label), the number of images scored, and the skipped
        ones (id -> reason).
    """
    totals = np.zeros((4, num_classes), np.float64)
    skipped, scored = {}, 0
    bar = ProgressBar(len(ids)) if show_progress else None
    for img_id in ids:
        if bar is not None:
            bar.update()
        pred_path = osp.join(pred_dir, img_id + '.png')
        gt_path = osp.join(gt_dir, img_id + '.png')
        if not osp.isfile(gt_path):
            skipped[img_id] = f'ground truth {gt_path} missing'
            continue
        if not osp.isfile(pred_path):
            skipped[img_id] = f'mask {pred_path} missing'
            continue
        pred = read_label(pred_path)
        gt = read_ground_truth(gt_path, num_classes, ignore_index)
        if pred.shape != gt.shape:
            skipped[img_id] = (f'mask {pred_path} is {pred.shape}, ground '
                               f'truth {gt.shape}')
            continue
        areas = IoUMetric.intersect_and_union(
            torch.from_numpy(pred.astype(np.int64)),
            torch.from_numpy(gt.astype(np.int64)), num_classes, ignore_index)
        totals += torch.stack(areas).double().numpy()
        scored += 1
    if bar is not None:
        print()
    return totals, scored, skipped


def metrics_from_areas(totals: np.ndarray, classes: Sequence[str]) -> Dict:
    """mIoU and per-class IoU / precision / recall (%) of summed areas
    (:func:`label_dir_areas`), with :meth:`IoUMetric.total_area_to_metrics`.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        metrics = IoUMetric.total_area_to_metrics(
            *[torch.from_numpy(t) for t in totals],
            metrics=['mIoU', 'mFscore'])
    return dict(
        mIoU=float(np.nanmean(metrics['IoU']) * 100),
        per_class=per_class_scores(metrics, classes))


def per_class_scores(metrics: dict, classes: Sequence[str]) -> dict:
    """``{class: {IoU, precision, recall}}`` (%) from mmseg's
    ``IoUMetric.total_area_to_metrics`` (``mIoU`` and ``mFscore``)."""
    return {
        name:
        dict(
            IoU=float(metrics['IoU'][k] * 100),
            precision=float(metrics['Precision'][k] * 100),
            recall=float(metrics['Recall'][k] * 100))
        for k, name in enumerate(classes)
    }


def evaluate_label_dir(pred_dir: str,
                       gt_dir: str,
                       ids: Sequence[str],
                       classes: Sequence[str],
                       ignore_index: int = IGNORE_INDEX,
                       show_progress: bool = True) -> Dict:
    """mIoU of ``<pred_dir>/<id>.png`` against ``<gt_dir>/<id>.png``
    (:func:`label_dir_areas`, :func:`metrics_from_areas`).

    Returns:
        dict: ``mIoU``, ``per_class`` (IoU, precision, recall, in %),
        ``scored`` and ``skipped`` (id -> reason).
    """
    totals, scored, skipped = label_dir_areas(pred_dir, gt_dir, ids,
                                              len(classes), ignore_index,
                                              show_progress)
    if scored == 0:
        return dict(mIoU=float('nan'), per_class={}, scored=0, skipped=skipped)
    return dict(
        **metrics_from_areas(totals, classes), scored=scored, skipped=skipped)
