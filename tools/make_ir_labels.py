"""Stage 3a: IR labels from the fused seeds, for IRN training.

    python tools/make_ir_labels.py configs/irn/irn_r152_cobra_voc.py \
        [--nproc 8] [--skip-bad-images] \
        [--cfg-options ir_label_cfg.percentile=90]

Reads ``ir_label_cfg`` (seed dir, output dir, thresholds, CRF) and the image
list of ``ir_label_dataset`` from the IRN config; writes one palette PNG per
image (0 background, classes, 255 unknown), atomically, in a process pool
(:class:`mmseg_cobra.apis.IRLabelWriter`). Images already written are
skipped, so an interrupted run resumes. Images whose seed is missing or does
not fit the image are listed and counted, never written as empty labels
(exit status 1, or 0 with ``--skip-bad-images`` when some labels exist).
``--seed-dir`` overrides ``ir_label_cfg.seed_dir``, ``--out-dir``
``ir_label_cfg.out_dir``.
Images whose foreground threshold leaves no confident foreground (e.g. an
attention-percentile threshold above 0.5, so background + 0.5 > 1) are
written (their background is still informative) and counted and named at
the end.
"""
import sys

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import (add_flags, add_launcher_args, parse_and_load,
                             run_cli, seed_dir_of, tool_parser)
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.offline.label_writers import IRLabelWriter


def main() -> int:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    add_flags(parser, '--seed-dir', '--out-dir', '--nproc',
              '--skip-bad-images', '--cfg-options')
    add_launcher_args(parser)
    args, cfg = parse_and_load(parser)
    ir_cfg = dict(cfg.ir_label_cfg)
    ir_cfg['seed_dir'] = seed_dir_of(cfg, args.config, args.seed_dir)
    ir_cfg['out_dir'] = args.out_dir or ir_cfg['out_dir']
    dataset = dataset_from_config(cfg, 'ir_label_dataset')
    writer = IRLabelWriter(ir_cfg,
                           len(dataset.metainfo['classes']) - 1,
                           dataset.metainfo['palette'])
    print(f'IR labels for {len(dataset)} images -> {ir_cfg["out_dir"]}')
    return writer.run_tool(dataset, args.nproc, args.launcher,
                           args.skip_bad_images)


if __name__ == '__main__':
    sys.exit(run_cli(main))
