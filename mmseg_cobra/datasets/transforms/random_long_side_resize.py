import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomLongSideResize(BaseTransform):
    """Rescale so the long side is a random integer in
    ``[min_size, max_size]``.

    The classifier augmentation of IRN and the CoBra paper (long side 320 to
    640, aspect ratio kept). mmcv's ``RandomResize`` samples the long and the
    short edge independently, which is not the same distribution.

    Required keys: ``img``; optional ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_seg_map``; added
    ``scale_factor``.

    Args:
        min_size (int): Smallest long side. Defaults to 320.
        max_size (int): Largest long side. Defaults to 640.
    """

    def __init__(self, min_size: int = 320, max_size: int = 640) -> None:
        if not 0 < min_size <= max_size:
            raise ValueError(f'need 0 < min_size <= max_size, got '
                             f'{min_size}, {max_size}')
        self.min_size = min_size
        self.max_size = max_size

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        target = np.random.randint(self.min_size, self.max_size + 1)
        scale = target / max(h, w)
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        results['img'] = mmcv.imresize(
            img, (new_w, new_h), interpolation='bilinear')
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = mmcv.imresize(
                results['gt_seg_map'], (new_w, new_h), interpolation='nearest')
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_size={self.min_size}, '
                f'max_size={self.max_size})')
