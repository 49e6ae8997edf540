"""ClassIoUMetric: mmseg's IoUMetric metrics unchanged, and the per-class
IoU and accuracy it only logs, checked against a direct count."""
import json

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation.metrics import IoUMetric
from mmseg.structures import SegDataSample

from mmseg_cobra.evaluation import ClassIoUMetric

CLASSES = ('background', 'cat', 'dog')


def _samples():
    rng = np.random.default_rng(0)
    out = []
    for _ in range(3):
        gt = rng.integers(0, 2, (6, 7))  # no dog in the ground truth
        gt[0, 0] = 255
        pred = rng.integers(0, 2, (6, 7))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        out.append((gt, pred, sample.to_dict()))
    return out


def _evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process([{}], [s for _, _, s in samples])
    return metric.compute_metrics(metric.results)


def test_metrics_as_mmsegs_and_per_class_as_counted(tmp_path):
    samples = _samples()
    path = tmp_path / 'seg_eval' / 'class_iou.json'
    ours = ClassIoUMetric(iou_metrics=['mIoU'], class_file=str(path))
    assert _evaluate(ours, samples) == _evaluate(
        IoUMetric(iou_metrics=['mIoU']), samples)
    gt = np.concatenate([g.ravel() for g, _, _ in samples])
    pred = np.concatenate([p.ravel() for _, p, _ in samples])
    pred, gt = pred[gt != 255], gt[gt != 255]
    for k, name in enumerate(CLASSES[:2]):
        inter = np.sum((pred == k) & (gt == k))
        union = np.sum((pred == k) | (gt == k))
        assert ours.class_results[name]['IoU'] == pytest.approx(
            round(100 * inter / union, 2))
        assert ours.class_results[name]['Acc'] == pytest.approx(
            round(100 * inter / np.sum(gt == k), 2))
    assert np.isnan(ours.class_results['dog']['IoU'])
    written = json.loads(path.read_text())['classes']
    assert written['cat'] == ours.class_results['cat']
    assert set(written) == set(CLASSES)


def test_per_class_keys_follow_the_requested_metrics():
    """The per-class figures are the ones mmseg computed for its metrics:
    with ``mDice`` as well, every class also has its Dice; mmseg's
    returned metrics stay its own."""
    samples = _samples()
    ours = ClassIoUMetric(iou_metrics=['mIoU', 'mDice'])
    assert _evaluate(ours, samples) == _evaluate(
        IoUMetric(iou_metrics=['mIoU', 'mDice']), samples)
    assert set(ours.class_results['cat']) == {'IoU', 'Acc', 'Dice'}
