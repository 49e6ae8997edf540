from .complementary_loss_switch_hook import ComplementaryLossSwitchHook
from .seed_writer_hook import SeedWriterHook

__all__ = ['ComplementaryLossSwitchHook', 'SeedWriterHook']
