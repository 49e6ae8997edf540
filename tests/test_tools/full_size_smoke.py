"""Helpers of the full-size smoke tests (``test_full_size_smoke_voc.py``,
``test_full_size_smoke_coco.py``, one file each so that `make test` runs
them in its two processes at once).

Full-size smoke: the VOC and COCO pipeline configs, every stage, at full
model size (ResNet-152 + DeiT-S, IRN R152, DeepLabV3+ R101, SegFormer
MiT-B2), pretrained loading off, one epoch or iteration per training stage, on
datasets the test writes (COCO: ``instances_*2014.json`` converted by
tools/dataset_converters/coco2014.py).

Each run takes a few minutes on 2 CPU cores; the per-stage wall time and peak
memory are printed (``pytest -s``) and kept in the summary.
"""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
from conftest import run_tool
from PIL import Image, ImageDraw
from pipeline_args import STAGES

# pretrained loading off, one epoch / one iteration, small batches
SMOKE = [
    'nproc_cpu=1',
    'cfg_options.classifier.model.cnn_backbone.init_cfg=None',
    'cfg_options.classifier.model.vit_backbone.init_cfg=None',
    'cfg_options.classifier.train_cfg.max_epochs=1',
    'cfg_options.classifier.custom_hooks.ComplementaryLossSwitchHook.start_epoch=0',  # noqa: E501 (CAP/SAP on)
    'cfg_options.classifier.train_dataloader.batch_size=2',
    'cfg_options.classifier.train_dataloader.num_workers=0',
    'cfg_options.classifier.train_dataloader.persistent_workers=False',
    'cfg_options.seeds.test_dataloader.num_workers=0',
    # one scale (and its flip): the multi-scale path at full size is the
    # parity test's (tests/test_apis/test_reference_parity.py)
    'cfg_options.seeds.model.test_cfg.scales=[1.0]',
    'cfg_options.irn.model.backbone.init_cfg=None',
    'cfg_options.irn.train_cfg.max_epochs=1',
    'cfg_options.irn.train_dataloader.batch_size=2',
    'cfg_options.irn.train_dataloader.num_workers=0',
    'cfg_options.irn.train_dataloader.persistent_workers=False',
    # a 128 px crop instead of 512 (train pipeline index 4: RandomCropPad)
    'cfg_options.irn.train_dataloader.dataset.pipeline.4.crop_size=(128,128)',
    'cfg_options.irn.model.data_preprocessor.size=(128,128)',
    'cfg_options.irn.test_dataloader.num_workers=0',
    # the walk on the image padded to the output stride, not on IRN's 512 x
    # 512 canvas (21 times the pixels of these images; the canvas at full
    # size is the parity test's)
    'cfg_options.irn.model.test_cfg.pad_size=None',
    'cfg_options.seg.train_cfg.max_iters=1',
    'cfg_options.seg.train_cfg.val_interval=1',
    'cfg_options.seg.default_hooks.checkpoint.interval=1',
    'cfg_options.seg.train_dataloader.batch_size=2',
    'cfg_options.seg.train_dataloader.num_workers=0',
    'cfg_options.seg.train_dataloader.persistent_workers=False',
    'cfg_options.seg.val_dataloader.num_workers=0',
    'cfg_options.seg.val_dataloader.persistent_workers=False',
    # the models at full size, their inputs small: a 128 px crop instead of
    # 512 and the test images resized to at most 256 x 128 (one sliding
    # window), which takes the segmentation stages from about two minutes
    # to seconds on 2 cores (train pipeline index 2: RandomResize, 3:
    # RandomCrop; test pipeline 1: Resize, in both stage-4 dataset configs)
    'cfg_options.seg.model.data_preprocessor.size=(128,128)',
    'cfg_options.seg.train_dataloader.dataset.pipeline.2.scale=(256,128)',
    'cfg_options.seg.train_dataloader.dataset.pipeline.3.crop_size=(128,128)',
    'cfg_options.seg.val_dataloader.dataset.pipeline.1.scale=(256,128)',
    'cfg_options.seg.test_dataloader.dataset.pipeline.1.scale=(256,128)',
]


