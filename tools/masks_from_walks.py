"""Pseudo masks from IRN's walked maps with a chosen rule (no IRN rerun).

    python tools/masks_from_walks.py IRN_CONFIG WALK_DIR OUT_DIR \
        [--rule reference|irn] [--value 0.31] [--no-crf] [--nproc 8]

The mask stage (``tools/test.py`` on an IRN config) writes the walked maps
of every image (``<work_dir>/walks``, ``WalkWriterHook``).
``tools/mask_report.py --walks`` sweeps the rules' parameters on the images
that have ground truth; this tool then writes the masks of every image with
the chosen rule and value (``--rule``/``--value``, defaults: the config's
``model.test_cfg``), followed by the reference's final dense CRF unless
``--no-crf`` (:class:`mmseg_cobra.apis.WalkMaskWriter`). Palette PNGs are
written atomically in a process pool; existing ones are kept, so an
interrupted run resumes. The image list comes from the config's
``test_dataloader.dataset``. Exit status 1 when any image was skipped (0
with ``--allow-skipped`` when some masks exist).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.apis.label_writers import WalkMaskWriter
from mmseg_cobra.datasets.dataset_tools import dataset_from_config, image_tasks
from mmseg_cobra.models.utils import MASK_RULES
from mmseg_cobra.utils import (add_launcher_args, export_local_rank,
                               load_config_or_exit, shutdown_dist)
from mmseg_cobra.utils.crf import FINAL_CRF_CFG
from mmseg_cobra.utils.sharding import init_cpu_stage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config', help='IRN config')
    parser.add_argument('walk_dir')
    parser.add_argument('out_dir')
    parser.add_argument('--data-root')
    parser.add_argument(
        '--ann-file',
        help='image list (default: the '
        "config's test_dataloader.dataset.ann_file)")
    parser.add_argument('--rule', choices=MASK_RULES)
    parser.add_argument(
        '--value',
        type=float,
        help='theta (reference) or background score (irn)')
    parser.add_argument('--no-crf', action='store_true')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument(
        '--allow-skipped',
        action='store_true',
        help='exit 0 when some images were skipped')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    if not osp.isdir(args.walk_dir):
        sys.exit(f'error: walk directory {args.walk_dir} does not exist: '
                 'give the walks the mask stage wrote (tools/test.py with '
                 'the IRN config writes <work_dir>/walks)')
    cfg = load_config_or_exit(args.config, args.cfg_options)
    if args.ann_file:
        cfg.test_dataloader.dataset.ann_file = args.ann_file
    test_cfg = cfg.model.get('test_cfg', {})
    rule = args.rule or test_cfg.get('mask_rule', 'reference')
    value = args.value if args.value is not None else test_cfg.get(
        'theta' if rule == 'reference' else 'bg_threshold',
        0.31 if rule == 'reference' else 0.25)
    crf_cfg = None if args.no_crf else dict(
        test_cfg.get('crf_cfg') or FINAL_CRF_CFG)
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    tasks = image_tasks(dataset)
    print(f'masks of {len(tasks)} images, rule {rule} {value:g}, '
          f'{"no CRF" if crf_cfg is None else "dense CRF"} -> {args.out_dir}')
    writer = WalkMaskWriter(args.walk_dir, args.out_dir, rule, value, crf_cfg,
                            dataset.metainfo['palette'],
                            test_cfg.get('walk_upsample', 'resize'))
    init_cpu_stage(args.launcher)
    summary = writer.run(tasks, args.nproc,
                         getattr(dataset, 'backend_args', None))
    shutdown_dist()
    sys.exit(summary.exit_code(args.allow_skipped))


if __name__ == '__main__':
    main()
