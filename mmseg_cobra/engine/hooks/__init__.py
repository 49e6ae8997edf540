from .complementary_loss_switch_hook import ComplementaryLossSwitchHook
from .mask_writer_hook import MaskWriterHook
from .seed_writer_hook import SeedWriterHook

__all__ = ['ComplementaryLossSwitchHook', 'MaskWriterHook', 'SeedWriterHook']
