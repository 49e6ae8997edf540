"""Draw CAM panels: image | CNN CAM | ViT CAM | fused | seed | [mask |] truth.

    python tools/visualize_cams.py SEED_DIR \
        --data-root data/VOCdevkit/VOC2012 \
        --out-dir work_dirs/cam_panels --worst 10 [--best 10] [--ids a b ...]
        [--threshold 0.3]

The CAM columns show, per pixel, the strongest positive class's map as a
heat map over the image; the seed column is the fused map thresholded at
``--threshold`` (background) and painted with the VOC palette.
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np
from mmengine.utils import ProgressBar
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_cobra.datasets import VOC_PALETTE
from mmseg_cobra.evaluation import confusion, seeds_to_label
from mmseg_cobra.utils.seed_io import SeedFileError, load_seed, seed_path


def palette_image(label: np.ndarray) -> np.ndarray:
    palette = np.zeros((256, 3), np.uint8)
    palette[:len(VOC_PALETTE)] = VOC_PALETTE
    palette[255] = (224, 224, 192)
    return palette[label]


def heat(image: np.ndarray, cams: np.ndarray) -> np.ndarray:
    peak = cams.max(axis=0) if len(cams) else np.zeros(image.shape[:2])
    colour = cv2.applyColorMap((np.clip(peak, 0, 1) * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)[..., ::-1]
    return (0.5 * image + 0.5 * colour).astype(np.uint8)


def image_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    n = max(int(pred.max()), int(gt[gt != 255].max(initial=0))) + 1
    conf = confusion(pred, gt, n)
    inter = np.diag(conf)
    union = conf.sum(0) + conf.sum(1) - inter
    valid = union > 0
    return float((inter[valid] / union[valid]).mean()) if valid.any() else 0.


def panel(image, seed, gt, threshold, mask=None) -> np.ndarray:
    seed_label = seeds_to_label(seed['cam_fuse'], seed['keys'], threshold)
    tiles = [
        image,
        heat(image, seed['cam_cnn']),
        heat(image, seed['cam_vit']),
        heat(image, seed['cam_fuse']),
        palette_image(seed_label)
    ]
    titles = ['image', 'CNN CAM', 'ViT CAM', 'fused', 'seed']
    if mask is not None:
        tiles.append(palette_image(mask))
        titles.append('mask')
    tiles.append(palette_image(gt) if gt is not None else np.zeros_like(image))
    titles.append('ground truth')
    out = []
    for tile, title in zip(tiles, titles):
        tile = np.array(tile)  # writable copy (PIL arrays are read-only)
        cv2.putText(tile, title, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
        out.append(tile)
    return np.concatenate(out, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('seed_dir')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--img-dir', default='JPEGImages')
    parser.add_argument('--gt-dir', default='SegmentationClassAug')
    parser.add_argument('--split', default='train')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--ids', nargs='+')
    parser.add_argument('--worst', type=int, default=0)
    parser.add_argument('--best', type=int, default=0)
    parser.add_argument('--threshold', type=float, default=0.3)
    parser.add_argument(
        '--mask-dir',
        help='pseudo masks (stage 3) to show next to the '
        'seed')
    args = parser.parse_args()

    if args.ids:
        ids = args.ids
    else:
        ann = osp.join(args.data_root, 'ImageSets/Segmentation',
                       args.split + '.txt')
        with open(ann) as f:
            ids = [x.strip() for x in f if x.strip()]
    if not (args.ids or args.worst or args.best):
        args.worst = 10

    def load(img_id):
        img = np.asarray(
            Image.open(
                osp.join(args.data_root, args.img_dir,
                         img_id + '.jpg')).convert('RGB'))
        gt_path = osp.join(args.data_root, args.gt_dir, img_id + '.png')
        gt = np.asarray(Image.open(gt_path)) if osp.isfile(gt_path) else None
        seed = load_seed(
            seed_path(args.seed_dir, img_id), image_size=img.shape[:2])
        return img, seed, gt

    chosen = list(ids)
    if not args.ids:
        scores = []
        bar = ProgressBar(len(ids))
        for img_id in ids:
            bar.update()
            try:
                _, seed, gt = load(img_id)
            except (SeedFileError, OSError) as exc:
                print(f'\nskipping {img_id}: {exc}')
                continue
            if gt is None:
                continue
            pred = seeds_to_label(seed['cam_fuse'], seed['keys'],
                                  args.threshold)
            scores.append((image_iou(pred, gt), img_id))
        scores.sort()
        chosen = [i for _, i in scores[:args.worst]]
        chosen += [i for _, i in scores[::-1][:args.best]]
        print()
    os.makedirs(args.out_dir, exist_ok=True)
    for img_id in chosen:
        img, seed, gt = load(img_id)
        out = osp.join(args.out_dir, img_id + '.png')
        mask = None
        if args.mask_dir:
            mask_path = osp.join(args.mask_dir, img_id + '.png')
            if osp.isfile(mask_path):
                mask = np.asarray(Image.open(mask_path))
        Image.fromarray(panel(img, seed, gt, args.threshold, mask)).save(out)
        print(out)


if __name__ == '__main__':
    main()
