"""Seeds and masks on equal footing, with the mask stage's diagnostics.

    python tools/mask_report.py configs/irn/irn_r152_cobra_voc.py \
        [--seed-dir work_dirs/cobra_r152_deits_voc/seeds] \
        [--walk-dir work_dirs/irn_r152_cobra_voc/walks] [--oracle] [--crf] \
        [--mask-dirs IRN=work_dirs/irn/masks CRF-only=work_dirs/crf_masks] \
        [--out report.json]

Only the folders given are scored (``--seed-dir``, ``--walk-dir``,
``--mask-dirs``): there is no default.

Every row is scored on the same images: those of the config's
``test_dataloader.dataset`` (e.g. VOC train) that have ground truth and, for
each input given, a seed and a walk file. Rows (identifiers in the JSON
report, display labels in the table):

- ``seed_cnn|vit|fuse``: the seeds, background where no class map exceeds
  a score; the score is swept (0.05..0.95), the best and the value at
  IRN's 0.25 are reported;
- ``walk_irn``: the walked maps divided by their maximum, background score
  swept the same way (against ``seed_fuse``: what the random walk adds);
- ``walk_reference``: per class ``>= theta * max + min``, theta swept, the
  value at 0.31 also reported;
- ``oracle_irn|reference`` (``--oracle``): the fused seeds walked over the
  ground-truth class edges instead of the learned boundary map: the mask
  stage's upper bound;
- ``walk_*_crf`` (``--crf``): the reference's final dense CRF on the rule
  at its best and default value (one CRF per image and row);
- ``--mask-dirs NAME=DIR``: label PNGs as written (their rule fixed).

With walks it also scores the learned boundary map against the
ground-truth class edges on the stride-4 grid (precision / recall / F,
1-cell tolerance, swept threshold). The chosen mask rule value (the best
swept value of the config's ``model.test_cfg.mask_rule``) is printed and
written to the JSON report (``chosen``), where the pipeline reads it. The
work is done by :class:`mmseg_cobra.offline.MaskReport`; with ``--launcher
pytorch|slurm`` (one rank per node) each rank scores its share of the
images (image ``i`` on rank ``i % world``) and rank 0 writes the report,
equal to a one-process run's.
"""
import argparse
import os.path as osp
import sys

from mmengine.dist import get_rank

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import (add_flags, add_launcher_args, parse_tool_args,
                             run_cli, tool_parser)
from mmseg_cobra.offline.mask_report import MaskReport, format_report
from mmseg_cobra.ops.seed_labels import SEED_COMBINATIONS
from mmseg_cobra.utils import load_config
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import dump_json
from mmseg_cobra.utils.image_io import GroundTruthError
from mmseg_cobra.utils.sharding import close_cpu_stage, init_cpu_stage


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='IRN config')
    add_flags(parser, '--data-root', '--seed-dir', '--walk-dir')
    parser.add_argument(
        '--source',
        default='fuse',
        choices=SEED_COMBINATIONS,
        help='seed source walked by --oracle')
    parser.add_argument('--oracle', action='store_true')
    parser.add_argument('--crf', action='store_true')
    parser.add_argument(
        '--mask-dirs',
        nargs='*',
        default=[],
        metavar='NAME=DIR',
        help='label PNG folders scored as written, each under its name')
    add_flags(parser, '--out', '--cfg-options')
    add_launcher_args(parser)
    args = parse_tool_args(parser)
    if args.oracle and not args.seed_dir:
        parser.error('--oracle walks the seeds: give --seed-dir')
    if args.crf and not args.walk_dir:
        parser.error('--crf refines the walked masks: give --walk-dir')
    bad = [m for m in args.mask_dirs if '=' not in m]
    if bad:
        parser.error(f'--mask-dirs takes NAME=DIR, got {bad}')
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    for flag, folder in (('--seed-dir', args.seed_dir), ('--walk-dir',
                                                         args.walk_dir)):
        if folder and not osp.isdir(folder):
            raise UserError(f'{flag} {folder} does not exist')
    init_cpu_stage(args.launcher)
    report = MaskReport(cfg, args.data_root, args.seed_dir, args.walk_dir,
                        args.oracle, args.crf, args.source)
    try:
        result = report.run(dict(m.split('=', 1) for m in args.mask_dirs))
    except (RuntimeError, GroundTruthError) as exc:
        raise UserError(str(exc)) from None
    if get_rank() == 0:
        print(format_report(result))
        if args.out:
            dump_json(result, args.out)
    close_cpu_stage()


if __name__ == '__main__':
    sys.exit(run_cli(main))
