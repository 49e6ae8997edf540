"""From random-walk maps to pseudo masks, and the stride-4 grid geometry.

IRN's boundary map lives on the stride-4 grid of the image padded to the
backbone's output stride: cell ``(i, j)`` covers pixels ``4i..4i+3`` and
``4j..4j+3``; an ``H x W`` image has ``ceil(H/4) x ceil(W/4)`` cells. Seeds
are walked on that grid (the seed stage sums each scale's maps there, as
the reference; :func:`seeds_to_grid` puts image-size seeds on it) and come
back to the image (:func:`grid_to_image`): resized straight to the image
size, as the reference (``'resize'``), or by an exact x4 upsampling cropped
to the image, as IRN's ``make_sem_seg_labels`` (``'stride'``).

Two rules turn the walked maps of an image's ``K`` positive classes into a
label map (0 background, ``k + 1`` for the k-th map):

- :func:`irn_mask_rule` (IRN): divide by the global maximum, background
  score ``bg_threshold`` (0.25), argmax;
- :func:`reference_mask_rule` (the reference implementation, behind the
  CoBra paper's VOC train mask mIoU): per class keep only values
  ``>= theta * max_c + min_c`` (theta 0.31), background score 0, argmax;
  the reference then runs a dense CRF on the labels.
"""
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...ops.crf import FINAL_CRF_CFG, crf_from_labels
from ...structures import IGNORE_INDEX

#: The mask rules :class:`~mmseg_cobra.models.IRNBoundary` knows.
MASK_RULES = ('reference', 'irn')
#: How walked grid maps come back to the image (:func:`grid_to_image`).
WALK_UPSAMPLING = ('resize', 'stride')


def grid_size(size: Sequence[int], stride: int = 4) -> Tuple[int, int]:
    """``(ceil(H / stride), ceil(W / stride))``."""
    return tuple(int(math.ceil(s / stride)) for s in size)


def seeds_to_grid(cams: Tensor, stride: int = 4) -> Tensor:
    """Image-size maps ``[K, H, W]`` -> the stride grid ``[K, h, w]``.

    The maps are padded (edge values) to a multiple of ``stride`` and
    resized by exactly ``1 / stride`` (bilinear, ``align_corners=False``),
    so cell ``(i, j)`` samples the centre of its ``stride x stride`` block.
    """
    k, height, width = cams.shape
    h, w = grid_size((height, width), stride)
    pad = (0, w * stride - width, 0, h * stride - height)
    padded = F.pad(cams[None], pad, mode='replicate') if any(pad) else \
        cams[None]
    return F.interpolate(
        padded,
        scale_factor=1.0 / stride,
        mode='bilinear',
        align_corners=False,
        recompute_scale_factor=False)[0, :, :h, :w]


def grid_to_image(maps: Tensor,
                  size: Sequence[int],
                  stride: int = 4,
                  mode: str = 'resize') -> Tensor:
    """Grid maps ``[K, h, w]`` -> ``[K, H, W]`` (bilinear).

    ``'resize'`` (the reference): resized straight to ``(H, W)``;
    ``'stride'`` (IRN): upsampled by exactly ``stride`` and cropped to the
    image, which keeps every cell on its own ``stride x stride`` block (the
    two differ by up to 3 pixels at the bottom/right edge).
    """
    if mode == 'resize':
        return F.interpolate(
            maps[None], size=tuple(size), mode='bilinear',
            align_corners=False)[0]
    if mode != 'stride':
        raise ValueError(f'unknown walk upsampling {mode!r}; choose from '
                         f'{WALK_UPSAMPLING}')
    up = F.interpolate(
        maps[None],
        scale_factor=stride,
        mode='bilinear',
        align_corners=False,
        recompute_scale_factor=False)[0]
    return up[:, :size[0], :size[1]]


