"""Pixel-pair affinities from a boundary map (IRN's random-walk weights).

The pair geometry (offsets, IRN's paths, the pair labels of the training
targets) lives in :mod:`mmseg_cobra.ops.pair_geometry`, shared with the
data transform ``AffinityLabels``.
"""
import torch
from torch import Tensor

from ...ops.pair_geometry import (pair_labels, pair_offsets, pair_paths,
                                  shift_field)


def boundary_to_affinity(boundary: Tensor, radius: int) -> Tensor:
    """Affinities of every pixel with its half-plane neighbours.

    Args:
        boundary (Tensor): Boundary probabilities ``[B, H, W]`` in [0, 1].
        radius (int): Pair radius.

    Returns:
        Tensor: ``[B, D, H, W]`` with ``D = len(pair_offsets(radius))``;
        entry ``d`` at ``p`` is ``1 - max(boundary on path p -> p + d_off)``.
        Pairs leaving the image get affinity 0 (boundary 1 outside).
    """
    shifted = {}
    out = []
    for path in pair_paths(radius):
        peak = None
        for cell in path:
            if cell not in shifted:
                shifted[cell] = shift_field(boundary, cell[0], cell[1], 1.0)
            peak = shifted[cell] if peak is None else torch.maximum(
                peak, shifted[cell])
        out.append(1.0 - peak)
    return torch.stack(out, dim=1)


def pair_differences(field: Tensor, radius: int) -> Tensor:
    """``field(p) - field(p + offset)`` for every half-plane offset.

    Args:
        field (Tensor): ``[B, C, H, W]``.
        radius (int): Pair radius.

    Returns:
        Tensor: ``[B, C, D, H, W]``; pairs leaving the image compare with 0
        (they carry no pair label, so no loss reads them).
    """
    return torch.stack([
        field - shift_field(field, dy, dx, 0.0)
        for dy, dx in pair_offsets(radius)
    ],
                       dim=2)


__all__ = [
    'boundary_to_affinity', 'pair_differences', 'pair_labels', 'pair_offsets',
    'pair_paths', 'shift_field'
]
