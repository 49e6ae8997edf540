"""Seeds and masks on equal footing, with the mask stage's diagnostics.

    python tools/mask_report.py configs/irn/irn_r152_cobra_voc.py \
        --seeds work_dirs/cobra_r152_deits_voc/seeds \
        --walks work_dirs/irn_r152_cobra_voc/walks [--oracle] [--crf] \
        [--masks IRN=work_dirs/irn/masks CRF-only=work_dirs/crf_masks] \
        [--out report.json]

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
- ``--masks NAME=DIR``: label PNGs as written (their rule fixed).

With ``--walks`` it also scores the learned boundary map against the
ground-truth class edges on the stride-4 grid (precision / recall / F,
1-cell tolerance, swept threshold). The chosen mask rule value (the best
swept value of the config's ``model.test_cfg.mask_rule``) is printed and
written to the JSON report (``chosen``), where the pipeline reads it. The
work is done by :class:`mmseg_cobra.apis.MaskReport`; with ``--launcher
pytorch|slurm`` (one rank per node) each rank scores its share of the
images (image ``i`` on rank ``i % world``) and rank 0 writes the report,
equal to a one-process run's.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.dist import get_rank

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_cobra  # noqa: F401
from mmseg_cobra.apis.mask_report import MaskReport, format_report
from mmseg_cobra.utils import (add_launcher_args, export_local_rank,
                               load_config_or_exit, shutdown_dist)
from mmseg_cobra.utils.file_io import dump_json
from mmseg_cobra.utils.image_io import GroundTruthError
from mmseg_cobra.utils.sharding import init_cpu_stage


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config', help='IRN config')
    parser.add_argument('--data-root')
    parser.add_argument('--seeds', help='seed directory')
    parser.add_argument('--walks', help='walk directory')
    parser.add_argument(
        '--source', default='fuse', help='seed source walked by --oracle')
    parser.add_argument('--oracle', action='store_true')
    parser.add_argument('--crf', action='store_true')
    parser.add_argument('--masks', nargs='*', default=[], metavar='NAME=DIR')
    parser.add_argument('--out', help='JSON report path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_launcher_args(parser)
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    if args.oracle and not args.seeds:
        parser.error('--oracle walks the seeds: give --seeds')
    if args.crf and not args.walks:
        parser.error('--crf refines the walked masks: give --walks')
    bad = [m for m in args.masks if '=' not in m]
    if bad:
        parser.error(f'--masks takes NAME=DIR, got {bad}')
    return args


def main() -> None:
    args = parse_args()
    cfg = load_config_or_exit(args.config, args.cfg_options)
    init_cpu_stage(args.launcher)
    report = MaskReport(cfg, args.data_root, args.seeds, args.walks,
                        args.oracle, args.crf, args.source)
    try:
        result = report.run(dict(m.split('=', 1) for m in args.masks))
    except (RuntimeError, GroundTruthError) as exc:
        sys.exit(f'error: {exc}')
    if get_rank() == 0:
        print(format_report(result))
        if args.out:
            dump_json(result, args.out)
    shutdown_dist()


if __name__ == '__main__':
    main()
