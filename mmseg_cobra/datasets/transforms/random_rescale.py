import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale by a random factor in ``ratio_range`` of the image's own size.

    IRN's augmentation (0.5 to 1.5). Images use bicubic interpolation (IRN:
    PIL bicubic), masks nearest.

    Required keys: ``img``; optional ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_seg_map``; added
    ``scale_factor``.

    Args:
        ratio_range (tuple): ``(low, high)`` factors.
        interpolation (str): Image interpolation (``mmcv.imresize``).
    """

    def __init__(self,
                 ratio_range: tuple = (0.5, 1.5),
                 interpolation: str = 'bicubic') -> None:
        low, high = ratio_range
        if not 0 < low <= high:
            raise ValueError(f'bad ratio_range {ratio_range}')
        self.ratio_range = (float(low), float(high))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        ratio = np.random.uniform(*self.ratio_range)
        size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
        results['img'] = mmcv.imresize(
            results['img'], size, interpolation=self.interpolation)
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = mmcv.imresize(
                results['gt_seg_map'], size, interpolation='nearest')
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / w, size[1] / h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio_range={self.ratio_range})'
