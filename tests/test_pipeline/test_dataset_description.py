"""One dataset description for every stage: written into each stage config,
checked against the files before anything runs."""
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO, run_tool
from mmengine.config import Config
from mmseg.registry import DATASETS

from mmseg_cobra.datasets import generate_synthetic_voc
from mmseg_cobra.pipeline import (DescriptionError, apply_description,
                                  normalise_description, validate_description)

CLASSES = ('background', 'apple', 'brick')
PALETTE = [[0, 0, 0], [200, 30, 30], [30, 200, 30]]
PIPELINE = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')


@pytest.fixture(scope='module')
def my_data(tmp_path_factory):
    """A new dataset in VOC layout: 2 classes, masks in SegmentationClass,
    label file written by labels_from_masks.py (as the datasets guide's
    "Your own dataset")."""
    root = str(tmp_path_factory.mktemp('my_data'))
    generate_synthetic_voc(
        root,
        num_train=12,
        num_val=6,
        num_classes=2,
        image_size=(96, 96),
        seed=3)
    os.rename(
        osp.join(root, 'SegmentationClassAug'),
        osp.join(root, 'SegmentationClass'))
    os.remove(osp.join(root, 'cls_labels.npy'))
    lists = osp.join(root, 'ImageSets', 'Segmentation')
    os.rename(osp.join(lists, 'train_aug.txt'), osp.join(lists, 'all.txt'))
    result = run_tool([
        sys.executable, 'tools/dataset_converters/labels_from_masks.py', root,
        '--lists', 'ImageSets/Segmentation/all.txt',
        'ImageSets/Segmentation/val.txt', '--num-classes', '2'
    ])
    assert result.returncode == 0, result.stderr
    assert 'wrote' in result.stdout and '18 images, 2 classes' in \
        result.stdout
    return root


def description(root, **changes):
    desc = dict(
        type='ImageLevelSegDataset',
        data_root=root,
        classes=CLASSES,
        palette=PALETTE,
        mask_dir='SegmentationClass',
        train=dict(ann_file='ImageSets/Segmentation/all.txt'),
        eval=dict(ann_file='ImageSets/Segmentation/train.txt'),
        val=dict(ann_file='ImageSets/Segmentation/val.txt'))
    desc.update(changes)
    return desc


def _datasets(cfg):
    out = {}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            out[key] = cfg[key]['dataset']
    if cfg.get('ir_label_dataset'):
        out['ir_label_dataset'] = cfg.ir_label_dataset
    return out


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.parametrize('role,config', [
    ('cobra', 'configs/cobra/cobra_r18_vittiny_synthetic.py'),
    ('cobra', 'configs/cobra/cobra_r152_deits_voc.py'),
    ('cobra', 'configs/cobra/cobra_r152_deits_coco.py'),
    ('irn', 'configs/irn/irn_r18_synthetic.py'),
    ('irn', 'configs/irn/irn_r152_cobra_coco.py'),
    ('seg', 'configs/seg/deeplabv3plus_r18_synthetic.py'),
    ('seg', 'configs/seg/deeplabv3plus_r101_cobra_voc.py'),
    ('seg', 'configs/seg/segformer_mitb2_cobra_coco.py'),
])
def test_description_reaches_every_dataset_and_head(my_data, role, config):
    desc = normalise_description(description(my_data))
    cfg = Config.fromfile(osp.join(REPO, config))
    before = {
        k: dict(v.get('data_prefix') or {})
        for k, v in _datasets(cfg).items()
    }
    apply_description(cfg, desc, role)
    split_of = dict(
        cobra=dict(train_dataloader='all', test_dataloader='train'),
        irn=dict(
            train_dataloader='all',
            test_dataloader='train',
            ir_label_dataset='all'),
        seg=dict(
            train_dataloader='all',
            val_dataloader='val',
            test_dataloader='val'))[role]
    for key, ds in _datasets(cfg).items():
        assert ds.data_root == my_data
        assert ds.type == 'ImageLevelSegDataset'
        assert tuple(ds.metainfo['classes']) == CLASSES
        assert ds.metainfo['palette'] == PALETTE
        assert ds.ann_file == f'ImageSets/Segmentation/{split_of[key]}.txt'
        assert ds.data_prefix['img_path'] == 'JPEGImages'
        trains_on_outputs = key == 'train_dataloader' and role in ('irn',
                                                                   'seg')
        if trains_on_outputs:  # never the ground truth
            assert ds.data_prefix['seg_map_path'] == \
                before[key]['seg_map_path']
        else:
            assert ds.data_prefix['seg_map_path'] == 'SegmentationClass'
        if ds.get('image_labels', True):
            assert ds.cls_label_file == 'cls_labels.npy'
        if not trains_on_outputs:  # every dataset builds on the new data
            built = DATASETS.build(dict(ds, pipeline=[], seed_dir=None))
            assert built.metainfo['classes'] == CLASSES
            if ds.get('image_labels', True):
                assert built[0]['gt_label'].shape == (2, )
    if role == 'cobra':
        assert cfg.model.num_classes == 2
    if role == 'seg':
        assert cfg.model.decode_head.num_classes == 3
        if cfg.model.get('auxiliary_head'):
            assert cfg.model.auxiliary_head.num_classes == 3


