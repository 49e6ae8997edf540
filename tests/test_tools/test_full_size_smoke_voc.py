"""The VOC pipeline config, every stage at full model size (see
full_size_smoke.py)."""
import os.path as osp

import pytest
from conftest import REPO
from full_size_smoke import _check_outputs, _run_pipeline

from mmseg_cobra.datasets import generate_synthetic_voc

pytestmark = pytest.mark.slow


def test_voc_pipeline_end_to_end_at_full_size(tmp_path):
    """VOC: every stage of configs/pipeline/cobra_voc.py, SegFormer MiT-B2
    for stage 4 (the COCO run covers DeepLabV3+ R101)."""
    root = str(tmp_path / 'VOC2012')
    ids = generate_synthetic_voc(
        root,
        num_train=4,
        num_val=2,
        num_classes=20,
        image_size=(96, 128),
        seed=0)['train_aug']
    work = str(tmp_path / 'work')
    summary, out = _run_pipeline(
        osp.join(REPO, 'configs/pipeline/cobra_voc.py'), work, [
            f'dataset.data_root={root}',
            'dataset.val.mask_dir=SegmentationClassAug',
            'seg_config=configs/seg/segformer_mitb2_cobra_voc.py',
            'cfg_options.seg.model.backbone.init_cfg=None',
        ])
    assert '20 foreground classes; train 4 images' in out
    _check_outputs(work, root, ids, 20, summary)
