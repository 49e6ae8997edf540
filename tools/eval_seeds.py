"""Score seed files against ground-truth masks (no model needed).

    python tools/eval_seeds.py configs/cobra/cobra_r152_deits_voc.py \
        [--seed-dir work_dirs/cobra_r152_deits_voc/seeds] \
        [--data-root data/VOCdevkit/VOC2012] [--cfg-options k=v ...]

The seeds are those the config's seed stage wrote (``--seed-dir``, default
the config's ``SeedWriterHook`` folder, ``<work_dir>/seeds``).

The data root, the image list, the ground-truth folder and the classes come
from the config's ``test_dataloader.dataset`` (``--data-root``,
``--ann-file`` and ``--gt-dir`` override them).

Prints, for every seed source (cnn, vit, mean, max, fuse) and background rule
(fixed threshold sweep, attention-percentile sweep), the best threshold and
its mIoU, then per-class IoU / precision / recall; writes the full report as
JSON (``--out``, default ``<seed dir>/../seed_eval.json``). Seed files that are
missing, truncated or made for another dataset are listed and skipped.
With ``--launcher pytorch|slurm`` (one rank per node) each rank scores its
share of the images (image ``i`` on rank ``i % world``); the confusion
counts are summed and rank 0 writes the report, equal to one process's.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict

from mmengine.config import Config
from mmengine.dist import get_rank

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import (add_flags, add_launcher_args, parse_tool_args,
                             run_cli, seed_dir_of, tool_parser)
from mmseg_cobra.datasets import VOC_CLASSES
from mmseg_cobra.datasets.dataset_tools import dataset_metainfo
from mmseg_cobra.evaluation import SeedMetric
from mmseg_cobra.offline import score_seed_files
from mmseg_cobra.utils import load_config
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import dump_json
from mmseg_cobra.utils.image_io import GroundTruthError
from mmseg_cobra.utils.sharding import close_cpu_stage, init_cpu_stage


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'config',
        help='takes data_root, the image list, '
        'the ground truth and the classes from '
        'test_dataloader.dataset')
    add_flags(parser, '--seed-dir', '--data-root')
    parser.add_argument(
        '--gt-dir',
        help='ground-truth mask dir under the data root '
        '(default: the config\'s seg_map_path)')
    add_flags(parser, '--ann-file')
    parser.add_argument(
        '--sources', nargs='+', default=['cnn', 'vit', 'mean', 'max', 'fuse'])
    add_flags(parser, '--out', '--cfg-options')
    add_launcher_args(parser)
    args = parse_tool_args(parser)
    return args


def resolve_data(args: argparse.Namespace, cfg: Config) -> tuple:
    """(data_root, ann_file, gt_dir, classes) from the config and flags."""
    ds = cfg.test_dataloader.dataset
    root = args.data_root or ds.data_root
    # its metainfo's, else the dataset class's own (VOC, COCO, ...)
    classes = dataset_metainfo(ds).get('classes', VOC_CLASSES)
    ann = osp.join(root, args.ann_file or ds.get('ann_file', ''))
    gt_dir = osp.join(
        root, args.gt_dir or ds.get('data_prefix', {}).get(
            'seg_map_path', 'SegmentationClassAug'))
    return root, ann, gt_dir, tuple(classes)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    args.seed_dir = seed_dir_of(cfg, args.config, args.seed_dir)
    root, ann_file, gt_dir, classes = resolve_data(args, cfg)
    if not osp.isfile(ann_file):
        raise UserError(f'image list {ann_file} does not exist')
    with open(ann_file) as f:
        ids = [x.strip() for x in f if x.strip()]
    init_cpu_stage(args.launcher)
    metric = SeedMetric(sources=args.sources)
    metric.dataset_meta = dict(classes=classes)
    try:
        images = score_seed_files(metric, ids, args.seed_dir, gt_dir, classes)
    except GroundTruthError as exc:
        raise UserError(str(exc)) from None
    skipped = images.skipped
    if get_rank() == 0:
        print_skipped(skipped, len(ids))
    if metric.num_images == 0:  # on every rank (the counts are summed)
        raise UserError('no seed could be scored')
    if get_rank() == 0:
        write_report(args, metric, skipped)
    close_cpu_stage()


def print_skipped(skipped: Dict[str, str], num_ids: int) -> None:
    if skipped:
        print(f'WARNING: {len(skipped)} of {num_ids} images skipped:')
        for img_id, why in list(skipped.items())[:20]:
            print(f'  {img_id}: {why}')
        if len(skipped) > 20:
            print(f'  ... and {len(skipped) - 20} more (all in the JSON)')


def write_report(args: argparse.Namespace, metric: SeedMetric,
                 skipped: Dict[str, str]) -> None:
    """Print the scores and write the JSON report (rank 0)."""
    metric.out_file = args.out or osp.join(
        osp.dirname(osp.abspath(args.seed_dir)), 'seed_eval.json')
    scores = metric.summarize()
    with open(metric.out_file) as f:
        report = json.load(f)
    report['_images'] = dict(scored=metric.num_images, skipped=skipped)
    dump_json(report, metric.out_file)
    print(f'scored {metric.num_images} images; report: {metric.out_file}')
    print(json.dumps(scores))


if __name__ == '__main__':
    sys.exit(run_cli(main))
