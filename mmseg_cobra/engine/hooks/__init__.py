from .complementary_loss_switch_hook import ComplementaryLossSwitchHook
from .guide_quality_hook import GuideQualityHook
from .mask_writer_hook import MaskWriterHook
from .seed_writer_hook import SeedWriterHook
from .walk_writer_hook import WalkWriterHook

__all__ = [
    'ComplementaryLossSwitchHook', 'GuideQualityHook', 'MaskWriterHook',
    'SeedWriterHook', 'WalkWriterHook'
]