@pytest.mark.slow
def test_good_description_is_checked_and_counted(my_data):
    desc = normalise_description(description(my_data))
    assert validate_description(desc) == dict(train=12, eval=12, val=6)
    # VOC's classes and palette come with its dataset class
    voc = normalise_description(
        dict(
            type='VOCClsDataset',
            data_root=my_data,
            train='a.txt',
            eval='a.txt',
            val='b.txt'))
    assert len(voc['classes']) == 21 and len(voc['palette']) == 21


def _break_label_file(root, tmp):
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    np.save(
        osp.join(tmp, 'voc_labels.npy'),
        {k: np.zeros(20, np.float32)
         for k in labels})
    return dict(label_file=osp.join(tmp, 'voc_labels.npy'))


def _missing_image(root, tmp):
    lst = osp.join(tmp, 'with_missing.txt')
    shutil.copy(osp.join(root, 'ImageSets/Segmentation/all.txt'), lst)
    with open(lst, 'a') as f:
        f.write('not_there_001\n')
    return dict(train=dict(ann_file=lst))


@pytest.mark.parametrize('case,make,expected', [
    ('class count vs label file', _break_label_file,
     'holds 20-class label vectors (e.g. syn_train_aug_00000) but '
     'dataset.classes names 2 foreground classes'),
    ('list names a missing image', _missing_image, '1 of 13 images listed in'),
    ('palette shorter than the classes',
     lambda root, tmp: dict(palette=PALETTE[:2]),
     'dataset.palette has 2 colour(s) for 3 classes'),
    ('background not first',
     lambda root, tmp: dict(classes=('apple', 'brick', 'background')),
     'list the background first'),
    ('eval outside train', lambda root, tmp: dict(
        eval=dict(ann_file='ImageSets/Segmentation/val.txt')),
     'seeds and masks are made for the train images only'),
    ('val masks missing', lambda root, tmp: dict(
        val=dict(
            ann_file='ImageSets/Segmentation/val.txt', mask_dir='nowhere')),
     '6 of 6 masks of dataset.val are not in'),
])
def test_wrong_description_is_named_with_the_fix(my_data, tmp_path, case, make,
                                                 expected):
    desc = description(my_data, **make(my_data, str(tmp_path)))
    with pytest.raises(DescriptionError) as err:
        validate_description(normalise_description(desc))
    assert expected in str(err.value), str(err.value)


def test_typo_key_is_refused():
    with pytest.raises(DescriptionError, match="unknown key.*'mask_folder'"):
        normalise_description(dict(data_root='x', mask_folder='y'))


