"""Look at a dataset as the stages see it: image, image-level labels, mask.

    python tools/analysis_tools/browse_dataset.py CONFIG \
        [--output-dir work_dirs/browse] [--dataloader train_dataloader]
        [--masks work_dirs/voc/final_masks] [--max-images 50]
        [--not-show] [--show-interval 2] [--cfg-options ...]

mmseg's interface, for the image-level datasets: one panel per image of the
config's ``train_dataloader`` (``--dataloader`` another) with the image,
its image-level class names (the label every classifier loss trains on),
and, beside it, the ground-truth mask or, with ``--masks DIR``, the pseudo
mask ``DIR/<img_id>.png`` a stage wrote, in the dataset's palette. Panels
are written to ``--output-dir`` (and shown unless ``--not-show``).
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np
from mmengine.config import DictAction
from mmengine.utils import ProgressBar
from PIL import Image

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.utils import load_config_or_exit
from mmseg_cobra.utils.image_io import read_image, read_label


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a stage config')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset')
    parser.add_argument('--dataloader', default='train_dataloader')
    parser.add_argument('--masks', help='folder of <img_id>.png pseudo masks')
    parser.add_argument('--max-images', type=int, default=50)
    parser.add_argument('--not-show', action='store_true')
    parser.add_argument('--show-interval', type=float, default=2.0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def colour(label: np.ndarray, palette) -> np.ndarray:
    """A label map in the dataset's palette (255: light grey)."""
    table = np.full((256, 3), 224, np.uint8)
    table[:len(palette)] = np.asarray(palette, np.uint8)[:256]
    return table[label]


def panel(image: np.ndarray, label, names, palette,
          caption: str) -> np.ndarray:
    """``[image | image blended with the mask]`` with the class names."""
    right = image.copy() if label is None else \
        (0.45 * image + 0.55 * colour(label, palette)).astype(np.uint8)
    canvas = np.concatenate([image, right], axis=1)
    bar = np.full((24, canvas.shape[1], 3), 255, np.uint8)
    text = f'{caption}: {", ".join(names) if names else "(no class)"}'
    cv2.putText(bar, text[:120], (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, canvas], axis=0)


def main() -> None:
    args = parse_args()
    if args.masks and not osp.isdir(args.masks):
        sys.exit(f'error: mask folder {args.masks} does not exist: give the '
                 'folder of <img_id>.png a stage wrote (e.g. '
                 '<work_dir>/final_masks)')
    cfg = load_config_or_exit(args.config, args.cfg_options)
    dataset = dataset_from_config(cfg, args.dataloader)
    classes = dataset.metainfo['classes']
    palette = dataset.metainfo.get('palette') or [[0, 0, 0]]
    backend = getattr(dataset, 'backend_args', None)
    os.makedirs(args.output_dir, exist_ok=True)
    count = min(len(dataset), args.max_images)
    bar = ProgressBar(count)
    for i in range(count):
        info = dataset.get_data_info(i)
        image = read_image(info['img_path'], backend)
        if args.masks:
            path = osp.join(args.masks, info['img_id'] + '.png')
            label = read_label(path) if osp.isfile(path) else None
        else:
            path = info.get('seg_map_path')
            label = read_label(path, backend) \
                if path and osp.isfile(path) else None
        positive = np.flatnonzero(np.asarray(info.get('gt_label', [])) > 0)
        names = [classes[k + 1] for k in positive]
        out = panel(image, label, names, palette, info['img_id'])
        Image.fromarray(out).save(
            osp.join(args.output_dir, info['img_id'] + '.jpg'), quality=90)
        if not args.not_show:
            try:
                cv2.imshow('browse_dataset', out[..., ::-1])
                cv2.waitKey(int(args.show_interval * 1000))
            except cv2.error:  # headless OpenCV or no display
                print('\nno display here: the panels are only written')
                args.not_show = True
        bar.update()
    print(f'\n{count} panels written to {args.output_dir}')


if __name__ == '__main__':
    main()
