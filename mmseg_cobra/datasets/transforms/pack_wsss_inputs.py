import numpy as np
import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

DEFAULT_META_KEYS = ('img_id', 'img_path', 'seg_map_path', 'ori_shape',
                     'img_shape', 'pad_shape', 'scale_factor', 'flip',
                     'flip_direction', 'reduce_zero_label')


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """``PackSegInputs`` that also packs the image-level label.

    Adds ``data_sample.gt_label``: float tensor ``[num_fg_classes]`` (multi-hot,
    background excluded) from ``results['gt_label']``, and ``img_id`` to the
    meta information.

    Args:
        meta_keys (tuple): Keys copied into the data sample's metainfo.
    """

    def __init__(self, meta_keys: tuple = DEFAULT_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_label' in results:
            packed['data_samples'].gt_label = torch.from_numpy(
                np.asarray(results['gt_label'], dtype=np.float32))
        return packed
