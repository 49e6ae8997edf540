"""Checkpoint converters beside the models they load into: public
pretrained weights (torchvision ResNet, timm DeiT) to mmpretrain's keys,
and the reference implementation's trained checkpoints to this package's
models (``tools/model_converters/``)."""
from .reference_checkpoints import (ReferenceCheckpointError,
                                    reference_cobra_to_cobra,
                                    reference_irn_to_irn, reference_kind)
from .weight_conversion import (timm_deit_to_mmpretrain,
                                torchvision_resnet_to_mmpretrain,
                                unwrap_state_dict)

__all__ = [
    'ReferenceCheckpointError', 'reference_cobra_to_cobra',
    'reference_irn_to_irn', 'reference_kind', 'timm_deit_to_mmpretrain',
    'torchvision_resnet_to_mmpretrain', 'unwrap_state_dict'
]
