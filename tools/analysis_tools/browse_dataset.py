"""Look at a dataset as the stages see it: image, image-level labels, mask.

    python tools/analysis_tools/browse_dataset.py CONFIG \
        [--out-dir work_dirs/browse] [--dataloader train_dataloader]
        [--mask-dir work_dirs/voc/final_masks] [--max-images 50]
        [--not-show] [--show-interval 2] [--cfg-options ...]

mmseg's interface, for the image-level datasets: one panel per image of the
config's ``train_dataloader`` (``--dataloader`` another) with the image,
its image-level class names (the label every classifier loss trains on),
and, beside it, the ground-truth mask or, with ``--mask-dir DIR``, the pseudo
mask ``DIR/<img_id>.png`` a stage wrote, in the dataset's palette. Panels
are written to ``--out-dir`` (and shown unless ``--not-show``).
"""
import os
import os.path as osp
import sys

import cv2
import numpy as np
from mmengine.utils import ProgressBar

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.utils import load_config
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import save_image
from mmseg_cobra.utils.image_io import read_image, read_label
from mmseg_cobra.visualization import palette_image


def parse_args():
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='a stage config')
    add_flags(parser, '--out-dir', out_dir='work_dirs/browse_dataset')
    parser.add_argument('--dataloader', default='train_dataloader')
    parser.add_argument(
        '--mask-dir', help='folder of <img_id>.png pseudo masks')
    parser.add_argument('--max-images', type=int, default=50)
    parser.add_argument('--not-show', action='store_true')
    parser.add_argument('--show-interval', type=float, default=2.0)
    add_flags(parser, '--cfg-options')
    return parser.parse_args()


def panel(image: np.ndarray, label, names, palette,
          caption: str) -> np.ndarray:
    """``[image | image blended with the mask]`` with the class names."""
    right = image.copy() if label is None else \
        (0.45 * image + 0.55 * palette_image(label, palette)).astype(np.uint8)
    canvas = np.concatenate([image, right], axis=1)
    bar = np.full((24, canvas.shape[1], 3), 255, np.uint8)
    text = f'{caption}: {", ".join(names) if names else "(no class)"}'
    cv2.putText(bar, text[:120], (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, canvas], axis=0)


def main() -> None:
    args = parse_args()
    if args.mask_dir and not osp.isdir(args.mask_dir):
        raise UserError(
            f'mask folder {args.mask_dir} does not exist: give the '
            'folder of <img_id>.png a stage wrote (e.g. '
            '<work_dir>/final_masks)')
    cfg = load_config(args.config, args.cfg_options)
    dataset = dataset_from_config(cfg, args.dataloader)
    classes = dataset.metainfo['classes']
    palette = dataset.metainfo.get('palette') or [[0, 0, 0]]
    backend = getattr(dataset, 'backend_args', None)
    os.makedirs(args.out_dir, exist_ok=True)
    count = min(len(dataset), args.max_images)
    bar = ProgressBar(count)
    for i in range(count):
        info = dataset.get_data_info(i)
        image = read_image(info['img_path'], backend)
        if args.mask_dir:
            path = osp.join(args.mask_dir, info['img_id'] + '.png')
            label = read_label(path) if osp.isfile(path) else None
        else:
            path = info.get('seg_map_path')
            label = read_label(path, backend) \
                if path and osp.isfile(path) else None
        positive = np.flatnonzero(np.asarray(info.get('gt_label', [])) > 0)
        names = [classes[k + 1] for k in positive]
        out = panel(image, label, names, palette, info['img_id'])
        save_image(
            out, osp.join(args.out_dir, info['img_id'] + '.jpg'), quality=90)
        if not args.not_show:
            try:
                cv2.imshow('browse_dataset', out[..., ::-1])
                cv2.waitKey(int(args.show_interval * 1000))
            except cv2.error:  # headless OpenCV or no display
                print('\nno display here: the panels are only written')
                args.not_show = True
        bar.update()
    print(f'\n{count} panels written to {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
