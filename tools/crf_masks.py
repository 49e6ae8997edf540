"""CRF-only masks: seeds -> background threshold -> denseCRF (no IRN).

    python tools/crf_masks.py CONFIG SEED_DIR OUT_DIR \
        [--threshold 0.3] [--source fuse] [--nproc 8]

For users who skip IRN: each image's seed (``--source``, M_fuse by default)
is thresholded (background where no class exceeds ``--threshold``; take the
best fixed threshold from ``tools/eval_seeds.py``), then refined with the
final-mask dense CRF (the reference's: gaussian sxy 2 compat 3, bilateral
sxy 45 srgb 5 compat 4, :class:`mmseg_cobra.apis.SeedCRFMaskWriter`).
Palette PNGs are
written atomically, in a process pool; existing ones are kept (resume). The
image list and classes come from the config's ``test_dataloader.dataset``
(as tools/eval_seeds.py). Exit status 1 when any image was skipped (0 with
``--allow-skipped`` when some masks exist).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.apis.label_writers import SeedCRFMaskWriter
from mmseg_cobra.datasets.dataset_tools import dataset_from_config, image_tasks
from mmseg_cobra.utils import (add_launcher_args, export_local_rank,
                               load_config_or_exit, shutdown_dist)
from mmseg_cobra.utils.seed_labels import SEED_COMBINATIONS
from mmseg_cobra.utils.sharding import init_cpu_stage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config')
    parser.add_argument('seed_dir')
    parser.add_argument('out_dir')
    parser.add_argument('--data-root')
    parser.add_argument('--threshold', type=float, default=0.3)
    parser.add_argument('--source', default='fuse', choices=SEED_COMBINATIONS)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument(
        '--allow-skipped',
        action='store_true',
        help='exit 0 when some images were skipped')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    if not osp.isdir(args.seed_dir):
        sys.exit(f'error: seed directory {args.seed_dir} does not exist: '
                 'give the seeds stage 2 wrote (tools/test.py with the '
                 'CoBra config writes <work_dir>/seeds)')
    cfg = load_config_or_exit(args.config, args.cfg_options)
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    tasks = image_tasks(dataset)
    writer = SeedCRFMaskWriter(args.seed_dir, args.out_dir, args.threshold,
                               args.source,
                               len(dataset.metainfo['classes']) - 1,
                               dataset.metainfo['palette'])
    init_cpu_stage(args.launcher)
    summary = writer.run(tasks, args.nproc,
                         getattr(dataset, 'backend_args', None))
    shutdown_dist()
    sys.exit(summary.exit_code(args.allow_skipped))


if __name__ == '__main__':
    main()
