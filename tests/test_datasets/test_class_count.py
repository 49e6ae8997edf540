"""The model's class count against its datasets', before anything runs."""
import glob
import os.path as osp
import sys

import pytest
from conftest import REPO, TINY_CONFIG, run_tool
from mmengine.config import Config

from mmseg_cobra.datasets import DatasetError
from mmseg_cobra.datasets.dataset_tools import check_class_count

STAGE_CONFIGS = sorted(
    p for sub in ('cobra', 'irn', 'seg')
    for p in glob.glob(osp.join(REPO, 'configs', sub, '*.py')))


@pytest.mark.parametrize(
    'path', STAGE_CONFIGS, ids=[osp.basename(p) for p in STAGE_CONFIGS])
def test_every_shipped_config_agrees_with_its_datasets(path):
    check_class_count(Config.fromfile(path), path)


def test_classifier_with_another_class_count():
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.num_classes = 7
    with pytest.raises(DatasetError) as info:
        check_class_count(cfg, 'tiny.py')
    message = str(info.value)
    assert message.startswith('tiny.py: model.num_classes = 7 but the '
                              'dataset of train_dataloader has 4 foreground '
                              'classes')
    assert 'set model.num_classes=4' in message


def test_segmentation_head_counts_the_background():
    path = osp.join(REPO, 'configs/seg/deeplabv3plus_r18_synthetic.py')
    cfg = Config.fromfile(path)
    cfg.model.decode_head.num_classes = 4  # the foreground count: wrong
    with pytest.raises(
            DatasetError,
            match=r'model.decode_head.num_classes '
            r'= 4 but .* has 5 classes with the background'):
        check_class_count(cfg, path)


@pytest.mark.slow
def test_train_refuses_before_building_anything(tmp_path):
    work = tmp_path / 'work'
    result = run_tool([
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir',
        str(work), '--cfg-options', 'model.num_classes=7'
    ])
    assert result.returncode == 1
    assert 'model.num_classes = 7 but the dataset of train_dataloader has 4'\
        in result.stderr
    assert not work.exists()


def test_metainfo_over_the_type_and_wrappers():
    """The one reading of a dataset config's classes and palette: its
    ``metainfo``, else its type's ``METAINFO``, through dataset wrappers."""
    from mmseg_cobra.datasets import VOC_CLASSES
    from mmseg_cobra.datasets.dataset_tools import (dataset_metainfo,
                                                    type_metainfo)
    voc = dataset_metainfo(dict(type='VOCClsDataset'))
    assert tuple(voc['classes']) == tuple(VOC_CLASSES) and voc['palette']
    given = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(
            type='VOCClsDataset',
            metainfo=dict(classes=('background', 'cat'))))
    meta = dataset_metainfo(given)
    assert meta['classes'] == ('background', 'cat')
    assert meta['palette'] == voc['palette']  # not given: the type's
    assert dataset_metainfo(dict(type='ImageLevelSegDataset')) == {}
    assert type_metainfo('NoSuchDataset') is None
