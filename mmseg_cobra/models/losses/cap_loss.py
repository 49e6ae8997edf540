import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .patch_contrastive import (patch_info_nce, reduce_patch_loss,
                                top_and_bottom)


@MODELS.register_module()
class CAPLoss(nn.Module):
    """Class-Aware Projection loss (CoBra paper, Eq. 1).

    Teaches the CNN projection with semantic knowledge from the ViT: for patch
    ``i`` the positives are the ``k_pos`` patches with the highest patch
    affinity in row ``i`` and the negatives the ``k_neg`` lowest. The affinity
    is detached: no gradient reaches the ViT branch through this loss.

    Args:
        k_pos (int): Positives per patch (paper: 5).
        k_neg (int): Negatives per patch (paper: 20).
        tau (float): Temperature (paper: 0.1).
        reduction (str): ``'mean'`` or ``'sum'`` (see :class:`SAPLoss`).
        loss_weight (float): lambda_2 of the paper (0.1).
        loss_name (str): Log key.
    """

    def __init__(self,
                 k_pos: int = 5,
                 k_neg: int = 20,
                 tau: float = 0.1,
                 reduction: str = 'mean',
                 loss_weight: float = 0.1,
                 loss_name: str = 'loss_cap') -> None:
        super().__init__()
        self.k_pos = k_pos
        self.k_neg = k_neg
        self.tau = tau
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def select(self, patch_affinity: Tensor) -> tuple:
        """Positive and negative indices from the ViT patch affinity.

        Args:
            patch_affinity (Tensor): ``[B, N, N]``.

        Returns:
            tuple: ``pos_index [B, N, k_pos]``, ``neg_index [B, N, k_neg]``.
        """
        return top_and_bottom(patch_affinity.detach(), self.k_pos, self.k_neg)

    def forward(self, cap_embed: Tensor, patch_affinity: Tensor) -> Tensor:
        """
        Args:
            cap_embed (Tensor): L2-normalised CNN projections ``[B, N, D]``.
            patch_affinity (Tensor): ViT patch affinity ``[B, N, N]`` (guide).

        Returns:
            Tensor: scalar loss.
        """
        pos, neg = self.select(patch_affinity)
        loss = patch_info_nce(cap_embed, pos, neg, self.tau)
        return self.loss_weight * reduce_patch_loss(loss, self.reduction)

    @property
    def loss_name(self) -> str:
        return self._loss_name
