import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.precision import full_precision


@MODELS.register_module()
class MultiLabelSoftMarginLoss(nn.Module):
    """Multi-label classification loss on image-level logits.

    ``F.multilabel_soft_margin_loss``: the mean over classes of the binary
    cross-entropy of each logit, averaged over the batch. CoBra applies it to
    each branch's globally pooled foreground CAM logits.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Key under which the runner logs the loss.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_cls') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """
        Args:
            logits (Tensor): ``[B, C]`` foreground logits.
            labels (Tensor): ``[B, C]`` multi-hot labels.

        Returns:
            Tensor: scalar loss.
        """
        if logits.shape != labels.shape:
            raise ValueError(f'logits {tuple(logits.shape)} and labels '
                             f'{tuple(labels.shape)} differ: the number of '
                             'classes of the model and the dataset disagree')
        # float32 under mixed precision: log-sigmoid of half-precision
        # logits loses the small losses of confident classes
        logits = full_precision(logits)
        return self.loss_weight * F.multilabel_soft_margin_loss(
            logits, labels.to(logits.dtype))

    @property
    def loss_name(self) -> str:
        return self._loss_name