def irn_mask_rule(walked: Tensor, bg_threshold: float = 0.25) -> Tensor:
    """IRN's rule: ``argmax([bg_threshold, walked / max(walked)])``.

    Args:
        walked (Tensor): ``[K, H, W]`` walked maps of the positive classes.
        bg_threshold (float): Background score on the max-normalised maps.

    Returns:
        Tensor: long ``[H, W]``, 0 background, ``k + 1`` for map k.
    """
    scores = walked / walked.max().clamp_min(1e-5)
    return torch.cat(
        [scores.new_full((1, *scores.shape[1:]), bg_threshold),
         scores]).argmax(dim=0)


def reference_mask_rule(walked: Tensor, theta: float = 0.31) -> Tensor:
    """The reference's rule: per-class threshold, background score 0.

    Values of class ``c`` below ``theta * max_c + min_c`` (max and min over
    that class's map) are set to 0; the label is the argmax with a
    background score of 0 (ties go to background).

    Args:
        walked (Tensor): ``[K, H, W]`` walked maps (any positive scale).
        theta (float): Fraction of each class's maximum (0.31).

    Returns:
        Tensor: long ``[H, W]``, 0 background, ``k + 1`` for map k.
    """
    flat = walked.flatten(1)
    threshold = theta * flat.max(dim=1).values + flat.min(dim=1).values
    kept = torch.where(walked >= threshold[:, None, None], walked,
                       torch.zeros_like(walked))
    return torch.cat([walked.new_zeros((1, *walked.shape[1:])),
                      kept]).argmax(dim=0)


def apply_mask_rule(walked: Tensor, rule: str, value: float) -> Tensor:
    """:func:`irn_mask_rule` (``value`` = background score) or
    :func:`reference_mask_rule` (``value`` = theta) by name."""
    if rule == 'irn':
        return irn_mask_rule(walked, value)
    if rule == 'reference':
        return reference_mask_rule(walked, value)
    raise ValueError(f'unknown mask rule {rule!r}; choose from {MASK_RULES}')


def mask_rule_sweep(walked: Tensor, rule: str,
                    values: Sequence[float]) -> List[Tensor]:
    """:func:`apply_mask_rule` for many values at once, the same labels.

    The sweeps of the mask report call a rule for some twenty values per
    image; the per-value concatenation and argmax over ``K + 1`` maps were
    most of the report's time. Here the value-independent parts are
    computed once: for IRN's rule the peak and its first arg-max (the
    label is the arg-max where the peak exceeds the background score); for
    the reference's rule a running maximum over the kept classes replaces
    the argmax (strictly greater wins, so ties go to the lower index and
    to background, as ``argmax``).

    Args:
        walked (Tensor): ``[K, H, W]`` walked maps.
        rule (str): ``'irn'`` or ``'reference'``.
        values (Sequence[float]): Background scores or thetas.

    Returns:
        list[Tensor]: long ``[H, W]`` label maps, one per value (0
        background, ``k + 1`` for map k).
    """
    if rule not in MASK_RULES:
        raise ValueError(
            f'unknown mask rule {rule!r}; choose from {MASK_RULES}')
    if rule == 'irn':
        scores = walked / walked.max().clamp_min(1e-5)
        peak, first = scores.max(dim=0)
        fg = first + 1
        return [
            torch.where(peak > torch.tensor(v, dtype=peak.dtype), fg,
                        torch.zeros_like(fg)) for v in values
        ]
    flat = walked.flatten(1)
    high, low = flat.max(dim=1).values, flat.min(dim=1).values
    labels = []
    for theta in values:
        threshold = theta * high + low
        best = walked.new_zeros(walked.shape[1:])
        label = torch.zeros(
            walked.shape[1:], dtype=torch.long, device=walked.device)
        for k in range(walked.shape[0]):
            kept = torch.where(walked[k] >= threshold[k], walked[k],
                               torch.zeros_like(walked[k]))
            better = kept > best
            label[better] = k + 1
            best = torch.maximum(best, kept)
        labels.append(label)
    return labels


