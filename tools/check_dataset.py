"""Check every file a config's datasets will read, before a long job.

    python tools/check_dataset.py CONFIG [--keys train_dataloader ...]
        [--nproc 8] [--cfg-options k=v ...]

For each dataset (default: ``train_dataloader``, ``val_dataloader`` and
``test_dataloader`` of the config): every listed image must decode
completely (a truncated JPEG counts), every mask that exists (or, with
``seg_map_required``, every mask) must decode, hold only the dataset's
class ids or 255, and have its image's size; the label file must cover
every image with a vector of the right length. Prints every bad file and
the count; exits 1 if any. ``tools/train.py`` and ``tools/test.py`` run the
same check before they start (``--skip-bad-images`` leaves the bad images
out instead of stopping, ``--no-dataset-check`` skips it).
"""
import sys

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.datasets.dataset_check import (check_dataset, format_ok,
                                                format_report)
from mmseg_cobra.datasets.dataset_tools import dataset_from_config
from mmseg_cobra.utils import load_config


def main() -> int:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument(
        '--keys',
        nargs='+',
        default=['train_dataloader', 'val_dataloader', 'test_dataloader'])
    add_flags(parser, '--nproc', '--no-check-cache', '--cfg-options')
    args = parser.parse_args()
    cfg = load_config(args.config, args.cfg_options)
    failed = False
    for key in args.keys:
        if cfg.get(key) is None:
            continue
        dataset = dataset_from_config(cfg, key)  # exits with DatasetError
        stats = {}
        bad = check_dataset(
            dataset,
            nproc=args.nproc,
            use_cache=not args.no_check_cache,
            stats=stats)
        if bad:
            failed = True
            print(f'{key}: ' + format_report(bad, len(dataset), limit=1000))
        else:
            print(f'{key}: {format_ok(len(dataset), stats)}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
