"""Prepare PASCAL VOC 2012 + SBD for CoBra (train_aug, masks, image labels).

    python tools/dataset_converters/voc_aug.py data/VOCdevkit/VOC2012 \
        --sbd-root data/benchmark_RELEASE/dataset [--nproc 8]

Writes under the VOC root:
    SegmentationClassAug/<id>.png   SBD masks (.mat -> PNG), overwritten by the
                                    VOC masks where VOC has one
    ImageSets/Segmentation/train_aug.txt   (VOC train + SBD train + SBD val)
                                           minus VOC val: 10,582 ids
    cls_labels.npy                  {id: float32[20]} for train_aug/train/val
Existing PNGs are kept, so an interrupted run can be restarted.
"""
import os
import os.path as osp
import shutil
import sys

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.datasets.voc_cls import VOC_PALETTE
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import (atomic_write, save_label_png, save_npy,
                                       write_text)

NUM_FG = 20


def read_ids(path: str) -> list:
    if not osp.isfile(path):
        raise UserError(f'id list {path} does not exist')
    with open(path) as f:
        return [x.strip() for x in f if x.strip()]


def save_png(mask: np.ndarray, path: str) -> None:
    save_label_png(mask, path, VOC_PALETTE)


def convert_sbd(task: tuple) -> None:
    mat_path, out_path = task
    if osp.isfile(out_path):
        return
    from scipy.io import loadmat
    mask = loadmat(mat_path)['GTcls'][0]['Segmentation'][0]
    save_png(mask, out_path)


def copy_voc(task: tuple) -> None:
    src, dst = task
    with atomic_write(dst) as tmp:
        shutil.copyfile(src, tmp)


def label_of(path: str) -> np.ndarray:
    mask = np.asarray(Image.open(path))
    present = np.unique(mask)
    present = present[(present > 0) & (present <= NUM_FG)]
    vec = np.zeros(NUM_FG, np.float32)
    vec[present - 1] = 1
    return vec


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('voc_root', help='VOCdevkit/VOC2012')
    parser.add_argument('--sbd-root', help='benchmark_RELEASE/dataset')
    add_flags(parser, '--nproc', nproc=4)
    args = parser.parse_args()

    root = args.voc_root
    if not osp.isdir(osp.join(root, 'JPEGImages')):
        raise UserError(f'{root} has no JPEGImages/: give the VOC2012 dir')
    sets = osp.join(root, 'ImageSets', 'Segmentation')
    voc_train = read_ids(osp.join(sets, 'train.txt'))
    voc_val = read_ids(osp.join(sets, 'val.txt'))
    out_dir = osp.join(root, 'SegmentationClassAug')
    os.makedirs(out_dir, exist_ok=True)

    train_aug = set(voc_train)
    if args.sbd_root:
        sbd_ids = read_ids(osp.join(args.sbd_root, 'train.txt')) + read_ids(
            osp.join(args.sbd_root, 'val.txt'))
        tasks = [(osp.join(args.sbd_root, 'cls',
                           i + '.mat'), osp.join(out_dir, i + '.png'))
                 for i in sbd_ids]
        missing = [t[0] for t in tasks if not osp.isfile(t[0])]
        if missing:
            raise UserError(f'{len(missing)} SBD masks missing, e.g. '
                            f'{missing[0]}')
        print(f'converting {len(tasks)} SBD masks')
        track_parallel_progress(convert_sbd, tasks, args.nproc)
        train_aug |= set(sbd_ids)
    else:
        print('no --sbd-root: train_aug is VOC train only (1,464 images)')
    train_aug -= set(voc_val)

    voc_masks = [(osp.join(root, 'SegmentationClass',
                           i + '.png'), osp.join(out_dir, i + '.png'))
                 for i in voc_train + voc_val]
    missing = [t[0] for t in voc_masks if not osp.isfile(t[0])]
    if missing:
        raise UserError(f'{len(missing)} VOC masks missing, e.g. {missing[0]}')
    print(f'copying {len(voc_masks)} VOC masks')
    track_progress(copy_voc, voc_masks)

    train_aug = sorted(train_aug)
    write_text('\n'.join(train_aug) + '\n', osp.join(sets, 'train_aug.txt'))
    ids = sorted(set(train_aug) | set(voc_train) | set(voc_val))
    print(f'image-level labels for {len(ids)} images')
    vectors = track_parallel_progress(
        label_of, [osp.join(out_dir, i + '.png') for i in ids], args.nproc)
    labels = dict(zip(ids, vectors))
    empty = [i for i, v in labels.items() if v.sum() == 0]
    if empty:
        print(f'warning: {len(empty)} images have no foreground class, e.g. '
              f'{empty[0]}')
    save_npy(labels, osp.join(root, 'cls_labels.npy'))
    print(f'train_aug: {len(train_aug)} ids; wrote cls_labels.npy, '
          f'train_aug.txt and SegmentationClassAug/ under {root}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
