from .cam_consistency_loss import CAMConsistencyLoss
from .cap_loss import CAPLoss
from .multilabel_soft_margin_loss import MultiLabelSoftMarginLoss
from .patch_contrastive import (normalize_patches, patch_info_nce,
                                reduce_patch_loss)
from .sap_loss import SAPLoss

__all__ = [
    'CAMConsistencyLoss', 'CAPLoss', 'MultiLabelSoftMarginLoss', 'SAPLoss',
    'normalize_patches', 'patch_info_nce', 'reduce_patch_loss'
]
