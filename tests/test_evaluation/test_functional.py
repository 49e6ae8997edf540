"""Threshold sweeps and boundary precision/recall against direct counts."""
import numpy as np
import pytest
import torch
from conftest import direct_miou

from mmseg_cobra.evaluation.functional import (BoundaryPR, ConfusionSweep,
                                               confusion, label_maps_for_sweep,
                                               miou_from_confusion,
                                               seeds_to_label)


def test_confusion_counts_pairs_and_ignores():
    gt = np.array([[0, 1, 255], [2, 2, 1]], np.uint8)
    pred = np.array([[0, 2, 1], [2, 1, 1]], np.uint8)
    conf = confusion(pred, gt, 3)
    want = np.zeros((3, 3), np.int64)
    for g, p in zip(gt.ravel(), pred.ravel()):
        if g != 255:
            want[g, p] += 1
    assert np.array_equal(conf, want)


def test_confusion_sweep_matches_direct_miou_per_value():
    rng = np.random.RandomState(0)
    values = (0.2, 0.5, 0.8)
    sweep = ConfusionSweep(values, num_labels=4)
    cams, keys, gts = [], [], []
    for _ in range(5):
        k = np.sort(rng.choice(3, size=2, replace=False))
        cam = rng.rand(2, 12, 10)
        gt = rng.randint(0, 4, (12, 10)).astype(np.uint8)
        gt[0, :3] = 255
        maps = label_maps_for_sweep(cam, k, values)
        for v in values:  # the shared-argmax maps are seeds_to_label's
            assert np.array_equal(maps[v], seeds_to_label(cam, k, v))
        sweep.add([maps[v] for v in values], gt)
        cams.append(cam), keys.append(k), gts.append(gt)
    scores = sweep.miou()
    for v in values:
        preds = [seeds_to_label(c, k, v) for c, k in zip(cams, keys)]
        assert scores[v] == pytest.approx(direct_miou(preds, gts, 4))
    best, best_miou = sweep.best()
    assert best_miou == max(scores.values()) and scores[best] == best_miou
    assert sweep.num_images == 5
    assert miou_from_confusion(sweep.conf[0]) == scores[0.2]


def direct_boundary_pr(boundary, gt_edge, t, tol):
    pred = boundary > t
    gt = gt_edge > 0
    h, w = pred.shape

    def near(mask, y, x):
        return mask[max(0, y - tol):y + tol + 1,
                    max(0, x - tol):x + tol + 1].any()

    tp = sum(near(gt, y, x) for y in range(h) for x in range(w) if pred[y, x])
    found = sum(
        near(pred, y, x) for y in range(h) for x in range(w) if gt[y, x])
    return tp, int(pred.sum()), found, int(gt.sum())


def test_boundary_pr_matches_brute_force_matching():
    rng = np.random.RandomState(1)
    pr = BoundaryPR(thresholds=(0.3, 0.7), tolerance=1)
    totals = {0.3: np.zeros(4), 0.7: np.zeros(4)}
    for _ in range(3):
        boundary = rng.rand(9, 11).astype(np.float32)
        gt_edge = (rng.rand(9, 11) > 0.8).astype(np.uint8)
        pr.add(torch.from_numpy(boundary), torch.from_numpy(gt_edge))
        for t in totals:
            totals[t] += direct_boundary_pr(boundary, gt_edge, t, 1)
    summary = pr.summary()
    for t, (tp, npred, found, ngt) in totals.items():
        row = summary['per_threshold'][t]
        p, r = 100 * tp / npred, 100 * found / ngt
        assert row['precision'] == pytest.approx(p)
        assert row['recall'] == pytest.approx(r)
        assert row['F'] == pytest.approx(2 * p * r / (p + r))
    best = max(totals, key=lambda t: summary['per_threshold'][t]['F'])
    assert summary['best_threshold'] == best
    assert summary['F'] == summary['per_threshold'][best]['F']
