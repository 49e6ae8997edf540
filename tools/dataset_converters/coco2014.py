"""Prepare MS COCO 2014 for CoBra: per-image label maps and image labels.

    python tools/dataset_converters/coco2014.py data/coco2014 [--nproc 8]

Expects ``train2014/``, ``val2014/`` and ``annotations/instances_{train,val}
2014.json`` under the root. Writes under the root:
    mask/train2014/<id>.png, mask/val2014/<id>.png
        0 background, 1..80 the contiguous COCO classes, 255 crowd regions;
        larger objects are painted first so small ones stay visible
    train.txt, val.txt        image ids with at least one object
    cls_labels.npy            {id: float32[80]} for both splits
Existing PNGs are kept, so an interrupted run can be restarted.
"""
import os
import os.path as osp
import sys
from functools import partial

import numpy as np
from mmengine.utils import track_parallel_progress

from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import save_label_png, save_npy, write_text

NUM_FG = 80


def render_mask(ann_file_and_anns: tuple, out_dir: str) -> None:
    """Paint one image's annotations into a label map (worker)."""
    from pycocotools import mask as mask_utils
    (img_id, height, width), anns, cat_to_label = ann_file_and_anns
    out_path = osp.join(out_dir, img_id + '.png')
    if osp.isfile(out_path):
        return
    label_map = np.zeros((height, width), np.uint8)
    for ann in sorted(anns, key=lambda a: -a['area']):
        seg = ann['segmentation']
        if isinstance(seg, list):
            rles = mask_utils.frPyObjects(seg, height, width)
            rle = mask_utils.merge(rles)
        elif isinstance(seg['counts'], list):
            rle = mask_utils.frPyObjects(seg, height, width)
        else:
            rle = seg
        m = mask_utils.decode(rle).astype(bool)
        label_map[m] = 255 if ann.get('iscrowd',
                                      0) else cat_to_label[ann['category_id']]
    save_label_png(label_map, out_path)  # greyscale, as mmseg's COCO


def convert_split(root: str, split: str, nproc: int, labels: dict) -> list:
    from pycocotools.coco import COCO
    ann_file = osp.join(root, 'annotations', f'instances_{split}2014.json')
    if not osp.isfile(ann_file):
        raise UserError(f'{ann_file} does not exist')
    coco = COCO(ann_file)
    cat_ids = sorted(coco.getCatIds())
    if len(cat_ids) != NUM_FG:
        raise UserError(f'{ann_file} has {len(cat_ids)} categories, '
                        f'expected {NUM_FG}')
    cat_to_label = {c: i + 1 for i, c in enumerate(cat_ids)}
    out_dir = osp.join(root, 'mask', f'{split}2014')
    os.makedirs(out_dir, exist_ok=True)
    tasks, ids = [], []
    for img_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(img_id)[0]
        name = osp.splitext(info['file_name'])[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        vec = np.zeros(NUM_FG, np.float32)
        for ann in anns:
            if not ann.get('iscrowd', 0):
                vec[cat_to_label[ann['category_id']] - 1] = 1
        if vec.sum() == 0:
            continue  # no usable image-level label
        labels[name] = vec
        ids.append(name)
        tasks.append(
            ((name, info['height'], info['width']), anns, cat_to_label))
    print(f'{split}2014: {len(ids)} images with objects')
    track_parallel_progress(
        partial(render_mask, out_dir=out_dir), tasks, nproc)
    write_text('\n'.join(ids) + '\n', osp.join(root, f'{split}.txt'))
    return ids


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('root')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    add_flags(parser, '--nproc', nproc=4)
    args = parser.parse_args()
    label_file = osp.join(args.root, 'cls_labels.npy')
    # keep the labels of splits converted earlier
    labels: dict = np.load(label_file, allow_pickle=True).item() \
        if osp.isfile(label_file) else {}
    for split in args.splits:
        convert_split(args.root, split, args.nproc, labels)
    save_npy(labels, label_file)
    print(f'wrote cls_labels.npy ({len(labels)} images) under {args.root}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
