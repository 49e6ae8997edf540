from .vit_with_attention import ViTWithAttention

__all__ = ['ViTWithAttention']
