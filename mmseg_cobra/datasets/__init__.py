from .coco_cls import COCO_CLASSES, COCOClsDataset
from .image_level_dataset import (DatasetError, ImageLevelSegDataset,
                                  integer_image_key)
from .synthetic import generate_synthetic_voc
from .transforms import PackWSSSInputs, RandomLongSideResize
from .voc_cls import VOC_CLASSES, VOC_PALETTE, VOCClsDataset

__all__ = [
    'integer_image_key',
    'COCO_CLASSES', 'COCOClsDataset', 'DatasetError', 'ImageLevelSegDataset',
    'generate_synthetic_voc', 'PackWSSSInputs', 'RandomLongSideResize',
    'VOC_CLASSES', 'VOC_PALETTE', 'VOCClsDataset'
]
