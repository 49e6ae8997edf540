import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_cobra.datasets import DatasetError

CLASSES = ('background', 'disc', 'square', 'triangle', 'ring')


def build(root, **kwargs):
    cfg = dict(
        type='ImageLevelSegDataset',
        data_root=root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        cls_label_file='cls_labels.npy',
        metainfo=dict(classes=CLASSES),
        pipeline=[])
    cfg.update(kwargs)
    return DATASETS.build(cfg)


@pytest.fixture
def root(synthetic_root, tmp_path):
    dst = tmp_path / 'data'
    shutil.copytree(synthetic_root, dst)
    return str(dst)


def test_labels_from_file_match_labels_from_masks(root):
    from_file = build(root)
    from_masks = build(root, cls_label_file=None)
    assert len(from_file) == 24
    for a, b in zip(from_file, from_masks):
        assert a['img_id'] == b['img_id']
        np.testing.assert_array_equal(a['gt_label'], b['gt_label'])
        assert a['gt_label'].shape == (4, ) and a['gt_label'].sum() >= 1


def test_pipeline_packs_label(root):
    ds = build(
        root,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='RandomLongSideResize', min_size=100, max_size=120),
            dict(type='RandomCrop', crop_size=(96, 96)),
            dict(type='PackWSSSInputs')
        ])
    item = ds[0]
    assert item['inputs'].shape[0] == 3
    assert max(item['inputs'].shape[1:]) <= 120
    assert item['data_samples'].gt_label.shape == (4, )
    assert item['data_samples'].img_id == ds.get_data_info(0)['img_id']


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match='dataset not found at'):
        build(str(tmp_path / 'nowhere'))


def test_image_without_label(root):
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    victim = sorted(labels)[3]
    del labels[victim]
    np.save(osp.join(root, 'cls_labels.npy'), labels)
    with pytest.raises(DatasetError, match=victim):
        build(root)


def test_label_of_wrong_length(root):
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    victim = sorted(labels)[0]
    labels[victim] = np.zeros(20, np.float32)
    np.save(osp.join(root, 'cls_labels.npy'), labels)
    with pytest.raises(DatasetError, match=f'{victim}.*20 entries'):
        build(root)


def test_missing_image(root):
    os.remove(osp.join(root, 'JPEGImages', 'syn_train_aug_00005.jpg'))
    with pytest.raises(DatasetError, match='syn_train_aug_00005.jpg'):
        build(root)


def test_missing_label_file(root):
    with pytest.raises(DatasetError, match='missing.npy'):
        build(root, cls_label_file='missing.npy')


def test_wrong_class_count_in_masks(root):
    with pytest.raises(DatasetError, match='contains class'):
        build(root, cls_label_file=None, metainfo=dict(classes=CLASSES[:2]))


def test_voc_dataset_refuses_labels_of_another_dataset(root):
    # the synthetic label file has 4 entries per image, VOC needs 20
    with pytest.raises(DatasetError, match='4 entries.*20 foreground'):
        DATASETS.build(dict(type='VOCClsDataset', data_root=root, pipeline=[]))


def test_integer_image_keys_of_irn_label_files():
    from mmseg_cobra.datasets import integer_image_key
    assert integer_image_key('2007_000032') == 2007000032
    assert integer_image_key('2011_003276') == 2011003276
    assert integer_image_key('COCO_train2014_000000000009') == 9
    assert integer_image_key('COCO_val2014_000000581929') == 581929
    assert integer_image_key('my_image') is None


@pytest.mark.parametrize('style', ['voc', 'coco'])
def test_irn_style_integer_keyed_label_file_is_accepted(root, style):
    from mmseg_cobra.datasets import integer_image_key
    list_file = osp.join(root, 'ImageSets/Segmentation/train_aug.txt')
    old_ids = open(list_file).read().split()
    by_name = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    new_ids, int_labels = [], {}
    for i, old in enumerate(old_ids):
        new = f'2007_{i:06d}' if style == 'voc' else \
            f'COCO_train2014_{i + 9:012d}'
        for sub, ext in (('JPEGImages', '.jpg'), ('SegmentationClassAug',
                                                  '.png')):
            os.rename(
                osp.join(root, sub, old + ext), osp.join(root, sub, new + ext))
        new_ids.append(new)
        # IRN's cls_labels.npy: integer keys, numpy int64 as np.save keeps
        int_labels[np.int64(integer_image_key(new))] = by_name[old]
    with open(list_file, 'w') as f:
        f.write('\n'.join(new_ids) + '\n')
    np.save(osp.join(root, 'irn_cls_labels.npy'), int_labels)
    ds = build(root, cls_label_file='irn_cls_labels.npy')
    from_masks = build(root, cls_label_file=None)
    assert len(ds) == len(new_ids)
    for a, b in zip(ds, from_masks):
        np.testing.assert_array_equal(a['gt_label'], b['gt_label'])


def test_label_vector_with_minus_one_is_refused(root):
    """Some label files mark unknown classes -1: not a multi-hot label."""
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    victim = sorted(labels)[1]
    labels[victim] = np.array([1, -1, 0, 0], np.float32)
    np.save(osp.join(root, 'cls_labels.npy'), labels)
    with pytest.raises(DatasetError, match=f'{victim} .*holds -1.*0/1'):
        build(root)
