"""The reference implementation's checkpoints in this project's layout.

The authors publish their stage-1 weights as two state dicts:

- ``ep19_cnn_checkpoint.pth``, the CNN branch (IRN-style ``resnet50_cam.Net``
  with a ResNet-152): ``resnet50.*`` (torchvision ResNet names),
  ``classifier.weight`` ``[C+1, 2048, 1, 1]``, ``embed.weight``
  ``[256, 2048, 1, 1]``, and alias keys that share those tensors
  (``stage1..4.*``, ``backbone.N.*``, ``newly_added.0.*``);
- ``ep19_tran_checkpoint.pth``, the ViT branch (TS-CAM's DeiT-S, timm names):
  ``patch_embed.proj``, ``blocks.i.{norm1,attn,norm2,mlp}``, ``norm``,
  ``cls_token``, ``pos_embed``, ``head.*`` (3x3 conv to ``C+1`` channels, with
  bias) and ``embed.weight`` ``[256, 384, 1, 1]``.

Their IRN (IRN's ``resnet50_irn``, a ResNet-152 in CoBra) has ``resnet50.*``,
``fc_edge1..6`` (boundary branch), ``fc_dp1..7`` (displacement branch;
``fc_dp7.4.running_mean`` / ``mean_shift.running_mean`` is a test-time
MeanShift buffer), alias keys ``stage1..5.*``, ``backbone.*``,
``edge_layers.*``, ``dp_layers.*``, and, in a file saved by IRN's training
step, the loss module's ``path_indices*`` and ``disp_target`` buffers.

:func:`reference_cobra_to_cobra` and :func:`reference_irn_to_irn` turn them
into
state dicts of :class:`~mmseg_cobra.models.CoBra` and
:class:`~mmseg_cobra.models.IRNBoundary`; every key of the input is either
converted, recognised as an alias (and checked to equal its original) or
recognised as a buffer this project does not use, and anything else is
refused by name.
"""
import re
from collections import OrderedDict
from typing import Optional

import torch
from torch import Tensor

from ...utils.errors import UserError
from .weight_conversion import timm_deit_to_mmpretrain, unwrap_state_dict


class ReferenceCheckpointError(UserError, ValueError):
    """A file is not the reference checkpoint it was given as."""


#: what each reference file is recognised by (key, description)
_SIGNATURES = {
    'cnn': ('classifier.weight', 'the CNN branch (ep19_cnn_checkpoint.pth)'),
    'vit':
    ('patch_embed.proj.weight', 'the ViT branch (ep19_tran_checkpoint.pth)'),
    'irn': ('fc_edge6.weight', 'an IRN checkpoint (fc_edge*/fc_dp* keys)'),
}


def reference_kind(state: dict) -> Optional[str]:
    """``'cnn'``, ``'vit'``, ``'irn'`` or None for a reference state dict."""
    for kind, (key, _) in _SIGNATURES.items():
        if key in state:
            if kind == 'cnn' and 'fc_edge6.weight' in state:
                continue
            return kind
    return None


def _expect(state: dict, kind: str, filename: str) -> None:
    found = reference_kind(state)
    if found == kind:
        return
    what = _SIGNATURES[found][1] if found else (
        'neither reference checkpoint (keys such as '
        f'{sorted(state)[:3]})')
    raise ReferenceCheckpointError(
        f'{filename} should be {_SIGNATURES[kind][1]} but it is {what}: '
        'check which file goes to which argument')


def _check_alias(state: dict, alias: str, original: str,
                 filename: str) -> None:
    if original not in state:
        raise ReferenceCheckpointError(
            f'{filename}: alias key {alias!r} has no original {original!r}')
    if state[alias].shape != state[original].shape or not torch.equal(
            state[alias], state[original]):
        raise ReferenceCheckpointError(
            f'{filename}: {alias!r} should be the same tensor as '
            f'{original!r} but differs')


def _resnet_key(key: str) -> bool:
    return re.match(r'(conv1|bn1|layer[1-4])\.', key) is not None


# --------------------------------------------------------------------------
# CoBra (stage 1)
# --------------------------------------------------------------------------
#: reference CNN alias prefixes -> the ``resnet50.`` prefix they share
_CNN_ALIASES = [
    (r'^stage1\.0\.', 'resnet50.conv1.'),
    (r'^stage1\.1\.', 'resnet50.bn1.'),
    (r'^stage1\.4\.', 'resnet50.layer1.'),
    (r'^stage([2-4])\.0\.', None),  # layer{n}
    (r'^backbone\.0\.0\.', 'resnet50.conv1.'),
    (r'^backbone\.0\.1\.', 'resnet50.bn1.'),
    (r'^backbone\.0\.4\.', 'resnet50.layer1.'),
    (r'^backbone\.([1-3])\.0\.', None),  # layer{n+1}
    (r'^newly_added\.0\.', 'classifier.'),
]


