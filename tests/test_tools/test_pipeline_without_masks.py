"""The pipeline where only the scored images have masks (weak supervision
proper), in its own file so that `make test` runs it beside
test_pipeline.py."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
from conftest import direct_miou, run_tool
from PIL import Image
from pipeline_args import CONFIG, reduced

from mmseg_cobra.datasets import generate_synthetic_voc
from mmseg_cobra.utils.records import load_test_metrics
from mmseg_cobra.utils.seed_io import load_seed
from mmseg_cobra.utils.seed_labels import seeds_to_label

pytestmark = pytest.mark.slow


def test_pipeline_on_training_images_without_masks(tmp_path):
    """Weak supervision proper: only the scored images have masks
    (``dataset.train.mask_dir=None``). Seeds and masks are written for every
    training image, scored on ``eval`` only, and segmentation trains on the
    pseudo masks."""
    root = str(tmp_path / 'data')
    ids = generate_synthetic_voc(
        root, num_train=24, num_val=8, num_classes=3, seed=2)['train_aug']
    lists = osp.join(root, 'ImageSets', 'Segmentation')
    with open(osp.join(lists, 'scored.txt'), 'w') as f:
        f.write('\n'.join(ids[:8]) + '\n')
    os.makedirs(osp.join(root, 'ScoredMasks'))
    for img_id in ids:  # keep the masks of the scored images only
        src = osp.join(root, 'SegmentationClassAug', img_id + '.png')
        if img_id in ids[:8]:
            os.rename(src, osp.join(root, 'ScoredMasks', img_id + '.png'))
        else:
            os.remove(src)
    work = str(tmp_path / 'work')
    args = [
        a for a in reduced(root) if 'max_epochs' not in a
        and 'seg.train_cfg' not in a and 'checkpoint.interval' not in a
    ]
    result = run_tool([
        sys.executable, 'tools/run_pipeline.py', CONFIG, '--work-dir', work,
        *args, 'cfg_options.classifier.train_cfg.max_epochs=2',
        'cfg_options.irn.train_cfg.max_epochs=2',
        'cfg_options.seg.train_cfg.max_iters=20',
        'cfg_options.seg.train_cfg.val_interval=20',
        'cfg_options.seg.default_hooks.checkpoint.interval=20',
        'dataset.train.mask_dir=None',
        'dataset.eval.ann_file=ImageSets/Segmentation/scored.txt',
        'dataset.eval.mask_dir=ScoredMasks',
        'dataset.val.mask_dir=SegmentationClassAug'
    ],
                      timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    for sub, ext in (('seeds', '.npz'), ('final_masks', '.png')):
        written = {
            n[:-len(ext)]
            for n in os.listdir(osp.join(work, sub)) if n.endswith(ext)
        }
        assert written == set(ids), sub
    assert 'no sample has ground truth: outputs written, not scored' in \
        open(osp.join(work, 'logs', 'seeds.log')).read()
    summary = json.load(open(osp.join(work, 'summary.json')))
    report = json.load(open(osp.join(work, 'seed_eval.json')))
    assert report['_images']['scored'] == 8
    # the fused seeds of the 8 scored images, labelled at the reported
    # threshold and scored here directly
    seeds = [load_seed(osp.join(work, 'seeds', i + '.npz')) for i in ids[:8]]
    gts = [
        np.asarray(Image.open(osp.join(root, 'ScoredMasks', i + '.png')))
        for i in ids[:8]
    ]
    preds = [
        seeds_to_label(s['cam_fuse'], s['keys'],
                       summary['seed_eval']['seed_fuse_threshold'])
        for s in seeds
    ]
    assert summary['seed_eval']['seed_fuse'] == pytest.approx(
        direct_miou(preds, gts, 4), abs=1e-6)
    assert summary['seg_eval']['seg_miou'] == pytest.approx(
        load_test_metrics(osp.join(work, 'seg_eval'))['mIoU'])
