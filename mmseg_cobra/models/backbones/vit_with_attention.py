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

    All arguments are those of :class:`mmpretrain.models.VisionTransformer`
    (e.g. ``arch='deit-small', patch_size=16``); ``with_cls_token`` must stay
    True because the class-token attention is one of the outputs.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('out_type', 'raw')
        super().__init__(**kwargs)
        if self.cls_token is None:
            raise ValueError('ViTWithAttention needs with_cls_token=True')

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
        x, patch_resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        x = x + resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            patch_resolution,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens)
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
