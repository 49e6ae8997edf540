"""A ViT (DeiT) backbone that also returns every layer's attention."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ViTWithAttention(VisionTransformer):
    """mmpretrain ``VisionTransformer`` returning tokens and attention maps.

    The attention of each layer is computed explicitly (softmax of the scaled
    query-key products) so the post-softmax probabilities can be returned,
    averaged over heads. Position embeddings are resized (bicubic by default)
    to any input size, so multi-scale inference works.

    Geometry of the reference implementation (TS-CAM's DeiT), the default:

    - the patch embedding is a plain stride-16 convolution
      (``patch_cfg=dict(padding=0)``, set here unless given): an image whose
      sides are not multiples of 16 loses its remainder rows/columns, grid
      ``floor(H/16) x floor(W/16)``. mmcv's ``PatchEmbed`` default
      (``padding='corner'``) zero-pads to ``ceil`` instead, and those padding
      tokens then enter every attention softmax;
    - ``pos_embed_resize='scale_factor'``: the position embedding is
      interpolated with ``scale_factor = (grid + 0.1) / pretrain_grid`` (DINO's
      trick, as the reference), and left as is when the grid is the
      pre-training grid and the input is square (the reference's condition).
      ``'size'`` interpolates to the target size (mmpretrain's
      ``resize_pos_embed``).

    Args:
        pos_embed_resize (str): ``'scale_factor'`` (reference) or ``'size'``.
        **kwargs: Those of :class:`mmpretrain.models.VisionTransformer`
            (e.g. ``arch='deit-small', patch_size=16``); ``with_cls_token``
            must stay True because the class-token attention is one of the
            outputs.
    """

    POS_EMBED_RESIZE = ('scale_factor', 'size')

    def __init__(self,
                 pos_embed_resize: str = 'scale_factor',
                 **kwargs) -> None:
        kwargs.setdefault('out_type', 'raw')
        patch_cfg = dict(kwargs.pop('patch_cfg', None) or {})
        patch_cfg.setdefault('padding', 0)
        super().__init__(patch_cfg=patch_cfg, **kwargs)
        if self.cls_token is None:
            raise ValueError('ViTWithAttention needs with_cls_token=True')
        if pos_embed_resize not in self.POS_EMBED_RESIZE:
            raise ValueError(f'pos_embed_resize must be one of '
                             f'{self.POS_EMBED_RESIZE}, got '
                             f'{pos_embed_resize!r}')
        self.pos_embed_resize = pos_embed_resize

    def resized_pos_embed(self, grid: Tuple[int, int],
                          input_size: Tuple[int, int]) -> Tensor:
        """Position embedding ``[1, 1 + gh * gw, D]`` for a patch grid.

        Args:
            grid (tuple): ``(gh, gw)`` patch grid of the input.
            input_size (tuple): ``(H, W)`` of the input image.
        """
        if self.pos_embed_resize == 'size':
            return resize_pos_embed(
                self.pos_embed,
                self.patch_resolution,
                grid,
                mode=self.interpolate_mode,
                num_extra_tokens=self.num_extra_tokens)
        src_h, src_w = self.patch_resolution
        if tuple(grid) == (src_h, src_w) and input_size[0] == input_size[1]:
            return self.pos_embed
        extra = self.pos_embed[:, :self.num_extra_tokens]
        patch = self.pos_embed[:, self.num_extra_tokens:]
        dim = patch.shape[-1]
        patch = patch.reshape(1, src_h, src_w, dim).permute(0, 3, 1, 2)
        patch = F.interpolate(
            patch,
            scale_factor=((grid[0] + 0.1) / src_h, (grid[1] + 0.1) / src_w),
            mode=self.interpolate_mode)
        if tuple(patch.shape[-2:]) != tuple(grid):
            raise RuntimeError(f'position embedding resized to '
                               f'{tuple(patch.shape[-2:])}, expected {grid}')
        patch = patch.permute(0, 2, 3, 1).reshape(1, -1, dim)
        return torch.cat([extra, patch], dim=1)

    @staticmethod
    def _attention(layer: torch.nn.Module, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Multi-head self-attention of ``layer`` that keeps the probabilities.

        Args:
            layer: an mmpretrain ``TransformerEncoderLayer``.
            x (Tensor): Normalised tokens, ``[B, L, D]``.

        Returns:
            tuple: attention output ``[B, L, D]`` (before the residual) and
            head-averaged attention probabilities ``[B, L, L]``.
        """
        attn = layer.attn
        b, n, _ = x.shape
        qkv = attn.qkv(x).reshape(b, n, 3, attn.num_heads, attn.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [B, heads, L, hd]
        logits = (q * attn.head_dims**-0.5) @ k.transpose(-2, -1)
        probs = logits.softmax(dim=-1)  # [B, heads, L, L]
        dropped = F.dropout(probs, attn.attn_drop) if (
            attn.training and attn.attn_drop > 0) else probs
        out = (dropped @ v).transpose(1, 2).reshape(b, n, attn.embed_dims)
        out = attn.out_drop(attn.gamma1(attn.proj_drop(attn.proj(out))))
        if attn.v_shortcut:
            out = v.squeeze(1) + out
        return out, probs.mean(dim=1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tuple[int, int]]:
        """Run the transformer.

        Args:
            x (Tensor): Images ``[B, 3, H, W]``.

        Returns:
            tuple:
            - tokens ``[B, 1 + N, D]`` after the final norm (class token
              first), N = h * w patches;
            - attention ``[B, num_layers, 1 + N, 1 + N]``, post-softmax,
              averaged over heads;
            - the patch grid ``(h, w)``.
        """
        b = x.shape[0]
        input_size = tuple(x.shape[-2:])
        x, patch_resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + self.resized_pos_embed(tuple(patch_resolution), input_size)
        x = self.pre_norm(self.drop_after_pos(x))
        attentions = []
        for layer in self.layers:
            out, probs = self._attention(layer, layer.ln1(x))
            x = x + out
            x = layer.ffn(layer.ln2(x), identity=x)
            attentions.append(probs)
        if self.final_norm:
            x = self.ln1(x)
        return x, torch.stack(attentions, dim=1), tuple(patch_resolution)
