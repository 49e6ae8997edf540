from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from ...models.classifiers.cobra import CoBra


@HOOKS.register_module()
class ComplementaryLossSwitchHook(Hook):
    """Switch CoBra's L_cam, L_sap and L_cap on from ``start_epoch``.

    Before each training epoch, sets the model's
    ``complementary_losses_enabled`` to ``runner.epoch >= start_epoch``
    (epochs counted from 0). The classification loss is always on. The
    reference implementation starts at epoch index 5 of 20; the CoBra paper
    says "after a single epoch" (``start_epoch=1``).

    Args:
        start_epoch (int): First epoch (0-based) with the extra losses.
    """
    priority = 'NORMAL'

    def __init__(self, start_epoch: int = 5) -> None:
        if start_epoch < 0:
            raise ValueError(f'start_epoch must be >= 0, got {start_epoch}')
        self.start_epoch = start_epoch
        self._last: Optional[bool] = None

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if not isinstance(model, CoBra):
            raise TypeError(f'{type(model).__name__} has no '
                            'complementary_losses_enabled switch: '
                            'ComplementaryLossSwitchHook is meant for CoBra')
        enabled = runner.epoch >= self.start_epoch
        model.complementary_losses_enabled = enabled
        if enabled != self._last:
            print_log(
                f'epoch {runner.epoch + 1}: complementary losses (cam, sap, '
                f'cap) {"on" if enabled else "off"}',
                logger='current')
            self._last = enabled
