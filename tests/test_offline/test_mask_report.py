"""MaskReport on the synthetic dataset, in-process: label folders are
scored on the same images as everything else, equal to a direct IoU over
the summed areas; a folder missing a mask is counted as skipped for that
folder only; images without ground truth are left out with the reason."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from conftest import REPO
from mmengine.config import Config
from PIL import Image

from mmseg_cobra.offline.mask_report import MaskReport
from mmseg_cobra.structures import IGNORE_INDEX

IRN_CONFIG = osp.join(REPO, 'configs/irn/irn_r18_synthetic.py')


def _direct_miou(gts, preds, num_classes):
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for gt, pred in zip(gts, preds):
        valid = gt != IGNORE_INDEX
        for c in range(num_classes):
            g, p = (gt == c) & valid, (pred == c) & valid
            inter[c] += (g & p).sum()
            union[c] += (g | p).sum()
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    return 100 * np.nanmean(iou)


@pytest.fixture
def report_data(synthetic_root, tmp_path):
    """A copy of the synthetic dataset (one ground truth removed) and two
    mask folders: the ground truth itself, and every mask background."""
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    report = MaskReport(Config.fromfile(IRN_CONFIG), data_root=root)
    infos = report.infos
    gone = infos[0]
    os.remove(gone['seg_map_path'])
    gt_dir, bg_dir = str(tmp_path / 'gt'), str(tmp_path / 'bg')
    os.makedirs(gt_dir)
    os.makedirs(bg_dir)
    gts = []
    for info in infos[1:]:
        gt = np.asarray(Image.open(info['seg_map_path']))
        gts.append(gt)
        Image.fromarray(gt).save(osp.join(gt_dir, info['img_id'] + '.png'))
        if info is not infos[1]:  # one background mask missing
            Image.fromarray(np.zeros_like(gt)).save(
                osp.join(bg_dir, info['img_id'] + '.png'))
    return root, gone['img_id'], gts, gt_dir, bg_dir


def test_mask_folders_are_scored_on_the_same_images(report_data):
    root, gone, gts, gt_dir, bg_dir = report_data
    report = MaskReport(Config.fromfile(IRN_CONFIG), data_root=root)
    result = report.run(dict(gt=gt_dir, bg=bg_dir))
    num_classes = len(report.classes)
    assert result['images'] == len(gts)
    assert result['skipped'] == 1
    assert result['skipped_ids'] == {gone: 'no ground truth'}
    assert result['masks']['gt']['mIoU'] == pytest.approx(100.0)
    assert result['masks']['gt']['scored'] == len(gts)
    bg = result['masks']['bg']
    assert (bg['scored'], bg['skipped']) == (len(gts) - 1, 1)
    expected = _direct_miou(gts[1:], [np.zeros_like(g) for g in gts[1:]],
                            num_classes)
    assert bg['mIoU'] == pytest.approx(expected, abs=1e-3)
    assert set(bg['per_class']) == set(report.classes)


def test_every_image_without_inputs_is_an_error(report_data, tmp_path):
    root = report_data[0]
    report = MaskReport(
        Config.fromfile(IRN_CONFIG),
        data_root=root,
        seed_dir=str(tmp_path / 'no_seeds'),
        oracle=True)
    with pytest.raises(
            RuntimeError, match='no image has ground truth and '
            'every input'):
        report.run()
    assert set(
        report.images.skipped.values()) <= {'no ground truth', 'no seed'}
