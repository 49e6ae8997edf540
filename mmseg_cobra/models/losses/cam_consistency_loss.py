import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.precision import full_precision


@MODELS.register_module()
class CAMConsistencyLoss(nn.Module):
    """L1 consistency between the two branches' CAM logits (CoBra L_cam).

    Both maps are upsampled bilinearly to ``out_size`` (the crop size) and
    compared on all channels (background included); with
    ``positive_term=True`` (the CoBra paper) a second L1 term on the image's
    positive foreground classes only is added. The reference implementation
    logged that second term without adding it: ``positive_term=False``.
    Each term is a mean absolute difference. Gradients reach both branches.

    Args:
        positive_term (bool): Add the positive-class term. Defaults to True.
        loss_weight (float): lambda_1 of the paper. Defaults to 0.1.
        loss_name (str): Log key.
    """

    def __init__(self,
                 positive_term: bool = True,
                 loss_weight: float = 0.1,
                 loss_name: str = 'loss_cam') -> None:
        super().__init__()
        self.positive_term = positive_term
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cam_cnn: Tensor, cam_vit: Tensor, labels: Tensor,
                out_size: tuple) -> Tensor:
        """
        Args:
            cam_cnn (Tensor): CNN CAM logits ``[B, C+1, h, w]``.
            cam_vit (Tensor): ViT CAM logits ``[B, C+1, h', w']``.
            labels (Tensor): Multi-hot foreground labels ``[B, C]``.
            out_size (tuple): ``(H, W)`` both maps are resized to.

        Returns:
            Tensor: scalar loss.
        """
        # float32 under mixed precision: the mean runs over B x 21 x H x W
        cnn = F.interpolate(
            full_precision(cam_cnn),
            size=out_size,
            mode='bilinear',
            align_corners=False)
        vit = F.interpolate(
            full_precision(cam_vit),
            size=out_size,
            mode='bilinear',
            align_corners=False)
        diff = (cnn - vit).abs()  # [B, C+1, H, W]
        loss = diff.mean()
        if self.positive_term:
            pos = labels > 0  # [B, C]
            if pos.any():
                per_class = diff[:, 1:].mean(dim=(2, 3))  # [B, C]
                loss = loss + per_class[pos].mean()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
