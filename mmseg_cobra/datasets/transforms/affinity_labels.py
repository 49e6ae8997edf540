import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ...ops.pair_geometry import pair_labels
from ...structures import IGNORE_INDEX


@TRANSFORMS.register_module()
class AffinityLabels(BaseTransform):
    """Turn an IR label map into IRN's pixel-pair affinity labels.

    The label map (``gt_seg_map``: 0 background, classes, 255 unknown) is
    subsampled to the boundary map's stride (nearest: every ``stride``-th
    pixel), then every pair within ``radius`` is labelled background-positive,
    foreground-positive or negative (see
    :func:`mmseg_cobra.models.utils.pair_labels`).

    Required keys: ``gt_seg_map``. Added keys: ``aff_labels`` (uint8
    ``[3, D, H/stride, W/stride]``).

    Args:
        radius (int): Pair radius in subsampled pixels (IRN: 10).
        stride (int): Boundary-map stride (4).
        ignore_index (int): Unknown label.
    """

    def __init__(self,
                 radius: int = 10,
                 stride: int = 4,
                 ignore_index: int = IGNORE_INDEX) -> None:
        self.radius = radius
        self.stride = stride
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        label = results['gt_seg_map']
        h, w = label.shape
        if h % self.stride or w % self.stride:
            raise ValueError(f'label map {h}x{w} is not a multiple of the '
                             f'stride {self.stride}: crop or pad it first')
        small = np.ascontiguousarray(label[self.stride // 2::self.stride,
                                           self.stride // 2::self.stride])
        results['aff_labels'] = pair_labels(small, self.radius,
                                            self.ignore_index)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(radius={self.radius}, '
                f'stride={self.stride})')
