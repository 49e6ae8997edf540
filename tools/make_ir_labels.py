"""Stage 3a: IR labels from the fused seeds, for IRN training.

    python tools/make_ir_labels.py configs/irn/irn_r152_cobra_voc.py \
        [--nproc 8] [--allow-skipped] \
        [--cfg-options ir_label_cfg.percentile=90]

Reads ``ir_label_cfg`` (seed dir, output dir, thresholds, CRF) and the image
list of ``ir_label_dataset`` from the IRN config; writes one palette PNG per
image (0 background, classes, 255 unknown), atomically, in a process pool
(:class:`mmseg_cobra.apis.IRLabelWriter`). Images already written are
skipped, so an interrupted run resumes. Images whose seed is missing or does
not fit the image are listed and counted, never written as empty labels
(exit status 1, or 0 with ``--allow-skipped`` when some labels exist).
Images whose foreground threshold leaves no confident foreground (e.g. an
attention-percentile threshold above 0.5, so background + 0.5 > 1) are
written (their background is still informative) and counted and named at
the end.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.apis.label_writers import IRLabelWriter
from mmseg_cobra.datasets.dataset_tools import dataset_from_config, image_tasks
from mmseg_cobra.utils import (add_launcher_args, export_local_rank,
                               load_config_or_exit, shutdown_dist)
from mmseg_cobra.utils.sharding import init_cpu_stage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument(
        '--allow-skipped',
        action='store_true',
        help='exit 0 when some images were skipped')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    cfg = load_config_or_exit(args.config, args.cfg_options)
    ir_cfg = dict(cfg.ir_label_cfg)
    if not osp.isdir(ir_cfg['seed_dir']):
        sys.exit(f'error: seed directory {ir_cfg["seed_dir"]} does not '
                 'exist: run the seed stage first')
    dataset = dataset_from_config(cfg, 'ir_label_dataset')
    tasks = image_tasks(dataset)
    writer = IRLabelWriter(ir_cfg,
                           len(dataset.metainfo['classes']) - 1,
                           dataset.metainfo['palette'])
    print(f'IR labels for {len(tasks)} images -> {ir_cfg["out_dir"]}')
    init_cpu_stage(args.launcher)
    summary = writer.run(tasks, args.nproc,
                         getattr(dataset, 'backend_args', None))
    shutdown_dist()
    sys.exit(summary.exit_code(args.allow_skipped))


if __name__ == '__main__':
    main()
