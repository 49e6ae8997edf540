"""Key conversion of ImageNet checkpoints into the layout CoBra loads.

CoBra's backbones are mmpretrain's ``ResNet`` and ``VisionTransformer``; the
configs load mmpretrain checkpoints (keys ``backbone.*``) through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``. These functions turn
a torchvision ResNet or a timm/facebook DeiT state dict into that layout.
"""
import re
from collections import OrderedDict
from typing import Dict

from torch import Tensor


def unwrap_state_dict(state: dict) -> Dict[str, Tensor]:
    """The state dict inside a checkpoint (``state_dict`` / ``model`` /
    ``module`` keys, ``module.`` prefixes of DataParallel removed)."""
    for key in ('state_dict', 'model', 'module'):
        if key in state and isinstance(state[key], dict):
            state = state[key]
    return {
        k[7:] if k.startswith('module.') else k: v
        for k, v in state.items()
    }


def torchvision_resnet_to_mmpretrain(
        state: dict) -> 'OrderedDict[str, Tensor]':
    """torchvision ``resnet*`` keys -> mmpretrain ``ResNet`` keys.

    The layer names coincide (``conv1``, ``bn1``, ``layer1.0.conv1``,
    ``downsample.0/1`` ...); the classifier ``fc`` is dropped.

    Args:
        state (dict): torchvision state dict (or a checkpoint holding one).

    Returns:
        OrderedDict: ``backbone.``-prefixed keys.
    """
    out = OrderedDict()
    for key, value in unwrap_state_dict(state).items():
        if key.startswith('fc.'):
            continue
        if not re.match(r'(conv1|bn1|layer[1-4])\.', key):
            raise KeyError(f'unexpected key {key!r}: not a torchvision ResNet')
        out['backbone.' + key] = value
    return out


_DEIT_RULES = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
    (r'^(cls_token|pos_embed)$', r'\1'),
]


def timm_deit_to_mmpretrain(state: dict) -> 'OrderedDict[str, Tensor]':
    """timm / facebook DeiT keys -> mmpretrain ``VisionTransformer`` keys.

    The classification head (``head``, ``head_dist``) is dropped; a
    distillation token is refused (CoBra uses the non-distilled DeiT-S).

    Args:
        state (dict): timm state dict (or a checkpoint holding one).

    Returns:
        OrderedDict: ``backbone.``-prefixed keys.
    """
    out = OrderedDict()
    for key, value in unwrap_state_dict(state).items():
        if key.startswith(('head.', 'head_dist.', 'fc_norm.')):
            continue
        if key == 'dist_token':
            raise KeyError('this is a distilled DeiT (dist_token): use the '
                           'non-distilled deit_small_patch16_224 weights')
        for pattern, repl in _DEIT_RULES:
            new, n = re.subn(pattern, repl, key)
            if n:
                out['backbone.' + new] = value
                break
        else:
            raise KeyError(f'unexpected key {key!r}: not a timm DeiT/ViT')
    return out
