"""Stage 4: mmseg segmentors trained on pseudo masks, tested on the truth."""
import glob
import json
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO, direct_miou, run_tool
from mmengine.config import Config
from PIL import Image

from mmseg_cobra.utils.records import load_test_metrics

DEEPLAB = osp.join(REPO, 'configs/seg/deeplabv3plus_r18_synthetic.py')
SEGFORMER = osp.join(REPO, 'configs/seg/segformer_mit_tiny_synthetic.py')


@pytest.fixture(scope='module')
def pseudo_masks(synthetic_root, tmp_path_factory):
    """Imperfect masks: the truth with objects shifted by 3 pixels."""
    out = str(tmp_path_factory.mktemp('pseudo') / 'masks')
    os.makedirs(out)
    with open(
            osp.join(synthetic_root,
                     'ImageSets/Segmentation/train_aug.txt')) as f:
        ids = f.read().split()
    for img_id in ids:
        gt = np.asarray(
            Image.open(
                osp.join(synthetic_root, 'SegmentationClassAug',
                         img_id + '.png')))
        Image.fromarray(np.roll(gt, 3,
                                axis=1)).save(osp.join(out, img_id + '.png'))
    return out


def options(root, masks, iters=30, extra=()):
    return [
        '--cfg-options', 'train_dataloader.dataset.data_root=' + root,
        'train_dataloader.dataset.data_prefix.seg_map_path=' + masks,
        'train_dataloader.num_workers=0',
        'val_dataloader.dataset.data_root=' + root,
        'val_dataloader.num_workers=0',
        'test_dataloader.dataset.data_root=' + root,
        'test_dataloader.num_workers=0', f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'default_hooks.logger.interval=5', *extra
    ]


def scored_predictions(pred_dir, root):
    """mIoU (%) of the prediction PNGs IoUMetric wrote (``output_dir``)
    against the ground truth, computed here."""
    preds, gts = [], []
    for path in sorted(glob.glob(osp.join(pred_dir, '*.png'))):
        preds.append(np.asarray(Image.open(path)))
        gts.append(
            np.asarray(
                Image.open(
                    osp.join(root, 'SegmentationClassAug',
                             osp.basename(path)))))
    assert len(preds) == 8  # the val split
    return direct_miou(preds, gts, 5)


@pytest.mark.slow
@pytest.mark.parametrize(
    'config', [DEEPLAB, SEGFORMER], ids=['deeplabv3plus', 'segformer'])
def test_train_on_pseudo_masks_and_test_with_and_without_crf(
        config, synthetic_root, pseudo_masks, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool([
        sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
        *options(synthetic_root, pseudo_masks)
    ])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(x) for x in f if '"loss"' in x]
    assert rows[-1]['loss'] < rows[0]['loss']
    ckpt = osp.join(work_dir, 'iter_30.pth')
    scores = {}
    for i, flags in enumerate(([], ['--crf'], ['--tta', '--crf'])):
        test_dir = str(tmp_path / f'test{i}')
        pred_dir = str(tmp_path / f'pred{i}')
        result = run_tool([
            sys.executable, 'tools/test.py', config, ckpt, '--work-dir',
            test_dir, *flags, *options(
                synthetic_root,
                pseudo_masks,
                extra=[f'test_evaluator.output_dir={pred_dir}'])
        ])
        log = result.stdout + result.stderr
        assert result.returncode == 0, log[-3000:]
        # the recorded metric is the one of the predictions written
        scores[' '.join(flags)] = load_test_metrics(test_dir)['mIoU']
        assert scores[' '.join(flags)] == pytest.approx(
            scored_predictions(pred_dir, synthetic_root), abs=0.01)
    assert len(scores) == 3


@pytest.mark.slow
def test_missing_pseudo_masks_are_counted_before_training(
        synthetic_root, pseudo_masks, tmp_path):
    masks = str(tmp_path / 'masks')
    shutil.copytree(pseudo_masks, masks)
    for path in sorted(glob.glob(osp.join(masks, '*.png')))[:3]:
        os.remove(path)
    result = run_tool([
        sys.executable, 'tools/train.py', DEEPLAB, '--work-dir',
        str(tmp_path / 'work'), *options(synthetic_root, masks)
    ])
    assert result.returncode != 0
    assert '3 of 24 label maps are missing' in result.stderr
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('name', [
    'deeplabv3plus_r101_cobra_voc', 'segformer_mitb2_cobra_voc',
    'deeplabv3plus_r101_cobra_coco', 'segformer_mitb2_cobra_coco'
])
def test_full_configs_resolve_and_fail_clearly_without_data(
        name, tmp_path, monkeypatch):
    from mmseg.registry import DATASETS, MODELS

    from mmseg_cobra.datasets import DatasetError
    monkeypatch.chdir(tmp_path)  # no data/ here
    cfg = Config.fromfile(osp.join(REPO, 'configs/seg', name + '.py'))
    model = MODELS.build(cfg.model)
    assert model.decode_head.num_classes == (81 if 'coco' in name else 21)
    for loader in ('train_dataloader', 'val_dataloader'):
        with pytest.raises(DatasetError, match='dataset not found at data/'):
            DATASETS.build(cfg[loader].dataset)