def _cnn_alias_original(key: str) -> Optional[str]:
    for pattern, target in _CNN_ALIASES:
        match = re.match(pattern, key)
        if not match:
            continue
        if target is None:
            n = int(match.group(1))
            n = n if pattern.startswith('^stage') else n + 1
            target = f'resnet50.layer{n}.'
        return target + key[match.end():]
    return None


def reference_cobra_to_cobra(
        cnn_state: dict,
        vit_state: dict,
        cnn_file: str = 'CNN checkpoint',
        vit_file: str = 'ViT checkpoint') -> 'OrderedDict[str, Tensor]':
    """The two reference stage-1 state dicts -> one ``CoBra`` state dict.

    Args:
        cnn_state (dict): The CNN branch (``ep19_cnn_checkpoint.pth``).
        vit_state (dict): The ViT branch (``ep19_tran_checkpoint.pth``).
        cnn_file (str): Its file name, for messages.
        vit_file (str): Its file name, for messages.

    Returns:
        OrderedDict: keys ``cnn.*``, ``cnn_cam_head.weight``,
        ``cnn_proj_head.weight``, ``vit.*``, ``vit_cam_head.{weight,bias}``,
        ``vit_proj_head.weight``.

    Raises:
        ReferenceCheckpointError: a file of the other kind, an alias that
            differs from its original, or a key of no known role.
    """
    cnn_state = unwrap_state_dict(cnn_state)
    vit_state = unwrap_state_dict(vit_state)
    _expect(cnn_state, 'cnn', cnn_file)
    _expect(vit_state, 'vit', vit_file)
    out = _convert_cnn_branch(cnn_state, cnn_file)
    out.update(_convert_vit_branch(vit_state, vit_file))
    for key in ('cnn_cam_head.weight', 'cnn_proj_head.weight',
                'vit_cam_head.weight', 'vit_proj_head.weight'):
        if key not in out:
            raise ReferenceCheckpointError(
                f'{cnn_file if key.startswith("cnn") else vit_file} lacks '
                f'the weights of {key.split(".")[0]}')
    cams = out['cnn_cam_head.weight'].shape[0], out[
        'vit_cam_head.weight'].shape[0]
    if cams[0] != cams[1]:
        raise ReferenceCheckpointError(
            f'{cnn_file} has {cams[0]} CAM channels but {vit_file} has '
            f'{cams[1]}: the two branches come from different runs')
    return out


def _convert_cnn_branch(cnn_state: dict,
                        cnn_file: str) -> 'OrderedDict[str, Tensor]':
    """``cnn.*``, ``cnn_cam_head`` and ``cnn_proj_head`` from the reference
    CNN branch; its alias keys are checked against their originals."""
    out = OrderedDict()
    for key, value in cnn_state.items():
        if key.startswith('resnet50.'):
            if not _resnet_key(key[9:]):
                raise ReferenceCheckpointError(
                    f'{cnn_file}: unexpected key {key!r}')
            out['cnn.' + key[9:]] = value
        elif key == 'classifier.weight':
            out['cnn_cam_head.weight'] = value
        elif key == 'embed.weight':
            out['cnn_proj_head.weight'] = value
        else:
            original = _cnn_alias_original(key)
            if original is None:
                raise ReferenceCheckpointError(
                    f'{cnn_file}: unexpected key {key!r} (not a reference '
                    'CNN-branch key)')
            _check_alias(cnn_state, key, original, cnn_file)
    return out


def _convert_vit_branch(vit_state: dict,
                        vit_file: str) -> 'OrderedDict[str, Tensor]':
    """``vit.*`` (timm DeiT names -> mmpretrain's), ``vit_cam_head`` and
    ``vit_proj_head`` from the reference ViT branch."""
    out = OrderedDict()
    timm_keys = {}
    for key, value in vit_state.items():
        if key in ('head.weight', 'head.bias'):
            out['vit_cam_head.' + key[5:]] = value
        elif key == 'embed.weight':
            out['vit_proj_head.weight'] = value
        else:
            timm_keys[key] = value
    try:
        backbone = timm_deit_to_mmpretrain(timm_keys)
    except KeyError as exc:
        raise ReferenceCheckpointError(f'{vit_file}: {exc.args[0]}') from exc
    for key, value in backbone.items():
        out['vit.' + key[len('backbone.'):]] = value
    return out


