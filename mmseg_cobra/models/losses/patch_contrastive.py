"""The patch-level InfoNCE shared by the CAP and SAP losses (paper Eq. 1/2)."""
import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.precision import full_precision


def patch_info_nce(embed: Tensor, pos_index: Tensor, neg_index: Tensor,
                   tau: float) -> Tensor:
    """Per-patch InfoNCE with one denominator per positive.

    For patch ``i`` with positives ``P+_i`` and negatives ``P-_i``::

        L_i = 1/|P+_i| * sum_{j in P+_i} -log( exp(v_i.v_j / tau) /
              (exp(v_i.v_j / tau) + sum_{k in P-_i} exp(v_i.v_k / tau)) )

    evaluated for every patch of every image at once with log-sum-exp, so it
    is stable for any ``tau``. The similarities are computed in float32 even
    under mixed-precision autocast: in float16 a cosine similarity keeps 3
    significant digits, ``/ tau`` magnifies that error tenfold inside every
    exponential, and near-ties among the ranked patches would resolve
    differently.

    Args:
        embed (Tensor): Embeddings ``[B, N, D]`` (L2-normalise them first).
        pos_index (Tensor): Positive patch indices ``[B, N, K+]`` (long).
        neg_index (Tensor): Negative patch indices ``[B, N, K-]`` (long).
        tau (float): Temperature, inside every exponential.

    Returns:
        Tensor: ``L_i`` for every patch, ``[B, N]``.
    """
    embed = full_precision(embed)
    with torch.autocast(embed.device.type, enabled=False):
        sim = torch.bmm(embed, embed.transpose(1, 2)) / tau  # [B, N, N]
    pos = sim.gather(2, pos_index)  # [B, N, K+]
    neg_lse = sim.gather(2, neg_index).logsumexp(dim=2, keepdim=True)
    # -log(e^p / (e^p + sum e^n)) = log(e^p + e^{lse n}) - p
    return (torch.logaddexp(pos, neg_lse) - pos).mean(dim=2)


def reduce_patch_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce per-patch losses ``[B, N]``.

    ``'mean'`` averages over patches and images; ``'sum'`` sums over the
    patches (``L = sum_i L_i`` as written in the paper) and averages over
    images.
    """
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum(dim=1).mean()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")


def normalize_patches(proj: Tensor) -> Tensor:
    """``[B, D, h, w]`` projection map -> L2-normalised ``[B, h*w, D]``."""
    return F.normalize(proj.flatten(2).transpose(1, 2), dim=2)


def top_and_bottom(score: Tensor, k_pos: int,
                   k_neg: int) -> 'tuple[Tensor, Tensor]':
    """Indices of the ``k_pos`` highest and ``k_neg`` lowest scores along
    the last dimension (the patches), as CAP and SAP pick their positives
    and negatives.

    Args:
        score (Tensor): ``[B, R, N]`` scores of N patches per row.
        k_pos (int): Positives per row.
        k_neg (int): Negatives per row.

    Returns:
        tuple: ``[B, R, k_pos]`` and ``[B, R, k_neg]`` patch indices.

    Raises:
        ValueError: ``k_pos`` or ``k_neg`` exceeds N.
    """
    n = score.shape[-1]
    if max(k_pos, k_neg) > n:
        raise ValueError(f'k_pos={k_pos}/k_neg={k_neg} exceed the {n} '
                         'patches of the map')
    return (score.topk(k_pos, dim=-1).indices,
            score.topk(k_neg, dim=-1, largest=False).indices)
