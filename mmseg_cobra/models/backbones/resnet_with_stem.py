from typing import Tuple

import torch
from mmpretrain.models.backbones import ResNet
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ResNetWithStem(ResNet):
    """mmpretrain's ResNet that also returns its stem output (IRN's five
    feature depths).

    IRN reads the stem after max-pooling (stride 4) and the output of every
    stage. mmpretrain's ``ResNet`` returns only stage outputs, so this
    subclass returns ``(stem, stage 1, ..., stage 4)``; the parameters and
    their names are mmpretrain's, so ImageNet checkpoints and the
    reference's converted IRN weights load unchanged.

    When every stage is frozen (``frozen_stages >= num_stages``, IRN's
    setting) the forward pass runs without autograd: no gradient can
    reach a frozen layer, and no activation is kept for one.

    Args:
        **kwargs: mmpretrain ``ResNet`` arguments (``depth``, ``strides``,
            ``frozen_stages``, ``norm_eval``, ``init_cfg`` ...);
            ``out_indices`` is ignored (every depth is returned).

    Returns (forward):
        tuple[Tensor]: ``[B, C_i, H / s_i, W / s_i]`` for the stem
        (``s = 4``) and each stage.
    """

    @property
    def fully_frozen(self) -> bool:
        """Whether the stem and every stage are frozen."""
        return self.frozen_stages >= self.num_stages

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.fully_frozen):
            if self.deep_stem:
                x = self.stem(x)
            else:
                x = self.relu(self.norm1(self.conv1(x)))
            outs = [self.maxpool(x)]
            for name in self.res_layers:
                outs.append(getattr(self, name)(outs[-1]))
        return tuple(outs)
