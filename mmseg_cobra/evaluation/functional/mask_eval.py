"""Score a directory of label PNGs against ground truth, with mmseg's IoU."""
import os.path as osp
from typing import Dict, Sequence

import numpy as np
import torch
from mmengine.utils import ProgressBar
from mmseg.evaluation.metrics import IoUMetric
from PIL import Image


def evaluate_label_dir(pred_dir: str,
                       gt_dir: str,
                       ids: Sequence[str],
                       classes: Sequence[str],
                       ignore_index: int = 255,
                       show_progress: bool = True) -> Dict:
    """mIoU of ``<pred_dir>/<id>.png`` against ``<gt_dir>/<id>.png``.

    Areas come from :meth:`mmseg.evaluation.IoUMetric.intersect_and_union`
    and metrics from :meth:`IoUMetric.total_area_to_metrics`. Predictions
    that are missing or of another size than their ground truth are not
    scored; they are listed in the result (never counted as empty masks).

    Returns:
        dict: ``mIoU``, ``per_class`` (IoU, precision, recall, in %),
        ``scored`` and ``skipped`` (id -> reason).
    """
    num = len(classes)
    totals = [torch.zeros(num, dtype=torch.float64) for _ in range(4)]
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
        pred = np.asarray(Image.open(pred_path))
        gt = np.asarray(Image.open(gt_path))
        if pred.shape != gt.shape:
            skipped[img_id] = (f'mask {pred_path} is {pred.shape}, ground '
                               f'truth {gt.shape}')
            continue
        areas = IoUMetric.intersect_and_union(
            torch.from_numpy(pred.astype(np.int64)),
            torch.from_numpy(gt.astype(np.int64)), num, ignore_index)
        for total, area in zip(totals, areas):
            total += area.double()
        scored += 1
    if bar is not None:
        print()
    if scored == 0:
        return dict(mIoU=float('nan'), per_class={}, scored=0, skipped=skipped)
    with np.errstate(divide='ignore', invalid='ignore'):
        metrics = IoUMetric.total_area_to_metrics(
            *totals, metrics=['mIoU', 'mFscore'])
    return dict(
        mIoU=float(np.nanmean(metrics['IoU']) * 100),
        per_class={
            name:
            dict(
                IoU=float(metrics['IoU'][k] * 100),
                precision=float(metrics['Precision'][k] * 100),
                recall=float(metrics['Recall'][k] * 100))
            for k, name in enumerate(classes)
        },
        scored=scored,
        skipped=skipped)