# --------------------------------------------------------------------------
# IRN (stage 3)
# --------------------------------------------------------------------------
#: IRN branch prefixes -> IRNBoundary prefixes
_IRN_BRANCHES = [
    (r'^fc_edge([1-5])\.', lambda m: f'boundary_convs.{int(m.group(1)) - 1}.'),
    (r'^fc_edge6\.', lambda m: 'boundary_head.'),
    (r'^fc_dp([12])\.', lambda m: f'disp_fine.{int(m.group(1)) - 1}.'),
    (r'^fc_dp([3-5])\.', lambda m: f'disp_coarse.{int(m.group(1)) - 3}.'),
    (r'^fc_dp6\.', lambda m: 'disp_context.'),
    (r'^fc_dp7\.([01])\.', lambda m: f'disp_head.0.{m.group(1)}.'),
    (r'^fc_dp7\.3\.', lambda m: 'disp_head.1.'),
]

#: IRN alias prefixes -> originals
_IRN_ALIASES = [
    (r'^stage1\.0\.', 'resnet50.conv1.'),
    (r'^stage1\.1\.', 'resnet50.bn1.'),
    (r'^stage([2-5])\.0\.', None),  # layer{n-1}
    (r'^backbone\.0\.0\.', 'resnet50.conv1.'),
    (r'^backbone\.0\.1\.', 'resnet50.bn1.'),
    (r'^backbone\.([1-4])\.0\.', None),  # layer{n}
    (r'^edge_layers\.([0-5])\.', 'fc_edge'),
    (r'^dp_layers\.([0-6])\.', 'fc_dp'),
]

#: buffers of IRN's files that the boundary network does not use
_IRN_UNUSED = re.compile(r'^(fc_dp7\.4\.running_mean|mean_shift\.running_mean'
                         r'|path_indices\d+|disp_target)$')


def _irn_alias_original(key: str) -> Optional[str]:
    for pattern, target in _IRN_ALIASES:
        match = re.match(pattern, key)
        if not match:
            continue
        rest = key[match.end():]
        if target in ('fc_edge', 'fc_dp'):
            return f'{target}{int(match.group(1)) + 1}.{rest}'
        if target is None:
            n = int(match.group(1))
            n = n - 1 if pattern.startswith('^stage') else n
            target = f'resnet50.layer{n}.'
        return target + rest
    return None


def reference_irn_to_irn(
        state: dict,
        filename: str = 'IRN checkpoint',
        with_displacement: bool = True) -> 'OrderedDict[str, Tensor]':
    """An IRN / reference IRN state dict -> an ``IRNBoundary`` state dict.

    Args:
        state (dict): IRN's ``resnet50_irn`` state dict (ResNet-50 in IRN,
            ResNet-152 in the reference), or the training step's file.
        filename (str): For messages.
        with_displacement (bool): Keep the displacement branch (False for an
            ``IRNBoundary(with_displacement=False)``).

    Returns:
        OrderedDict: keys ``backbone.*``, ``boundary_convs.*``,
        ``boundary_head.*`` and, with the displacement branch,
        ``disp_fine.*``, ``disp_coarse.*``, ``disp_context.*``,
        ``disp_head.*``. The MeanShift buffer and the training loss's
        ``path_indices*`` / ``disp_target`` buffers are dropped.
    """
    state = unwrap_state_dict(state)
    _expect(state, 'irn', filename)
    out = OrderedDict()
    for key, value in state.items():
        if _IRN_UNUSED.match(key):
            continue
        if key.startswith('resnet50.'):
            if not _resnet_key(key[9:]):
                raise ReferenceCheckpointError(
                    f'{filename}: unexpected key {key!r}')
            out['backbone.' + key[9:]] = value
            continue
        for pattern, target in _IRN_BRANCHES:
            match = re.match(pattern, key)
            if match:
                new = target(match) + key[match.end():]
                if with_displacement or not new.startswith('disp_'):
                    out[new] = value
                break
        else:
            original = _irn_alias_original(key)
            if original is None:
                raise ReferenceCheckpointError(
                    f'{filename}: unexpected key {key!r} (not an IRN key)')
            if not _IRN_UNUSED.match(original):
                _check_alias(state, key, original, filename)
    return out


__all__ = [
    'ReferenceCheckpointError', 'reference_cobra_to_cobra',
    'reference_irn_to_irn', 'reference_kind'
]
