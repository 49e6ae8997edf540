"""Pseudo masks from IRN's walked maps with a chosen rule (no IRN rerun).

    python tools/masks_from_walks.py IRN_CONFIG [--walk-dir DIR] \
        [--out-dir DIR] [--rule reference|irn] [--value 0.31] [--no-crf] \
        [--nproc 8]

The mask stage (``tools/test.py`` on an IRN config) writes the walked maps
of every image (``<work_dir>/walks``, ``WalkWriterHook``; ``--walk-dir``
defaults to that folder). ``tools/mask_report.py`` sweeps the rules'
parameters on the images
that have ground truth; this tool then writes the masks of every image with
the chosen rule and value (``--rule``/``--value``, defaults: the config's
``model.test_cfg``), followed by the reference's final dense CRF unless
``--no-crf`` (:class:`mmseg_cobra.apis.WalkMaskWriter`). Palette PNGs are
written atomically in a process pool; existing ones are kept, so an
interrupted run resumes. The image list comes from the config's
``test_dataloader.dataset``. Exit status 1 when any image was skipped (0
with ``--skip-bad-images`` when some masks exist). ``--out-dir`` defaults to
``<work_dir>/final_masks``.
"""
import sys

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import (add_flags, add_launcher_args, parse_and_load,
                             run_cli, tool_parser, walk_dir_of)
from mmseg_cobra.cli.tool_args import out_dir_of
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.models.segmentors.irn import RULE_VALUE_KEY, irn_test_cfg
from mmseg_cobra.models.utils import MASK_RULES
from mmseg_cobra.offline.label_writers import WalkMaskWriter


def main() -> int:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='IRN config')
    add_flags(parser, '--walk-dir', '--out-dir', '--data-root', '--ann-file')
    parser.add_argument('--rule', choices=MASK_RULES)
    parser.add_argument(
        '--value',
        type=float,
        help='theta (reference) or background score (irn)')
    parser.add_argument('--no-crf', action='store_true')
    add_flags(parser, '--nproc', '--skip-bad-images', '--cfg-options')
    add_launcher_args(parser)
    args, cfg = parse_and_load(parser)
    walk_dir = walk_dir_of(cfg, args.config, args.walk_dir)
    out_dir = out_dir_of(cfg, args.config, args.out_dir, 'final_masks')
    if args.ann_file:
        cfg.test_dataloader.dataset.ann_file = args.ann_file
    test_cfg = irn_test_cfg(cfg.model.get('test_cfg'))
    rule = args.rule or test_cfg['mask_rule']
    value = args.value if args.value is not None else \
        test_cfg[RULE_VALUE_KEY[rule]]
    crf_cfg = None if args.no_crf else test_cfg['crf_cfg']
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    print(f'masks of {len(dataset)} images, rule {rule} {value:g}, '
          f'{"no CRF" if crf_cfg is None else "dense CRF"} -> {out_dir}')
    writer = WalkMaskWriter(walk_dir, out_dir, rule, value, crf_cfg,
                            dataset.metainfo['palette'],
                            test_cfg['walk_upsample'])
    return writer.run_tool(dataset, args.nproc, args.launcher,
                           args.skip_bad_images)


if __name__ == '__main__':
    sys.exit(run_cli(main))
