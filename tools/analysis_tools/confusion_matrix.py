"""Confusion matrix of a folder of label maps against the ground truth.

    python tools/analysis_tools/confusion_matrix.py CONFIG PRED_DIR SAVE_DIR \
        [--data-root DIR] [--title T] [--color-theme winter] [--show]
        [--cfg-options ...]

mmseg's interface, for the label maps this project writes: PRED_DIR holds
``<img_id>.png`` (pseudo masks, final masks, CRF masks, or the
predictions of ``tools/test.py --out``); the images, their ground truth
and the classes come from the config's ``test_dataloader.dataset``. Writes
``confusion_matrix.png`` (rows: ground truth, normalised to 100 %) and
``confusion_matrix.json`` (the counts) to SAVE_DIR, and prints the images
that were left out (no prediction, or another size).
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import DictAction

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.evaluation import confusion
from mmseg_cobra.utils import load_config_or_exit
from mmseg_cobra.utils.file_io import dump_json
from mmseg_cobra.utils.image_io import (GroundTruthError, read_ground_truth,
                                        read_label)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config whose test dataset is scored')
    parser.add_argument('prediction_path', help='folder of <img_id>.png')
    parser.add_argument('save_dir', help='where the figure and counts go')
    parser.add_argument('--data-root', help='override the dataset root')
    parser.add_argument('--title', default='Normalized Confusion Matrix')
    parser.add_argument('--color-theme', default='winter')
    parser.add_argument('--show', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def count(dataset, pred_dir: str, num_labels: int):
    """Summed confusion ``[num_labels, num_labels]`` and the skipped ids."""
    total = np.zeros((num_labels, num_labels), np.int64)
    skipped = {}
    backend = getattr(dataset, 'backend_args', None)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        pred_path = osp.join(pred_dir, info['img_id'] + '.png')
        if not osp.isfile(pred_path):
            skipped[info['img_id']] = f'{pred_path} missing'
            continue
        gt = read_ground_truth(info['seg_map_path'], num_labels,
                               dataset.ignore_index, backend)
        pred = read_label(pred_path)
        if pred.shape != gt.shape:
            skipped[info['img_id']] = (f'{pred_path} is {pred.shape}, '
                                       f'ground truth {gt.shape}')
            continue
        pred = np.where(pred < num_labels, pred, 0)  # 255 unknown: background
        total += confusion(pred, gt, num_labels, dataset.ignore_index)
    return total, skipped


def plot(counts: np.ndarray, classes, title: str, cmap: str, out: str,
         show: bool) -> None:
    import matplotlib
    if not show:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    with np.errstate(invalid='ignore', divide='ignore'):
        rows = 100 * counts / counts.sum(axis=1, keepdims=True)
    n = len(classes)
    size = max(5, 0.45 * n)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(rows, cmap=cmap, vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45, ha='right', fontsize=7)
    ax.set_yticklabels(classes, fontsize=7)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title)
    if n <= 30:
        for y in range(n):
            for x in range(n):
                if not np.isnan(rows[y, x]):
                    ax.text(
                        x,
                        y,
                        f'{rows[y, x]:.0f}',
                        ha='center',
                        va='center',
                        fontsize=6)
    fig.savefig(out, dpi=110, bbox_inches='tight')
    if show:
        plt.show()


def main() -> None:
    args = parse_args()
    if not osp.isdir(args.prediction_path):
        sys.exit(f'error: prediction folder {args.prediction_path} does not '
                 'exist: give the folder of <img_id>.png label maps')
    cfg = load_config_or_exit(args.config, args.cfg_options)
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    classes = list(dataset.metainfo['classes'])
    try:
        counts, skipped = count(dataset, args.prediction_path, len(classes))
    except GroundTruthError as exc:
        sys.exit(f'error: {exc}')
    if counts.sum() == 0:
        sys.exit(f'error: no image of the dataset has a label map in '
                 f'{args.prediction_path} (e.g. {next(iter(skipped), "")})')
    os.makedirs(args.save_dir, exist_ok=True)
    out = osp.join(args.save_dir, 'confusion_matrix.png')
    plot(counts, classes, args.title, args.color_theme, out, args.show)
    dump_json(
        dict(classes=classes, counts=counts.tolist(), skipped=skipped),
        osp.join(args.save_dir, 'confusion_matrix.json'))
    for img_id, why in list(skipped.items())[:20]:
        print(f'left out {img_id}: {why}')
    print(f'{len(dataset) - len(skipped)} images, {len(skipped)} left out; '
          f'written {out}')


if __name__ == '__main__':
    main()