def walk_to_label(walked: Tensor,
                  keys: Tensor,
                  size: Sequence[int],
                  rule: str,
                  value: float,
                  image: Optional[np.ndarray] = None,
                  crf_cfg: Optional[dict] = None,
                  upsample: str = 'resize') -> Tensor:
    """The pseudo mask of one image from its walked grid maps.

    Brings the grid maps to the image (:func:`grid_to_image`), applies
    the mask rule, refines the labels with a dense CRF when an image is
    given, and maps them to dataset classes.

    Args:
        walked (Tensor): ``[K, h, w]`` walked maps on the stride-4 grid.
        keys (Tensor): ``[K]`` 0-based classes of the maps.
        size (Sequence[int]): The image's ``(H, W)``.
        rule (str): ``'reference'`` or ``'irn'``.
        value (float): theta (reference) or background score (irn).
        image (np.ndarray, optional): RGB uint8 ``[H, W, 3]`` for the CRF.
        crf_cfg (dict, optional): :func:`crf_from_labels` arguments
            (default: the reference's final CRF).
        upsample (str): ``'resize'`` (reference) or ``'stride'`` (IRN), see
            :func:`grid_to_image`.

    Returns:
        Tensor: long ``[H, W]`` on ``walked``'s device, 0 background,
        ``k + 1`` for class k.
    """
    keys = torch.as_tensor(keys, device=walked.device).long()
    if len(keys) == 0:
        return torch.zeros(tuple(size), dtype=torch.long, device=walked.device)
    local = apply_mask_rule(
        grid_to_image(walked, size, mode=upsample), rule, value)
    if image is not None:
        local = torch.from_numpy(
            crf_from_labels(
                image,
                local.cpu().numpy(),
                n_labels=len(keys) + 1,
                **(crf_cfg or FINAL_CRF_CFG))).to(walked.device)
    return torch.cat([keys.new_zeros(1), keys + 1])[local]


def mask_from_walk(walk: dict,
                   rule: str,
                   value: float,
                   image: Optional[np.ndarray] = None,
                   crf_cfg: Optional[dict] = None,
                   upsample: str = 'resize') -> np.ndarray:
    """The pseudo mask of one walk file, as ``IRNBoundary.predict`` makes it.

    Args:
        walk (dict): From :func:`mmseg_cobra.structures.walk_io.load_walk`.
        rule (str): ``'reference'`` (``value`` = theta) or ``'irn'``
            (``value`` = background score).
        value (float): The rule's parameter.
        image (np.ndarray, optional): RGB uint8 ``[H, W, 3]``; given, the
            labels are refined by a dense CRF (``crf_cfg``, default the
            reference's final CRF).
        crf_cfg (dict, optional): :func:`crf_from_labels` arguments.
        upsample (str): How the walked grid maps come back to the image
            (``model.test_cfg.walk_upsample``: ``'resize'`` or ``'stride'``).

    Returns:
        np.ndarray: uint8 ``[H, W]``, 0 background, ``k + 1`` for class k.
    """
    return walk_to_label(
        torch.from_numpy(walk['walk']), walk['keys'], walk['image_size'], rule,
        value, image, crf_cfg, upsample).numpy().astype(np.uint8)


def boundary_from_labels(label: Tensor,
                         stride: int = 4,
                         ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Oracle boundary map on the stride grid from a ground-truth label map.

    A pixel is an edge pixel if a 4-neighbour has another label, or if it
    is ``ignore_index`` (VOC draws object outlines as 255); a cell is 1 if
    its ``stride x stride`` block holds an edge pixel.

    Args:
        label (Tensor): ``[H, W]`` integer labels.

    Returns:
        Tensor: float ``[ceil(H/stride), ceil(W/stride)]`` in {0, 1}.
    """
    label = label.long()
    edge = label == ignore_index
    dy = label[1:] != label[:-1]
    dx = label[:, 1:] != label[:, :-1]
    edge[1:] |= dy
    edge[:-1] |= dy
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    return F.max_pool2d(
        edge[None, None].float(), stride, stride, ceil_mode=True)[0, 0]
