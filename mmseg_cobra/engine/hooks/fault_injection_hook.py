from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.fault import fault_point


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """The ``train_iter`` fault-injection point of
    :mod:`mmseg_cobra.utils.fault`: kill the process group after the N-th
    training iteration of this process when ``MMSEG_COBRA_FAULT`` says
    ``train_iter@N``. ``tools/train.py`` registers it when the variable is
    set; it does nothing otherwise.
    """

    priority = 'LOWEST'  # after the checkpoint hook of the same iteration

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        fault_point('train_iter')
