from typing import Any

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
# mmengine's Runner looks wrappers up in the root registry (no scope), so
# the wrapper is registered there; mmseg's child registry inherits it.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    mmengine's Runner always passes ``device_ids=[LOCAL_RANK]``, which
    ``DistributedDataParallel`` rejects for a module on the CPU. This wrapper
    drops ``device_ids`` (and ``output_device``) when the module's parameters
    are not on a CUDA device, and behaves exactly like
    ``MMDistributedDataParallel`` otherwise. Like the wrapper mmengine's
    Runner builds when a config names none, it defaults to
    ``broadcast_buffers=False``: without it, every forward pass of every
    model trained through this wrapper (mmseg's DeepLabV3+ and SegFormer
    included) would copy rank 0's buffers (BatchNorm statistics) to every
    rank, unlike plain mmseg training. torch's ``SyncBatchNorm`` runs on
    CUDA only: on the CPU its layers are reverted to ``BatchNorm``
    (mmengine's ``revert_sync_batchnorm``, as mmengine does in a
    non-distributed run), so each CPU process normalises with its own batch
    statistics; on GPUs SyncBN is kept.

    Args:
        module (nn.Module): The model to wrap.
        **kwargs: Passed to ``MMDistributedDataParallel``.
    """

    def __init__(self, module: nn.Module, **kwargs: Any) -> None:
        param = next(module.parameters(), None)
        if param is None or param.device.type != 'cuda':
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
            if any(isinstance(m, nn.SyncBatchNorm) for m in module.modules()):
                print_log(
                    'SyncBatchNorm needs CUDA: reverted to BatchNorm for '
                    'this CPU run (per-process batch statistics)',
                    logger='current')
                module = revert_sync_batchnorm(module)
        kwargs.setdefault('broadcast_buffers', False)
        super().__init__(module=module, **kwargs)
