import json

import numpy as np
import pytest
import torch

from mmseg_cobra.evaluation import (SeedMetric, attention_threshold,
                                    combine_seeds, seeds_to_label)
from mmseg_cobra.models import CoBra


def test_fusion_formula_on_hand_made_maps():
    cnn = torch.tensor([[[0.0, 0.2], [1.0, 0.6]]])
    vit = torch.tensor([[[0.4, 0.0], [0.2, 0.6]]])
    fused = CoBra.fuse(cnn, vit)
    # max((cnn + vit) / 2, vit)
    assert torch.allclose(fused, torch.tensor([[[0.4, 0.1], [0.6, 0.6]]]))
    seed = dict(cam_cnn=cnn.numpy(), cam_vit=vit.numpy())
    np.testing.assert_allclose(combine_seeds(seed, 'fuse'), fused.numpy())
    np.testing.assert_allclose(
        combine_seeds(seed, 'max'), [[[0.4, 0.2], [1.0, 0.6]]])


def test_seeds_to_label_and_attention_threshold():
    cams = np.array([[[0.9, 0.1], [0.5, 0.0]], [[0.2, 0.3], [0.7, 0.0]]])
    label = seeds_to_label(cams, np.array([4, 9]), bg_threshold=0.25)
    np.testing.assert_array_equal(label, [[5, 10], [10, 0]])
    attn = np.array([[1., 2.], [3., 4.]])
    assert attention_threshold(attn, 50) == pytest.approx(0.625)


def _metric(**kwargs):
    metric = SeedMetric(
        sources=('cnn', 'fuse'),
        thresholds=(0.5, ),
        percentiles=(50, ),
        **kwargs)
    metric.dataset_meta = dict(classes=('background', 'a', 'b'))
    return metric


def test_metric_on_hand_made_seeds_with_known_iou(tmp_path):
    gt = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 255, 255]], np.uint8)
    cam = np.array([[[0.0, 0.0, 0.9, 0.9], [0.0, 0.9, 0.9, 0.9],
                     [0.0, 0.0, 0.0, 0.0]]])  # class a, one false positive
    seed = dict(
        cam_cnn=cam,
        cam_vit=cam,
        cam_fuse=cam,
        keys=np.array([0]),
        attn=np.ones((3, 4)))
    metric = _metric(out_file=str(tmp_path / 'report.json'))
    metric.add(seed, gt)
    scores = metric.summarize()
    # 10 valid pixels. gt bg = 4 pixels; pred bg = (0,0),(0,1),(1,0) and
    # row 2's two valid pixels: bg inter 3, union 6; a: 4 / 5; b: 0 / 2
    want = (3 / 6 + 4 / 5 + 0) / 3 * 100
    assert scores['cnn/fixed'] == pytest.approx(want, abs=0.01)
    report = json.load(open(tmp_path / 'report.json'))
    assert report['fuse/fixed']['per_class']['a']['precision'] == \
        pytest.approx(80.0)
    assert report['fuse/fixed']['per_class']['a']['recall'] == \
        pytest.approx(100.0)
    # uniform attention: percentile threshold 1.0 -> everything background
    assert report['cnn/dynamic']['mIoU'] == pytest.approx(
        (4 / 10) / 3 * 100, abs=0.01)


def test_metric_refuses_seed_of_wrong_size():
    metric = _metric()
    seed = dict(
        cam_cnn=np.zeros((1, 2, 2)),
        cam_vit=np.zeros((1, 2, 2)),
        cam_fuse=np.zeros((1, 2, 2)),
        keys=np.array([0]),
        attn=np.ones((2, 2)),
        img_id='x')
    with pytest.raises(ValueError, match='x'):
        metric.add(seed, np.zeros((3, 3), np.uint8))
