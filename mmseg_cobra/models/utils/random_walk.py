"""Random walk of class maps over a boundary-aware sparse transition matrix."""
from typing import Tuple

import torch
from torch import Tensor

from .affinity import boundary_to_affinity, pair_offsets


def sparse_transition(boundary: Tensor, radius: int = 5,
                      beta: float = 10.0) -> Tuple[Tensor, Tensor, Tensor]:
    """Column-normalised transition matrix of one image, in COO form.

    ``A_ij = affinity(i, j) ** beta`` for pixel pairs within ``radius`` (both
    directions) plus ``A_ii = 1``; ``T_ij = A_ij / sum_i' A_i'j``. Only
    ``N * (2 D + 1)`` entries are stored (``D`` offsets), never ``N^2``.

    Args:
        boundary (Tensor): ``[H, W]`` boundary probabilities.
        radius (int): Pair radius (IRN: 5 at inference).
        beta (float): Affinity exponent (IRN: 10).

    Returns:
        tuple: ``src``, ``dst`` (long ``[nnz]``) and ``weight`` ``[nnz]``.
    """
    h, w = boundary.shape
    n = h * w
    aff = boundary_to_affinity(boundary[None], radius)[0].pow(beta)
    index = torch.arange(n, device=boundary.device).view(h, w)
    srcs, dsts, weights = [index.flatten()], [index.flatten()], [
        torch.ones(n, device=boundary.device, dtype=aff.dtype)
    ]
    for d, (dy, dx) in enumerate(pair_offsets(radius)):
        ys = slice(0, h - dy)
        xs = slice(max(-dx, 0), w - max(dx, 0))
        a = index[ys, xs].flatten()
        b = index[dy:dy + (h - dy), xs.start + dx:xs.stop + dx].flatten()
        value = aff[d, ys, xs].flatten()
        srcs += [a, b]
        dsts += [b, a]
        weights += [value, value]
    src, dst, weight = torch.cat(srcs), torch.cat(dsts), torch.cat(weights)
    column_sum = torch.zeros(n, device=weight.device, dtype=weight.dtype)
    column_sum.index_add_(0, dst, weight)
    return src, dst, weight / column_sum[dst]


def random_walk(cams: Tensor, boundary: Tensor, radius: int = 5,
                beta: float = 10.0, exp_times: int = 8) -> Tensor:
    """Propagate class maps with ``T^(2^exp_times)`` (IRN's random walk).

    The maps are first multiplied by ``1 - boundary``; then ``x <- x T`` is
    applied ``2 ** exp_times`` times with the sparse matrix, which equals
    multiplying by IRN's dense ``T`` squared ``exp_times`` times, in
    ``O(N D)`` memory.

    Args:
        cams (Tensor): ``[K, H, W]`` maps at the boundary map's resolution.
        boundary (Tensor): ``[H, W]`` in [0, 1].
        radius (int): Pair radius.
        beta (float): Affinity exponent.
        exp_times (int): log2 of the number of steps.

    Returns:
        Tensor: ``[K, H, W]`` propagated maps.
    """
    k, h, w = cams.shape
    src, dst, weight = sparse_transition(boundary, radius, beta)
    x = (cams * (1 - boundary)).reshape(k, h * w)
    for _ in range(2**exp_times):
        out = torch.zeros_like(x)
        out.index_add_(1, dst, x[:, src] * weight)
        x = out
    return x.view(k, h, w)
