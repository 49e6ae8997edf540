"""Reference checkpoints -> CoBra / IRNBoundary: every key converted, aliases
checked, wrong files refused by name; the result loads strictly into the
full-size models of the VOC configs."""
import json
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS
from parity.reference_weights import (manifest_from_state_dict,
                                      random_reference_state)

from mmseg_cobra.models.converters import reference_checkpoints as refckpt

ReferenceCheckpointError = refckpt.ReferenceCheckpointError
reference_cobra_to_cobra = refckpt.reference_cobra_to_cobra
reference_irn_to_irn = refckpt.reference_irn_to_irn
reference_kind = refckpt.reference_kind

MANIFEST = osp.join(REPO, 'tests/data/reference_parity/manifest.json')
COBRA_CONFIG = osp.join(REPO, 'configs/cobra/cobra_r152_deits_voc.py')
IRN_CONFIG = osp.join(REPO, 'configs/irn/irn_r152_cobra_voc.py')


@pytest.fixture(scope='module')
def manifest():
    with open(MANIFEST) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def reference_states(manifest):
    return {
        kind: random_reference_state(manifest[kind], seed)
        for seed, kind in enumerate(('cnn', 'vit', 'irn'))
    }


def _full_size(config):
    cfg = Config.fromfile(config)
    for key in ('cnn_backbone', 'vit_backbone', 'backbone'):
        if key in cfg.model:
            cfg.model[key].init_cfg = None
    return MODELS.build(cfg.model)


def test_manifest_describes_the_reference_files(manifest):
    cnn = {k: (s, a) for k, s, a in manifest['cnn']}
    assert cnn['classifier.weight'] == ([21, 2048, 1, 1], None)
    assert cnn['embed.weight'] == ([256, 2048, 1, 1], None)
    assert cnn['stage1.0.weight'] == ([64, 3, 7, 7], 'resnet50.conv1.weight')
    assert cnn['newly_added.0.weight'][1] == 'classifier.weight'
    # ResNet-152: 3 + 8 + 36 + 3 bottlenecks
    assert sum(
        1 for k in cnn
        if k.endswith('.conv3.weight') and k.startswith('resnet50.')) == 50
    vit = {k: s for k, s, _ in manifest['vit']}
    assert vit['head.weight'] == [21, 384, 3, 3]
    assert vit['pos_embed'] == [1, 197, 384]
    assert sum(1 for k in vit if k.endswith('attn.qkv.weight')) == 12
    irn = {k: (s, a) for k, s, a in manifest['irn']}
    assert irn['fc_edge6.weight'] == ([1, 160, 1, 1], None)
    assert irn['fc_dp7.4.running_mean'][1] == 'mean_shift.running_mean'


def test_random_reference_state_is_deterministic_and_shares_aliases(manifest):
    a = random_reference_state(manifest['cnn'], 3)
    b = random_reference_state(manifest['cnn'], 3)
    c = random_reference_state(manifest['cnn'], 4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a['classifier.weight'], c['classifier.weight'])
    assert a['stage1.0.weight'] is a['resnet50.conv1.weight']
    rows = manifest_from_state_dict(a)
    assert [list(r) for r in rows] == manifest['cnn']


def test_cobra_conversion_loads_strictly_into_the_full_size_model(
        reference_states):
    state = reference_cobra_to_cobra(reference_states['cnn'],
                                     reference_states['vit'])
    model = _full_size(COBRA_CONFIG)
    assert set(state) == set(model.state_dict())
    model.load_state_dict(state, strict=True)
    ref_cnn, ref_vit = reference_states['cnn'], reference_states['vit']
    assert torch.equal(model.cnn.layer3[35].conv2.weight,
                       ref_cnn['resnet50.layer3.35.conv2.weight'])
    assert torch.equal(model.cnn_cam_head.weight, ref_cnn['classifier.weight'])
    assert torch.equal(model.cnn_proj_head.weight, ref_cnn['embed.weight'])
    assert torch.equal(model.vit.layers[11].ffn.layers[1].weight,
                       ref_vit['blocks.11.mlp.fc2.weight'])
    assert torch.equal(model.vit.layers[0].attn.qkv.bias,
                       ref_vit['blocks.0.attn.qkv.bias'])
    assert torch.equal(model.vit_cam_head.bias, ref_vit['head.bias'])
    assert torch.equal(model.vit_proj_head.weight, ref_vit['embed.weight'])
    assert torch.equal(model.vit.ln1.weight, ref_vit['norm.weight'])


