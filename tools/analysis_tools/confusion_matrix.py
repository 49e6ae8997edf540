"""Confusion matrix of a folder of label maps against the ground truth.

    python tools/analysis_tools/confusion_matrix.py CONFIG --pred-dir DIR \
        [--out-dir DIR] [--data-root DIR] [--title T] \
        [--color-theme winter] [--show] [--cfg-options ...]

mmseg's tool, for the label maps this project writes, with this project's
flags (mmseg's positional PRED_DIR and SAVE_DIR are ``--pred-dir`` and
``--out-dir``, as in every tool here): ``--pred-dir`` holds
``<img_id>.png`` (pseudo masks, final masks, CRF masks, or the
predictions of ``tools/test.py --out-dir``); the images, their ground truth
and the classes come from the config's ``test_dataloader.dataset``. Writes
``confusion_matrix.png`` (rows: ground truth, normalised to 100 %) and
``confusion_matrix.json`` (the counts) to ``--out-dir`` (default
``<pred dir>/../confusion_matrix``), and prints the images that were left
out (no prediction, or another size).
"""
import os
import os.path as osp
import sys

import numpy as np

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.evaluation import confusion
from mmseg_cobra.utils import load_config
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import dump_json, save_figure
from mmseg_cobra.utils.image_io import (GroundTruthError, read_ground_truth,
                                        read_label)


def parse_args():
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='config whose test dataset is scored')
    parser.add_argument(
        '--pred-dir', required=True, help='folder of <img_id>.png')
    add_flags(parser, '--out-dir', '--data-root')
    parser.add_argument('--title', default='Normalized Confusion Matrix')
    parser.add_argument('--color-theme', default='winter')
    parser.add_argument('--show', action='store_true')
    add_flags(parser, '--cfg-options')
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
    if show:
        plt.show()
    save_figure(fig, out)


def main() -> None:
    args = parse_args()
    if not osp.isdir(args.pred_dir):
        raise UserError(f'prediction folder {args.pred_dir} does not '
                        'exist: give the folder of <img_id>.png label maps')
    cfg = load_config(args.config, args.cfg_options)
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    classes = list(dataset.metainfo['classes'])
    try:
        counts, skipped = count(dataset, args.pred_dir, len(classes))
    except GroundTruthError as exc:
        raise UserError(str(exc)) from None
    if counts.sum() == 0:
        raise UserError(f'no image of the dataset has a label map in '
                        f'{args.pred_dir} (e.g. {next(iter(skipped), "")})')
    out_dir = args.out_dir or osp.join(
        osp.dirname(osp.abspath(args.pred_dir)), 'confusion_matrix')
    os.makedirs(out_dir, exist_ok=True)
    out = osp.join(out_dir, 'confusion_matrix.png')
    plot(counts, classes, args.title, args.color_theme, out, args.show)
    dump_json(
        dict(classes=classes, counts=counts.tolist(), skipped=skipped),
        osp.join(out_dir, 'confusion_matrix.json'))
    for img_id, why in list(skipped.items())[:20]:
        print(f'left out {img_id}: {why}')
    print(f'{len(dataset) - len(skipped)} images, {len(skipped)} left out; '
          f'written {out}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
