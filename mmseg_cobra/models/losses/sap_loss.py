import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .patch_contrastive import (patch_info_nce, reduce_patch_loss,
                                top_and_bottom)


@MODELS.register_module()
class SAPLoss(nn.Module):
    """Semantic-Aware Projection loss (CoBra paper, Eq. 2).

    Teaches the ViT projection with class knowledge from the CNN: patch ``i``
    with pseudo class ``c_i`` takes as positives the ``k_pos`` patches with
    the highest CNN CAM score for ``c_i`` and as negatives the ``k_neg``
    patches with the lowest. As in the reference implementation, the score
    that ranks patches is the raw CNN CAM logit (``rank_by='logit'``); the
    masked softmax only picks ``c_i``. Ranking by the softmax probability
    (``rank_by='prob'``) saturates: once one logit leads by ~17, many
    patches tie at 1.0 in float32 and the top-k becomes arbitrary. The
    guide (scores and pseudo labels) is detached: no gradient reaches the
    CNN branch through this loss.

    Args:
        k_pos (int): Positives per patch (paper: 20).
        k_neg (int): Negatives per patch (paper: 5).
        tau (float): Temperature (paper: 0.1).
        reduction (str): ``'mean'`` over patches and images, or ``'sum'``
            over patches (mean over images).
        loss_weight (float): lambda_2 of the paper (0.1).
        rank_by (str): ``'logit'`` (reference) or ``'prob'``: which CNN
            score :class:`~mmseg_cobra.models.CoBra` passes as
            ``cam_score``.
        loss_name (str): Log key.
    """

    def __init__(self,
                 k_pos: int = 20,
                 k_neg: int = 5,
                 tau: float = 0.1,
                 reduction: str = 'mean',
                 loss_weight: float = 0.1,
                 rank_by: str = 'logit',
                 loss_name: str = 'loss_sap') -> None:
        super().__init__()
        if rank_by not in ('logit', 'prob'):
            raise ValueError(f"rank_by must be 'logit' or 'prob', got "
                             f'{rank_by!r}')
        self.rank_by = rank_by
        self.k_pos = k_pos
        self.k_neg = k_neg
        self.tau = tau
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def guide_score(self, cam_logits: Tensor, cam_prob: Tensor) -> Tensor:
        """The CNN score this loss ranks patches by (``rank_by``).

        Args:
            cam_logits (Tensor): CNN CAM logits ``[B, C+1, N]``.
            cam_prob (Tensor): Their masked softmax ``[B, C+1, N]``.

        Returns:
            Tensor: ``cam_logits`` or ``cam_prob``: the ``cam_score`` to pass
            to :meth:`forward` and :meth:`select`.
        """
        return cam_logits if self.rank_by == 'logit' else cam_prob

    def select(self, cam_score: Tensor, pseudo_label: Tensor) -> tuple:
        """Positive and negative indices from the CNN guide (what
        :meth:`forward` contrasts; public, for diagnostics such as
        ``CoBra.guide_quality``).

        Args:
            cam_score (Tensor): CNN CAM scores ``[B, C+1, N]`` (logits or
                masked softmax, see ``rank_by``).
            pseudo_label (Tensor): Pseudo class per patch ``[B, N]``.

        Returns:
            tuple: ``pos_index [B, N, k_pos]``, ``neg_index [B, N, k_neg]``.
        """
        # [B, C+1, k_pos] and [B, C+1, k_neg]
        top, bottom = top_and_bottom(cam_score.detach(), self.k_pos,
                                     self.k_neg)
        idx = pseudo_label.detach().long()  # [B, N]
        pos = top.gather(1, idx[..., None].expand(-1, -1, self.k_pos))
        neg = bottom.gather(1, idx[..., None].expand(-1, -1, self.k_neg))
        return pos, neg

    def forward(self, sap_embed: Tensor, cam_score: Tensor,
                pseudo_label: Tensor) -> Tensor:
        """
        Args:
            sap_embed (Tensor): L2-normalised ViT projections ``[B, N, D]``.
            cam_score (Tensor): CNN CAM scores ``[B, C+1, N]`` (guide).
            pseudo_label (Tensor): Pseudo class per patch ``[B, N]`` (guide).

        Returns:
            Tensor: scalar loss.
        """
        pos, neg = self.select(cam_score, pseudo_label)
        loss = patch_info_nce(sap_embed, pos, neg, self.tau)
        return self.loss_weight * reduce_patch_loss(loss, self.reduction)

    @property
    def loss_name(self) -> str:
        return self._loss_name
