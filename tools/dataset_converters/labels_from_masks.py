"""Write the image-level label file of a VOC-layout dataset from its masks.

    python tools/dataset_converters/labels_from_masks.py data/my_data \
        --lists ImageSets/Segmentation/train.txt \
        ImageSets/Segmentation/val.txt \
        --gt-dir SegmentationClass --num-classes 2 [--out cls_labels.npy]

For every image of the lists, the vector has one entry per foreground class
(``--num-classes``, background excluded): 1 where the mask holds that class
id, 0 elsewhere (0 = background and 255 = ignore are skipped). The dict
``{image id: float32[num_classes]}`` is saved with ``np.save`` under the
root, written to a temporary file first so an interrupted run leaves no
partial file. A mask with a class id above ``--num-classes`` stops the run
with the file named (the class count or the mask is wrong).
"""
import os.path as osp
import sys

import numpy as np
from mmengine.utils import ProgressBar
from PIL import Image

from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.datasets.image_level_dataset import (foreground_classes,
                                                      load_id_list, multi_hot)
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import save_npy


def label_vector(mask_path: str, num_classes: int) -> np.ndarray:
    """Multi-hot ``float32[num_classes]`` of the classes in a mask."""
    present = foreground_classes(np.asarray(Image.open(mask_path)))
    if present.size and present.max() > num_classes:
        raise ValueError(
            f'mask {mask_path} holds class id {int(present.max())} but '
            f'--num-classes is {num_classes}: give the number of foreground '
            'classes (ids 1..N; 0 background, 255 ignored)')
    return multi_hot(present, num_classes)


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('root')
    parser.add_argument(
        '--lists',
        nargs='+',
        required=True,
        help='image lists, relative to root')
    parser.add_argument(
        '--gt-dir',
        default='SegmentationClass',
        help='ground-truth masks under root')
    parser.add_argument('--seg-map-suffix', default='.png')
    parser.add_argument(
        '--num-classes',
        type=int,
        required=True,
        help='foreground classes (background excluded)')
    add_flags(parser, '--out', out='cls_labels.npy')
    args = parser.parse_args()

    ids = []
    for lst in args.lists:
        path = osp.join(args.root, lst)
        if not osp.isfile(path):
            raise UserError(f'image list {path} does not exist')
        ids += load_id_list(path)
    ids = list(dict.fromkeys(ids))
    labels, missing = {}, []
    bar = ProgressBar(len(ids))
    for img_id in ids:
        bar.update()
        mask = osp.join(args.root, args.gt_dir, img_id + args.seg_map_suffix)
        if not osp.isfile(mask):
            missing.append(mask)
            continue
        try:
            labels[img_id] = label_vector(mask, args.num_classes)
        except ValueError as exc:
            print()  # below the progress line
            raise UserError(str(exc)) from None
    print()
    if missing:
        raise UserError(f'{len(missing)} of {len(ids)} masks are missing, '
                        f'e.g. {missing[0]}: fix --gt-dir or the lists')
    out = osp.join(args.root, args.out)
    save_npy(labels, out)
    empty = sum(not v.any() for v in labels.values())
    print(f'wrote {out}: {len(labels)} images, {args.num_classes} classes' + (
        f'; {empty} image(s) without any foreground class' if empty else ''))


if __name__ == '__main__':
    sys.exit(run_cli(main))
