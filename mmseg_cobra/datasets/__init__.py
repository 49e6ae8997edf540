from .coco_cls import COCO_CLASSES, COCOClsDataset
from .image_level_dataset import (DatasetError, ImageLevelSegDataset,
                                  foreground_classes, integer_image_key,
                                  load_id_list, lookup_label, multi_hot)
from .synthetic import generate_synthetic_voc
from .transforms import PackWSSSInputs, RandomLongSideResize
from .voc_cls import VOC_CLASSES, VOC_PALETTE, VOCClsDataset

__all__ = [
    'integer_image_key', 'foreground_classes', 'load_id_list', 'lookup_label',
    'multi_hot', 'COCO_CLASSES', 'COCOClsDataset', 'DatasetError',
    'ImageLevelSegDataset', 'generate_synthetic_voc', 'PackWSSSInputs',
    'RandomLongSideResize', 'VOC_CLASSES', 'VOC_PALETTE', 'VOCClsDataset'
]