def write_coco2014(root, n_train=4, n_val=2, size=(96, 128), seed=0):
    """COCO 2014 layout: images + ``annotations/instances_*2014.json`` with
    80 categories (COCO's non-contiguous ids) and polygon objects."""
    rng = np.random.default_rng(seed)
    cats = [dict(id=i + 1 + (i // 10), name=f'class{i}') for i in range(80)]
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ann_id = 1
    for split, n in (('train', n_train), ('val', n_val)):
        os.makedirs(osp.join(root, f'{split}2014'), exist_ok=True)
        images, anns = [], []
        for k in range(n):
            img_id = k + 1
            name = f'COCO_{split}2014_{img_id:012d}.jpg'
            h, w = size
            img = Image.fromarray(
                rng.integers(0, 60, (h, w, 3), dtype=np.uint8))
            draw = ImageDraw.Draw(img)
            for _ in range(2):
                cat = cats[int(rng.integers(0, 80))]
                x0, y0 = int(rng.integers(0, w // 2)), int(
                    rng.integers(0, h // 2))
                x1, y1 = x0 + w // 3, y0 + h // 3
                draw.rectangle([x0, y0, x1, y1],
                               fill=tuple(
                                   int(c) for c in rng.integers(100, 255, 3)))
                anns.append(
                    dict(
                        id=ann_id,
                        image_id=img_id,
                        category_id=cat['id'],
                        iscrowd=0,
                        area=float((x1 - x0) * (y1 - y0)),
                        bbox=[x0, y0, x1 - x0, y1 - y0],
                        segmentation=[[x0, y0, x1, y0, x1, y1, x0, y1]]))
                ann_id += 1
            img.save(osp.join(root, f'{split}2014', name), quality=95)
            images.append(dict(id=img_id, file_name=name, height=h, width=w))
        with open(
                osp.join(root, 'annotations', f'instances_{split}2014.json'),
                'w') as f:
            json.dump(
                dict(images=images, annotations=anns, categories=cats), f)


def _run_pipeline(config, work, opts):
    result = run_tool([
        sys.executable, 'tools/run_pipeline.py', config, '--work-dir', work,
        '--cfg-options', *opts, *SMOKE
    ],
                      timeout=1500,
                      env=dict(OMP_NUM_THREADS='1'))
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    summary = json.load(open(osp.join(work, 'summary.json')))
    assert set(summary) == set(STAGES)
    print(f'\n{osp.basename(config)} at full model size:')
    for stage in STAGES:
        r = summary[stage]
        print(f'  {stage:12s} {r["seconds"]:7.1f} s  '
              f'{r.get("peak_rss_mb", "-")} MiB')
    print(f'  total        {sum(r["seconds"] for r in summary.values()):7.1f}'
          ' s')
    return summary, result.stdout


def _check_outputs(work, root, ids, num_fg, summary):
    """Every image's seed holds the maps of exactly its labelled classes;
    its final mask only those classes (or background / unknown); the
    summary's segmentation mIoU is mmengine's record of the test run."""
    from mmseg_cobra.structures.seed_io import load_seed
    from mmseg_cobra.utils.records import load_test_metrics
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    for img_id in ids:
        seed = load_seed(osp.join(work, 'seeds', img_id + '.npz'), num_fg)
        positive = np.flatnonzero(np.asarray(labels[img_id]) > 0)
        assert seed['keys'].tolist() == positive.tolist()
        assert seed['cam_fuse'].shape[0] == len(positive)
        mask = np.asarray(
            Image.open(osp.join(work, 'final_masks', img_id + '.png')))
        assert set(np.unique(mask)) <= {0, 255, *(positive + 1)}
    assert summary['seg_eval']['seg_miou'] == pytest.approx(
        load_test_metrics(osp.join(work, 'seg_eval'))['mIoU'])