def test_irn_conversion_loads_strictly_and_drops_unused_buffers(
        reference_states):
    state = dict(reference_states['irn'])
    # IRN's training step saves its loss module: path indices, disp target
    state['path_indices0'] = torch.zeros(3, 4, dtype=torch.long)
    state['disp_target'] = torch.zeros(1, 2, 10, 10)
    converted = reference_irn_to_irn(dict(state_dict=state))
    model = _full_size(IRN_CONFIG)
    assert set(converted) == set(model.state_dict())
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.boundary_convs[4][0].weight,
                       state['fc_edge5.0.weight'])
    assert torch.equal(model.boundary_head.bias, state['fc_edge6.bias'])
    assert torch.equal(model.disp_head[0][1].weight, state['fc_dp7.1.weight'])
    assert torch.equal(model.disp_head[1].weight, state['fc_dp7.3.weight'])
    assert torch.equal(model.disp_context[0].weight, state['fc_dp6.0.weight'])
    assert torch.equal(model.backbone.layer4[2].bn3.running_var,
                       state['resnet50.layer4.2.bn3.running_var'])
    no_disp = reference_irn_to_irn(state, with_displacement=False)
    assert not any(k.startswith('disp_') for k in no_disp)


def test_wrong_files_are_refused_by_name(reference_states):
    cnn, vit, irn = (reference_states[k] for k in ('cnn', 'vit', 'irn'))
    assert (reference_kind(cnn), reference_kind(vit),
            reference_kind(irn)) == ('cnn', 'vit', 'irn')
    with pytest.raises(
            ReferenceCheckpointError,
            match=r'tran\.pth.*should be the ViT.*it is the CNN'):
        reference_cobra_to_cobra(cnn, cnn, 'cnn.pth', 'tran.pth')
    with pytest.raises(
            ReferenceCheckpointError,
            match=r'cnn\.pth should be the CNN.*it is the ViT'):
        reference_cobra_to_cobra(vit, vit, 'cnn.pth', 'tran.pth')
    with pytest.raises(
            ReferenceCheckpointError,
            match=r'x\.pth should be an IRN.*it is the CNN'):
        reference_irn_to_irn(cnn, 'x.pth')
    with pytest.raises(ReferenceCheckpointError, match='should be the CNN'):
        reference_cobra_to_cobra(irn, vit)
    bad_alias = dict(cnn)
    bad_alias['stage1.0.weight'] = torch.zeros_like(
        bad_alias['stage1.0.weight'])
    with pytest.raises(
            ReferenceCheckpointError,
            match="'stage1.0.weight' should be the same tensor as "
            "'resnet50.conv1.weight'"):
        reference_cobra_to_cobra(bad_alias, vit)
    extra = dict(vit, **{'dist_token': torch.zeros(1, 1, 384)})
    with pytest.raises(ReferenceCheckpointError, match='dist_token'):
        reference_cobra_to_cobra(cnn, extra)
    unknown = dict(cnn, **{'fc.weight': torch.zeros(2, 2)})
    with pytest.raises(ReferenceCheckpointError, match="'fc.weight'"):
        reference_cobra_to_cobra(unknown, vit)
    coco_vit = dict(vit)
    coco_vit['head.weight'] = torch.zeros(81, 384, 3, 3)
    coco_vit['head.bias'] = torch.zeros(81)
    with pytest.raises(
            ReferenceCheckpointError, match='21 CAM channels but .* has 81'):
        reference_cobra_to_cobra(cnn, coco_vit)
