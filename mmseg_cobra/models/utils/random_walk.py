"""Random walk of class maps over IRN's boundary-aware transition matrix.

IRN (Ahn et al., CVPR 2019) builds ``A_ij = affinity(i, j) ** beta`` for
pixel pairs within a radius (and ``A_ii = 1``), normalises the columns
(``T = A D^-1``) and propagates the class maps by ``x <- x T^(2^exp_times)``.
``T`` is banded: pixel ``j`` only receives from the ``2 D + 1`` pixels
``j + o`` of its radius, so one step is a *stencil*::

    x'(j) = sum_o W_o(j) * x(j + o),  W_o(j) = A(j+o, j) / sum_o' A(j+o', j)

:func:`random_walk` evaluates it as ``2 D + 1`` shifted multiply-adds on
contiguous tensors, on the device of its inputs (CPU or CUDA, no host round
trip), in ``O(N D)`` memory. :func:`random_walk_sparse` (a COO gather /
``index_add_``) is the earlier formulation, kept for comparison
(``benchmarks/bench_masks.py``).
"""
from typing import List, Tuple

import torch
from torch import Tensor

from .affinity import boundary_to_affinity, pair_offsets, shift_field


def sparse_transition(boundary: Tensor,
                      radius: int = 5,
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


def stencil_transition(
        boundary: Tensor,
        radius: int = 5,
        beta: float = 10.0) -> Tuple[List[Tuple[int, int]], Tensor]:
    """The column-normalised transition matrix of one image as a stencil.

    Args:
        boundary (Tensor): ``[H, W]`` boundary probabilities, or ``[B, H,
            W]`` for a batch of images of one size.
        radius (int): Pair radius (IRN: 5 at inference).
        beta (float): Affinity exponent (IRN: 10).

    Returns:
        tuple: the ``2 D + 1`` signed offsets ``o`` (``(0, 0)`` first) and
        their weights ``[2 D + 1, H, W]`` (``[B, 2 D + 1, H, W]``):
        ``W_o(j) = T[j + o, j]``, 0 where ``j + o`` leaves the image; they
        sum to 1 over ``o`` at every pixel.
    """
    batched = boundary.dim() == 3
    boundary = boundary if batched else boundary[None]
    aff = boundary_to_affinity(boundary, radius).pow(beta)  # [B, D, H, W]
    offsets = [(0, 0)]
    weights = [torch.ones_like(boundary)]
    for d, (dy, dx) in enumerate(pair_offsets(radius)):
        # j receives from j + o through the pair (j, j + o): aff[d, j]
        offsets.append((dy, dx))
        weights.append(aff[:, d])
        # ... and from j - o through the pair (j - o, j): aff[d, j - o]
        offsets.append((-dy, -dx))
        weights.append(shift_field(aff[:, d], -dy, -dx, 0.0))
    weights = torch.stack(weights, dim=1)
    weights = weights / weights.sum(dim=1, keepdim=True)
    return offsets, weights if batched else weights[0]


def random_walk(cams: Tensor,
                boundary: Tensor,
                radius: int = 5,
                beta: float = 10.0,
                exp_times: int = 8) -> Tensor:
    """Propagate class maps with ``T^(2^exp_times)`` (IRN's random walk).

    The maps are first multiplied by ``1 - boundary``; then ``x <- x T`` is
    applied ``2 ** exp_times`` times as a stencil (see the module
    docstring), which equals multiplying by IRN's dense ``T`` squared
    ``exp_times`` times.

    Several images of one size walk in one call (``cams`` ``[B, K, H, W]``,
    ``boundary`` ``[B, H, W]``): the same arithmetic, fewer, larger kernels
    (what a GPU wants; ``benchmarks/gpu_check.py`` times both).

    Args:
        cams (Tensor): ``[K, H, W]`` maps at the boundary map's resolution
            (or ``[B, K, H, W]``).
        boundary (Tensor): ``[H, W]`` in [0, 1], on the same device (or
            ``[B, H, W]``).
        radius (int): Pair radius.
        beta (float): Affinity exponent.
        exp_times (int): log2 of the number of steps.

    Returns:
        Tensor: ``[K, H, W]`` (``[B, K, H, W]``) propagated maps.
    """
    batched = cams.dim() == 4
    if batched != (boundary.dim() == 3):
        raise ValueError(f'cams {tuple(cams.shape)} and boundary '
                         f'{tuple(boundary.shape)}: give [K, H, W] with '
                         '[H, W], or [B, K, H, W] with [B, H, W]')
    h, w = cams.shape[-2:]
    offsets, weights = stencil_transition(
        boundary.to(cams.dtype), radius, beta)
    # one weight map per offset, broadcast over the K maps
    weights = weights.unsqueeze(2) if batched else weights
    r = radius - 1  # the largest |dy|, |dx| of an offset
    x = cams * (1 - boundary).unsqueeze(-3)
    padded = x.new_zeros(*x.shape[:-2], h + 2 * r, w + 2 * r)
    out = torch.empty_like(x)
    views = [
        padded[..., r + dy:r + dy + h, r + dx:r + dx + w] for dy, dx in offsets
    ]
    weight_of = [
        weights[:, i] if batched else weights[i] for i in range(len(offsets))
    ]
    for _ in range(2**exp_times):
        padded[..., r:r + h, r:r + w] = x
        torch.mul(views[0], weight_of[0], out=out)
        for view, weight in zip(views[1:], weight_of[1:]):
            out.addcmul_(view, weight)
        x, out = out, x
    return x


def random_walk_sparse(cams: Tensor,
                       boundary: Tensor,
                       radius: int = 5,
                       beta: float = 10.0,
                       exp_times: int = 8) -> Tensor:
    """:func:`random_walk` with a COO matrix (gather + ``index_add_``).

    The earlier formulation: same result, several times slower on CPU
    (scattered memory traffic); kept for ``benchmarks/bench_masks.py``.

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
