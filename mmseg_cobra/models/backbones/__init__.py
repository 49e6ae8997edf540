from .resnet_with_stem import ResNetWithStem
from .vit_with_attention import ViTWithAttention

__all__ = ['ResNetWithStem', 'ViTWithAttention']
