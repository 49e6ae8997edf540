"""The VOC pipeline config, every stage at full model size (see
full_size_smoke.py), as weak supervision proper: only the scored images
have masks."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, direct_miou
from full_size_smoke import _check_outputs, _run_pipeline
from PIL import Image

from mmseg_cobra.datasets import generate_synthetic_voc
from mmseg_cobra.ops.seed_labels import seeds_to_label
from mmseg_cobra.structures.seed_io import load_seed

pytestmark = pytest.mark.slow


def _keep_scored_masks(root, ids, scored):
    """Masks of the ``scored`` training images only (in ``ScoredMasks``,
    listed in ``scored.txt``); the other training images have none."""
    lists = osp.join(root, 'ImageSets', 'Segmentation')
    with open(osp.join(lists, 'scored.txt'), 'w') as f:
        f.write('\n'.join(scored) + '\n')
    os.makedirs(osp.join(root, 'ScoredMasks'))
    for img_id in ids:
        src = osp.join(root, 'SegmentationClassAug', img_id + '.png')
        if img_id in scored:
            os.rename(src, osp.join(root, 'ScoredMasks', img_id + '.png'))
        else:
            os.remove(src)


def test_voc_pipeline_end_to_end_at_full_size_without_training_masks(tmp_path):
    """VOC: every stage of configs/pipeline/cobra_voc.py, SegFormer MiT-B2
    for stage 4 (the COCO run covers DeepLabV3+ R101). The training images
    have no masks (``dataset.train.mask_dir=None``) but the two scored
    ones (``dataset.eval``): seeds and masks are written for every
    training image, scored on ``eval`` only, and segmentation trains on
    the pseudo masks."""
    root = str(tmp_path / 'VOC2012')
    ids = generate_synthetic_voc(
        root,
        num_train=4,
        num_val=2,
        num_classes=20,
        image_size=(96, 128),
        seed=0)['train_aug']
    scored = ids[:2]
    _keep_scored_masks(root, ids, scored)
    work = str(tmp_path / 'work')
    summary, out = _run_pipeline(
        osp.join(REPO, 'configs/pipeline/cobra_voc.py'), work, [
            f'dataset.data_root={root}',
            'dataset.train.mask_dir=None',
            'dataset.eval.ann_file=ImageSets/Segmentation/scored.txt',
            'dataset.eval.mask_dir=ScoredMasks',
            'dataset.val.mask_dir=SegmentationClassAug',
            'seg_config=configs/seg/segformer_mitb2_cobra_voc.py',
            'cfg_options.seg.model.backbone.init_cfg=None',
        ])
    assert '20 foreground classes; train 4 images' in out
    _check_outputs(work, root, ids, 20, summary)  # every training image
    assert 'no sample has ground truth: outputs written, not scored' in \
        open(osp.join(work, 'logs', 'seeds.log')).read()
    report = json.load(open(osp.join(work, 'seed_eval.json')))
    assert report['_images']['scored'] == len(scored)
    # the fused seeds of the scored images, labelled at the reported
    # threshold and scored here directly
    seeds = [load_seed(osp.join(work, 'seeds', i + '.npz')) for i in scored]
    gts = [
        np.asarray(Image.open(osp.join(root, 'ScoredMasks', i + '.png')))
        for i in scored
    ]
    preds = [
        seeds_to_label(s['cam_fuse'], s['keys'],
                       summary['seed_eval']['seed_fuse_threshold'])
        for s in seeds
    ]
    assert summary['seed_eval']['seed_fuse'] == pytest.approx(
        direct_miou(preds, gts, 21), abs=1e-6)
