"""Plot training curves and time a training from mmengine's records.

    python tools/analysis_tools/analyze_logs.py plot_curve \
        work_dirs/voc/cobra [work_dirs/voc/irn] --keys loss loss_cap \
        [--legend cobra irn] [--title T] [--backend agg] [--style ggplot] \
        [--out curves.png]
    python tools/analysis_tools/analyze_logs.py cal_train_time \
        work_dirs/voc/cobra/20261206_101010/vis_data/scalars.json \
        [--include-outliers]

The interface of mmseg's and mmdet's ``analyze_logs.py``. Each log is an
mmengine ``vis_data/scalars.json`` (one JSON object per line) or a work
dir, whose runs' records are read in order (a resumed training adds a
run). ``plot_curve`` draws each key against the iteration (``mIoU``,
``mAcc`` and ``aAcc`` against the step they were validated at);
``cal_train_time`` prints the mean time per iteration, per epoch for an
epoch-based training with its slowest and fastest epoch.
"""
import json
import os.path as osp
import sys
from collections import defaultdict
from typing import Dict, List

import numpy as np

from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import save_figure
from mmseg_cobra.visualization import load_scalars

#: validation metrics, plotted at their step with markers
EVAL_KEYS = ('mIoU', 'mAcc', 'aAcc')


def load_log(path: str) -> List[dict]:
    """The records of one log (a ``scalars.json`` or a work dir)."""
    if osp.isdir(path):
        records = load_scalars(path)
        if not records:
            raise UserError(
                f'{path} holds no <timestamp>/vis_data/'
                'scalars.json: give a training work dir or the file')
        return records
    if not osp.isfile(path):
        raise UserError(f'log {path} does not exist')
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill
                continue
    return records


def plot_curve(logs: Dict[str, List[dict]], args) -> None:
    """One curve per log and key."""
    import matplotlib
    if args.backend:
        matplotlib.use(args.backend)
    elif args.out:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if args.style and args.style in plt.style.available:
        plt.style.use(args.style)
    legend = args.legend or [
        f'{osp.basename(osp.normpath(name))}_{key}' for name in logs
        for key in args.keys
    ]
    if len(legend) != len(logs) * len(args.keys):
        raise UserError(f'--legend has {len(legend)} names for '
                        f'{len(logs)} log(s) x {len(args.keys)} key(s)')
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = iter(legend)
    for name, records in logs.items():
        for key in args.keys:
            points = [(r['step'], r[key]) for r in records
                      if key in r and 'step' in r]
            label = next(names)
            if not points:
                print(f'{name}: no record of {key!r}')
                continue
            print(f'plot curve of {name}, metric is {key}')
            style = dict(marker='o') if key in EVAL_KEYS else dict(
                linewidth=0.8)
            ax.plot(*zip(*points), label=label, **style)
    ax.set_xlabel('iter')
    ax.legend()
    if args.title:
        ax.set_title(args.title)
    if args.out:
        save_figure(fig, args.out)
        print(f'save curve to: {args.out}')
    else:
        plt.show()


def cal_train_time(logs: Dict[str, List[dict]], args) -> None:
    """Mean seconds per iteration (and per epoch) of each log."""
    for name, records in logs.items():
        timed = [r for r in records if 'time' in r and 'step' in r]
        if not timed:
            print(f'{name}: no iteration times recorded')
            continue
        times = np.array([r['time'] for r in timed])
        if not args.include_outliers and len(times) > 1:
            timed, times = timed[1:], times[1:]  # the first: warm-up
        print(f'-----Analyze train time of {name}-----')
        print(f'average iter time: {times.mean():.4f} s/iter '
              f'(std {times.std():.4f}, {len(times)} logged iterations)')
        by_epoch = defaultdict(list)
        for r in timed:
            if 'epoch' in r:
                by_epoch[r['epoch']].append(r['time'])
        if len(by_epoch) > 1:
            means = {e: float(np.mean(v)) for e, v in by_epoch.items()}
            slow = max(means, key=means.get)
            fast = min(means, key=means.get)
            print(f'slowest epoch {slow}, average time is '
                  f'{means[slow]:.4f} s/iter')
            print(f'fastest epoch {fast}, average time is '
                  f'{means[fast]:.4f} s/iter')


def parse_args():
    parser = tool_parser(__doc__)
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of the records')
    plot.add_argument('json_logs', nargs='+', help='scalars.json or work dir')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--title')
    plot.add_argument('--legend', nargs='+')
    plot.add_argument('--backend', help='matplotlib backend')
    plot.add_argument('--style', help='matplotlib style sheet')
    add_flags(plot, '--out')
    timing = sub.add_parser('cal_train_time', help='time per iteration')
    timing.add_argument(
        'json_logs', nargs='+', help='scalars.json or work dir')
    timing.add_argument(
        '--include-outliers',
        action='store_true',
        help='keep the first logged iteration (warm-up) in the mean')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logs = {path: load_log(path) for path in args.json_logs}
    if args.task == 'plot_curve':
        plot_curve(logs, args)
    else:
        cal_train_time(logs, args)


if __name__ == '__main__':
    sys.exit(run_cli(main))
