"""MS COCO 2014 (80 classes) with image-level labels."""
from mmseg.registry import DATASETS

from .image_level_dataset import ImageLevelSegDataset

COCO_CLASSES = ('background', 'person', 'bicycle', 'car', 'motorcycle',
                'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
                'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird',
                'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear',
                'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie',
                'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
                'kite', 'baseball bat', 'baseball glove', 'skateboard',
                'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup',
                'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
                'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
                'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
                'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
                'keyboard', 'cell phone', 'microwave', 'oven', 'toaster',
                'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
                'teddy bear', 'hair drier', 'toothbrush')


def _coco_palette(n: int = 81) -> list:
    """VOC-style bit-interleaved palette for ``n`` labels."""
    palette = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


@DATASETS.register_module()
class COCOClsDataset(ImageLevelSegDataset):
    """MS COCO 2014 with image-level labels (80 foreground classes).

    Defaults match the layout written by
    ``tools/dataset_converters/coco2014.py``: ``train2014/`` or ``val2014/``
    images, ``mask/<split>/<id>.png`` label maps (0 background, 1..80 the
    contiguous COCO classes) and ``cls_labels.npy`` under ``data_root``.
    """
    METAINFO = dict(classes=COCO_CLASSES, palette=_coco_palette())

    def __init__(self,
                 ann_file: str = 'train.txt',
                 data_prefix: dict = dict(
                     img_path='train2014', seg_map_path='mask/train2014'),
                 cls_label_file: str = 'cls_labels.npy',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            data_prefix=data_prefix,
            cls_label_file=cls_label_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            **kwargs)
