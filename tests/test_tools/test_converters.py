"""Dataset and weight converters on files the tests write."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import TINY_CONFIG, run_tool
from PIL import Image

pytestmark = pytest.mark.slow


def _write_voc(root):
    voc = osp.join(root, 'VOC2012')
    sbd = osp.join(root, 'sbd')
    for d in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(voc, d))
    os.makedirs(osp.join(sbd, 'cls'))
    from scipy.io import savemat
    masks = {
        'a': np.array([[0, 1], [1, 255]], np.uint8),  # VOC train
        'b': np.array([[0, 3], [15, 0]], np.uint8),  # VOC val
        'c': np.array([[0, 0], [0, 20]], np.uint8),  # SBD only
        'd': np.array([[2, 2], [0, 0]], np.uint8),  # SBD only
    }
    for name, m in masks.items():
        Image.fromarray(np.zeros(
            (2, 2, 3),
            np.uint8)).save(osp.join(voc, 'JPEGImages', name + '.jpg'))
        if name in 'ab':
            Image.fromarray(m).save(
                osp.join(voc, 'SegmentationClass', name + '.png'))
        savemat(
            osp.join(sbd, 'cls', name + '.mat'),
            {'GTcls': {
                'Segmentation': m
            }})
    with open(osp.join(voc, 'ImageSets/Segmentation/train.txt'), 'w') as f:
        f.write('a\n')
    with open(osp.join(voc, 'ImageSets/Segmentation/val.txt'), 'w') as f:
        f.write('b\n')
    with open(osp.join(sbd, 'train.txt'), 'w') as f:
        f.write('c\nb\n')  # b is VOC val: must not enter train_aug
    with open(osp.join(sbd, 'val.txt'), 'w') as f:
        f.write('d\n')
    return voc, sbd, masks


def test_voc_aug(tmp_path):
    voc, sbd, masks = _write_voc(str(tmp_path))
    result = run_tool([
        sys.executable, 'tools/dataset_converters/voc_aug.py', voc,
        '--sbd-root', sbd, '--nproc', '1'
    ])
    assert result.returncode == 0, result.stderr
    with open(osp.join(voc, 'ImageSets/Segmentation/train_aug.txt')) as f:
        assert f.read().split() == ['a', 'c', 'd']
    for name, m in masks.items():
        png = np.asarray(
            Image.open(osp.join(voc, 'SegmentationClassAug', name + '.png')))
        np.testing.assert_array_equal(png, m)
    labels = np.load(osp.join(voc, 'cls_labels.npy'), allow_pickle=True).item()
    assert sorted(labels) == ['a', 'b', 'c', 'd']
    assert labels['b'].nonzero()[0].tolist() == [2, 14]
    assert labels['c'].nonzero()[0].tolist() == [19]


def test_coco2014(tmp_path):
    pytest.importorskip('pycocotools')
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'annotations'))
    cats = [dict(id=i + 1 + (i // 10), name=f'c{i}') for i in range(80)]
    images = [
        dict(
            id=1,
            file_name='COCO_val2014_000000000001.jpg',
            height=20,
            width=20),
        dict(
            id=2,
            file_name='COCO_val2014_000000000002.jpg',
            height=20,
            width=20)
    ]
    big = [0, 0, 19, 0, 19, 19, 0, 19]
    small = [2, 2, 8, 2, 8, 8, 2, 8]
    anns = [
        dict(
            id=1,
            image_id=1,
            category_id=cats[0]['id'],
            iscrowd=0,
            area=361,
            segmentation=[big],
            bbox=[0, 0, 19, 19]),
        dict(
            id=2,
            image_id=1,
            category_id=cats[79]['id'],
            iscrowd=0,
            area=36,
            segmentation=[small],
            bbox=[2, 2, 6, 6]),
    ]
    with open(osp.join(root, 'annotations/instances_val2014.json'), 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    result = run_tool([
        sys.executable, 'tools/dataset_converters/coco2014.py', root,
        '--splits', 'val', '--nproc', '1'
    ])
    assert result.returncode == 0, result.stderr
    name = 'COCO_val2014_000000000001'
    mask = np.asarray(
        Image.open(osp.join(root, 'mask/val2014', name + '.png')))
    assert mask[5, 5] == 80 and mask[15, 15] == 1  # small object on top
    labels = np.load(
        osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    assert list(labels) == [name]  # image 2 has no object
    assert labels[name].nonzero()[0].tolist() == [0, 79]
    with open(osp.join(root, 'val.txt')) as f:
        assert f.read().split() == [name]


def _timm_deit_state(embed, layers, hidden, num_patches):
    state = {
        'cls_token': torch.zeros(1, 1, embed),
        'pos_embed': torch.zeros(1, num_patches + 1, embed),
        'patch_embed.proj.weight': torch.zeros(embed, 3, 16, 16),
        'patch_embed.proj.bias': torch.zeros(embed),
        'norm.weight': torch.ones(embed),
        'norm.bias': torch.zeros(embed),
        'head.weight': torch.zeros(1000, embed),
        'head.bias': torch.zeros(1000)
    }
    for i in range(layers):
        p = f'blocks.{i}.'
        for n in ('norm1', 'norm2'):
            state[p + n + '.weight'] = torch.ones(embed)
            state[p + n + '.bias'] = torch.zeros(embed)
        state[p + 'attn.qkv.weight'] = torch.zeros(3 * embed, embed)
        state[p + 'attn.qkv.bias'] = torch.zeros(3 * embed)
        state[p + 'attn.proj.weight'] = torch.zeros(embed, embed)
        state[p + 'attn.proj.bias'] = torch.zeros(embed)
        state[p + 'mlp.fc1.weight'] = torch.zeros(hidden, embed)
        state[p + 'mlp.fc1.bias'] = torch.zeros(hidden)
        state[p + 'mlp.fc2.weight'] = torch.zeros(embed, hidden)
        state[p + 'mlp.fc2.bias'] = torch.zeros(embed)
    return state


def test_weight_conversion_loads_without_missing_keys(tmp_path):
    import torchvision
    from mmengine.config import Config
    from mmseg.registry import MODELS

    resnet_src = tmp_path / 'resnet18_torchvision.pth'
    torch.save(torchvision.models.resnet18().state_dict(), resnet_src)
    deit_src = tmp_path / 'deit_timm.pth'
    torch.save({'model': _timm_deit_state(96, 2, 192, 64)}, deit_src)
    outputs = {}
    for kind, src in (('resnet', resnet_src), ('deit', deit_src)):
        dst = str(tmp_path / f'{kind}_mm.pth')
        result = run_tool([
            sys.executable, 'tools/model_converters/convert_pretrained.py',
            kind,
            str(src), dst
        ])
        assert result.returncode == 0, result.stderr
        outputs[kind] = dst

    cfg = Config.fromfile(TINY_CONFIG)
    model = MODELS.build(cfg.model)
    for kind, module in (('resnet', model.cnn), ('deit', model.vit)):
        state = torch.load(outputs[kind], weights_only=True)['state_dict']
        state = {k[len('backbone.'):]: v for k, v in state.items()}
        missing, unexpected = module.load_state_dict(state, strict=False)
        assert not missing and not unexpected, (kind, missing, unexpected)

    # and through the configs' init_cfg path (Pretrained, prefix backbone.)
    cfg.model.cnn_backbone.init_cfg = dict(
        type='Pretrained', checkpoint=outputs['resnet'], prefix='backbone.')
    cfg.model.vit_backbone.init_cfg = dict(
        type='Pretrained', checkpoint=outputs['deit'], prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert torch.equal(model.vit.cls_token, torch.zeros(1, 1, 96))
