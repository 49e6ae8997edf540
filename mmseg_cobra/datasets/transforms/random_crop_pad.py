from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ...structures import IGNORE_INDEX

#: ImageNet mean colour in BGR (``LoadImageFromFile`` order): 0 after the
#: data preprocessor's normalisation, as IRN's padding.
IMAGENET_MEAN_BGR = (103.53, 116.28, 123.675)


@TRANSFORMS.register_module()
class RandomCropPad(BaseTransform):
    """IRN's random crop: a fixed-size window, padded where the image is
    smaller.

    Along each axis, an image longer than the crop is cropped at a random
    position; a shorter one is placed at a random offset inside the crop,
    and the rest is filled with ``pad_val`` (image) and ``seg_pad_val``
    (label map). This is ``imutils.random_crop`` of IRN; mmseg's
    ``RandomCrop`` + ``Pad`` instead pad black at the bottom-right only.

    Required keys: ``img``; optional ``gt_seg_map``.
    Modified keys: ``img``, ``img_shape``, ``gt_seg_map``.

    Args:
        crop_size (int | tuple): ``(h, w)`` of the output.
        pad_val (float | Sequence[float]): Image fill, per channel (default
            the ImageNet mean in BGR).
        seg_pad_val (int): Label fill (255, unknown).
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 pad_val: Union[float, Sequence[float]] = IMAGENET_MEAN_BGR,
                 seg_pad_val: int = IGNORE_INDEX) -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f'bad crop_size {crop_size}')
        self.crop_size = tuple(int(c) for c in crop_size)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    @staticmethod
    def _axis(length: int, crop: int) -> Tuple[slice, slice]:
        """(source slice, destination slice) along one axis."""
        if length >= crop:
            start = np.random.randint(length - crop + 1)
            return slice(start, start + crop), slice(0, crop)
        offset = np.random.randint(crop - length + 1)
        return slice(0, length), slice(offset, offset + length)

    def transform(self, results: dict) -> dict:
        img = results['img']
        ch, cw = self.crop_size
        src_y, dst_y = self._axis(img.shape[0], ch)
        src_x, dst_x = self._axis(img.shape[1], cw)
        canvas = np.empty((ch, cw) + img.shape[2:], img.dtype)
        canvas[...] = np.round(np.asarray(self.pad_val, np.float64)).astype(
            img.dtype) if np.issubdtype(img.dtype, np.integer) else \
            np.asarray(self.pad_val, img.dtype)
        canvas[dst_y, dst_x] = img[src_y, src_x]
        results['img'] = canvas
        results['img_shape'] = canvas.shape[:2]
        if 'gt_seg_map' in results:
            seg = results['gt_seg_map']
            out = np.full((ch, cw), self.seg_pad_val, seg.dtype)
            out[dst_y, dst_x] = seg[src_y, src_x]
            results['gt_seg_map'] = out
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')
