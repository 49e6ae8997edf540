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

    Adds ``data_sample.gt_label``: float tensor ``[num_fg_classes]``
    (multi-hot, background excluded) from ``results['gt_label']``,
    ``img_id`` to the meta information, and every key of ``data_keys``
    present in the results as a tensor field of the data sample (e.g.
    ``aff_labels`` for IRN,
    ``seed_cams`` / ``seed_cams_grid`` / ``seed_keys`` for mask inference).

    Args:
        meta_keys (tuple): Keys copied into the data sample's metainfo.
        data_keys (tuple): Array keys packed as tensor fields.
    """

    def __init__(
        self,
        meta_keys: tuple = DEFAULT_META_KEYS,
        data_keys: tuple = ('gt_label', 'aff_labels', 'seed_cams',
                            'seed_cams_grid', 'seed_keys')
    ) -> None:
        super().__init__(meta_keys=meta_keys)
        self.data_keys = tuple(data_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        for key in self.data_keys:
            if key in results:
                value = np.asarray(results[key])
                if key == 'gt_label':
                    value = value.astype(np.float32)
                setattr(packed['data_samples'], key,
                        torch.from_numpy(np.ascontiguousarray(value)))
        return packed
