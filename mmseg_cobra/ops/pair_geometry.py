"""Pixel-pair geometry shared by IRN's training targets and its model.

Pairs are indexed by an *offset* ``(dy, dx)`` within a radius, in one half
plane (``dy > 0``, or ``dy == 0`` and ``dx > 0``) so every unordered pair
appears once. The affinity of pixel ``p`` and ``p + (dy, dx)`` is
``1 - max(boundary)`` along the path between them (IRN, Ahn et al. CVPR
2019, see :func:`pair_paths`): two pixels are related unless a class
boundary separates them. The data transform ``AffinityLabels`` labels the
pairs (:func:`pair_labels`); the model scores them
(:mod:`mmseg_cobra.models.utils.affinity`).
"""
from functools import lru_cache
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..structures import IGNORE_INDEX


@lru_cache(maxsize=16)
def pair_offsets(radius: int) -> Tuple[Tuple[int, int], ...]:
    """All offsets ``(dy, dx)`` with ``0 < dy^2 + dx^2 < radius^2`` in a half
    plane."""
    offsets = []
    for dy in range(0, radius):
        for dx in range(-radius + 1, radius):
            if dy == 0 and dx <= 0:
                continue
            if dy * dy + dx * dx < radius * radius:
                offsets.append((dy, dx))
    return tuple(offsets)


@lru_cache(maxsize=16)
def pair_paths(radius: int) -> Tuple[Tuple[Tuple[int, int], ...], ...]:
    """For each offset, the cells of IRN's path from ``(0, 0)`` to it.

    IRN's path for offset ``(dy, dx)`` is every cell ``(y, x)`` of the
    bounding box of ``(0, 0)`` and ``(dy, dx)`` whose squared distance to the
    line through them, ``(dy * x - dx * y)^2 / (dy^2 + dx^2)``, is below 1.
    It is wider than a rasterised line (7.1 cells on average at radius 5
    against 3.8), so that a one-pixel diagonal boundary separates the two
    pixels of a diagonal pair.
    """
    paths = []
    for dy, dx in pair_offsets(radius):
        length_sq = dy * dy + dx * dx
        cells = []
        for y in range(min(0, dy), max(0, dy) + 1):
            for x in range(min(0, dx), max(0, dx) + 1):
                if (dy * x - dx * y)**2 < length_sq:  # distance^2 < 1
                    cells.append((y, x))
        paths.append(tuple(cells))
    return tuple(paths)


def shift_field(x: Tensor, dy: int, dx: int, pad_value: float) -> Tensor:
    """``out[..., y, x] = x[..., y + dy, x + dx]``, ``pad_value`` outside."""
    h, w = x.shape[-2:]
    padded = F.pad(
        x, (max(-dx, 0), max(dx, 0), max(-dy, 0), max(dy, 0)), value=pad_value)
    y0, x0 = max(dy, 0), max(dx, 0)
    return padded[..., y0:y0 + h, x0:x0 + w]


def pair_labels(label: np.ndarray,
                radius: int,
                ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Pixel-pair affinity labels from a label map (IRN training targets).

    Args:
        label (np.ndarray): ``[H, W]`` labels, 0 background, ``ignore_index``
            unknown.
        radius (int): Pair radius.

    Returns:
        np.ndarray: uint8 ``[3, D, H, W]``: background-positive (both 0),
        foreground-positive (same class > 0), negative (different known
        classes). Pairs touching an unknown pixel or leaving the image are in
        none of the three.
    """
    h, w = label.shape
    src = torch.from_numpy(label.astype(np.int64))
    out = np.zeros((3, len(pair_offsets(radius)), h, w), np.uint8)
    src_known = src != ignore_index
    for d, (dy, dx) in enumerate(pair_offsets(radius)):
        dst = shift_field(src, dy, dx, ignore_index)
        known = src_known & (dst != ignore_index)
        same = known & (src == dst)
        out[0, d] = (same & (src == 0)).numpy()
        out[1, d] = (same & (src != 0)).numpy()
        out[2, d] = (known & (src != dst)).numpy()
    return out
