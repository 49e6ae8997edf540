"""CRF-only masks: seeds -> background threshold -> denseCRF (no IRN).

    python tools/crf_masks.py CONFIG [--seed-dir DIR] [--out-dir DIR] \
        [--threshold 0.3] [--source fuse] [--nproc 8]

The seeds default to the config's (``ir_label_cfg.seed_dir`` of an IRN
config, the ``SeedWriterHook`` folder of a CoBra config), the masks go to
``--out-dir`` (default ``<work_dir>/crf_masks``).

For users who skip IRN: each image's seed (``--source``, M_fuse by default)
is thresholded (background where no class exceeds ``--threshold``; take the
best fixed threshold from ``tools/eval_seeds.py``), then refined with the
final-mask dense CRF (the reference's: gaussian sxy 2 compat 3, bilateral
sxy 45 srgb 5 compat 4, :class:`mmseg_cobra.apis.SeedCRFMaskWriter`).
Palette PNGs are
written atomically, in a process pool; existing ones are kept (resume). The
image list and classes come from the config's ``test_dataloader.dataset``
(as tools/eval_seeds.py). Exit status 1 when any image was skipped (0 with
``--skip-bad-images`` when some masks exist).
"""
import sys

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import (add_flags, add_launcher_args, parse_and_load,
                             run_cli, seed_dir_of, tool_parser)
from mmseg_cobra.cli.tool_args import out_dir_of
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.offline.label_writers import SeedCRFMaskWriter
from mmseg_cobra.ops.seed_labels import SEED_COMBINATIONS


def main() -> int:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='a CoBra or IRN config')
    add_flags(parser, '--seed-dir', '--out-dir', '--data-root')
    parser.add_argument('--threshold', type=float, default=0.3)
    parser.add_argument('--source', default='fuse', choices=SEED_COMBINATIONS)
    add_flags(parser, '--nproc', '--skip-bad-images', '--cfg-options')
    add_launcher_args(parser)
    args, cfg = parse_and_load(parser)
    seed_dir = seed_dir_of(cfg, args.config, args.seed_dir)
    out_dir = out_dir_of(cfg, args.config, args.out_dir, 'crf_masks')
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    writer = SeedCRFMaskWriter(seed_dir, out_dir, args.threshold, args.source,
                               len(dataset.metainfo['classes']) - 1,
                               dataset.metainfo['palette'])
    return writer.run_tool(dataset, args.nproc, args.launcher,
                           args.skip_bad_images)


if __name__ == '__main__':
    sys.exit(run_cli(main))