@pytest.mark.slow
def test_pipeline_stops_before_any_stage_on_a_wrong_description(
        my_data, tmp_path):
    """Through tools/run_pipeline.py: exit 1, the message, nothing run."""
    lst = _missing_image(my_data, str(tmp_path))['train']['ann_file']
    work = str(tmp_path / 'work')
    opts = [
        f'dataset.data_root={my_data}',
        'dataset.classes=[background,apple,brick]',
        'dataset.palette=[[0,0,0],[200,30,30],[30,200,30]]',
        'dataset.mask_dir=SegmentationClass', f'dataset.train.ann_file={lst}'
    ]
    result = run_tool([
        sys.executable, 'tools/run_pipeline.py', PIPELINE, '--work-dir', work,
        '--cfg-options', *opts
    ])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert 'error: dataset description: 1 of 13 images listed in' in \
        result.stderr
    assert not os.listdir(osp.join(work, '.stages'))
    assert not osp.exists(osp.join(work, 'logs'))
    # the right description: --check writes the three stage configs
    opts[-1] = 'dataset.train.ann_file=ImageSets/Segmentation/all.txt'
    result = run_tool([
        sys.executable, 'tools/run_pipeline.py', PIPELINE, '--work-dir', work,
        '--check', '--cfg-options', *opts
    ])
    assert result.returncode == 0, result.stderr
    assert '2 foreground classes; train 12 images' in result.stdout
    seg = Config.fromfile(osp.join(work, 'configs', 'seg.py'))
    assert seg.model.decode_head.num_classes == 3
    cobra = Config.fromfile(osp.join(work, 'configs', 'cobra.py'))
    assert cobra.model.num_classes == 2
    assert tuple(cobra.train_dataloader.dataset.metainfo.classes) == CLASSES


@pytest.mark.slow
def test_readme_own_dataset_example(my_data, tmp_path):
    """The config of the datasets guide's "Your own dataset", as written
    there."""
    readme = open(osp.join(REPO, 'docs/user_guides/datasets.md')).read()
    block = readme.split("cat > configs/pipeline/my_data.py <<'CFG'\n")[1]
    text = block.split('\nCFG\n')[0]
    text = text.replace("'./cobra_voc.py'",
                        repr(osp.join(REPO, 'configs/pipeline/cobra_voc.py')))
    text = text.replace("'data/my_data'", repr(my_data))
    cfg = tmp_path / 'my_data.py'
    cfg.write_text(text)
    work = str(tmp_path / 'work')
    result = run_tool([
        sys.executable, 'tools/run_pipeline.py',
        str(cfg), '--work-dir', work, '--check'
    ])
    assert result.returncode == 0, result.stderr
    assert '2 foreground classes; train 12 images' in result.stdout
    seg = Config.fromfile(osp.join(work, 'configs', 'seg.py'))
    assert seg.model.decode_head.num_classes == 3
    assert seg.model.auxiliary_head.num_classes == 3
    assert tuple(seg.val_dataloader.dataset.metainfo.classes) == ('background',
                                                                  'cat', 'dog')


@pytest.mark.slow
def test_changed_description_is_refused_after_a_finished_stage(
        my_data, tmp_path):
    work = str(tmp_path / 'work')
    opts = [
        f'dataset.data_root={my_data}',
        'dataset.classes=[background,apple,brick]',
        'dataset.palette=[[0,0,0],[200,30,30],[30,200,30]]',
        'dataset.mask_dir=SegmentationClass',
        'dataset.train.ann_file=ImageSets/Segmentation/all.txt'
    ]
    cmd = [
        sys.executable, 'tools/run_pipeline.py', PIPELINE, '--work-dir', work,
        '--check', '--cfg-options'
    ]
    assert run_tool(cmd + opts).returncode == 0
    # before any stage has finished a new description just replaces it
    opts[1] = 'dataset.classes=[background,pear,brick]'
    assert run_tool(cmd + opts).returncode == 0
    with open(osp.join(work, '.stages', 'classifier.json'), 'w') as f:
        f.write('{"seconds": 1}')
    assert run_tool(cmd + opts).returncode == 0  # same description
    opts[1] = 'dataset.classes=[background,apple,brick]'
    result = run_tool(cmd + opts)
    assert result.returncode == 1
    assert 'the dataset description changed since stages classifier were ' \
        'run in' in result.stderr
    assert '(dataset.classes; recorded in' in result.stderr
    assert 'Use another --work-dir' in result.stderr
