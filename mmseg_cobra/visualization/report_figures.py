"""The figures researchers read a WSSS run by, from the reports it wrote.

Each function takes what a stage recorded (``seed_eval.json``,
``mask_eval.json``, mmengine's ``vis_data/scalars.json``, the ablation's
rows) and writes one PNG with matplotlib (the Agg backend: no display
needed). :func:`write_report_figures` draws every figure a pipeline work
dir has the data for; the pipeline's ``summary.md`` links them.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..ops.seed_labels import SEED_COMBINATIONS
from ..utils.file_io import save_figure
from ..utils.records import run_dirs


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> str:
    """Write the figure atomically (a killed run leaves no half PNG)."""
    return save_figure(fig, path)


def _sweep_xy(sweep: Dict[str, float]):
    pairs = sorted((float(k), v) for k, v in sweep.items())
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_seed_sweep(seed_report: dict, out: str) -> str:
    """Seed mIoU against the background score, one curve per seed source
    (``<source>/fixed`` of ``seed_eval.json``), each chosen point marked.

    Args:
        seed_report (dict): ``tools/eval_seeds.py``'s report.
        out (str): The PNG to write.

    Returns:
        str: ``out``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for source in SEED_COMBINATIONS:
        entry = seed_report.get(f'{source}/fixed')
        if not entry:
            continue
        xs, ys = _sweep_xy(entry['sweep'])
        line, = ax.plot(xs, ys, label=f'{source}', linewidth=1.5)
        ax.plot([entry['threshold']], [entry['mIoU']],
                'o',
                color=line.get_color())
        ax.annotate(
            f'{entry["mIoU"]:.1f} @ {entry["threshold"]:.2f}',
            (entry['threshold'], entry['mIoU']),
            textcoords='offset points',
            xytext=(4, 4),
            fontsize=7)
    ax.set_xlabel('background score')
    ax.set_ylabel('seed mIoU (%)')
    ax.set_title('seeds: threshold sweep (chosen point marked)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def plot_mask_sweep(mask_report: dict, out: str) -> str:
    """Every row of the mask report against its rule's value (background
    score for IRN's rule, theta for the reference's), best point marked:
    seeds and masks on the same images, the same sweep.

    Args:
        mask_report (dict): ``tools/mask_report.py``'s report.
        out (str): The PNG to write.
    """
    plt = _pyplot()
    # the CRF rows are scored at two values only: no curve to draw
    rows = {
        k: v
        for k, v in mask_report.get('rows', {}).items() if v.get('sweep')
    }
    rules = [
        r for r in ('irn', 'reference')
        if any(v['rule'] == r for v in rows.values())
    ]
    fig, axes = plt.subplots(
        1,
        max(len(rules), 1),
        figsize=(6 * max(len(rules), 1), 4.2),
        squeeze=False)
    for ax, rule in zip(axes[0], rules):
        for name, row in rows.items():
            if row['rule'] != rule:
                continue
            xs, ys = _sweep_xy(row['sweep'])
            line, = ax.plot(xs, ys, label=name, linewidth=1.3)
            ax.plot([row['best']], [row['mIoU']], 'o', color=line.get_color())
        ax.set_xlabel('background score' if rule == 'irn' else 'theta')
        ax.set_ylabel('mIoU (%)')
        ax.set_title(f'{rule} rule')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle('seeds and masks on equal footing (best point marked)')
    return _save(fig, out)


def plot_class_iou(per_class: Dict[str, Dict[str, float]],
                   out: str,
                   title: str = 'per-class IoU') -> str:
    """Grouped bars of per-class IoU, one group per class, one bar per
    result (seed, mask, segmentation...).

    Args:
        per_class (dict): ``{result name: {class name: IoU (%)}}``.
        out (str): The PNG to write.
        title (str): The figure's title.
    """
    plt = _pyplot()
    names = list(per_class)
    classes: List[str] = []
    for values in per_class.values():
        classes += [c for c in values if c not in classes]
    height = max(3.0, 0.28 * len(classes) * max(len(names), 1) / 2 + 1)
    fig, ax = plt.subplots(figsize=(7, height))
    width = 0.8 / max(len(names), 1)
    ys = np.arange(len(classes))
    for i, name in enumerate(names):
        values = [per_class[name].get(c, np.nan) for c in classes]
        ax.barh(ys + i * width, values, height=width, label=name)
    ax.set_yticks(ys + 0.4 - width / 2)
    ax.set_yticklabels(classes, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel('IoU (%)')
    ax.set_xlim(0, 100)
    ax.set_title(title)
    ax.grid(axis='x', alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def plot_boundary_pr(boundary: dict, out: str) -> str:
    """Precision and recall of the learned boundary map against the
    ground-truth class edges, per threshold; the best F marked.

    Args:
        boundary (dict): ``mask_eval.json``'s ``boundary`` entry
            (``per_threshold``: ``{t: {precision, recall, F}}``, in %).
        out (str): The PNG to write.
    """
    plt = _pyplot()
    points = sorted(
        (float(t), v) for t, v in boundary['per_threshold'].items())
    fig, (ax_t, ax_pr) = plt.subplots(1, 2, figsize=(10, 4))
    ts = [t for t, _ in points]
    for key in ('precision', 'recall', 'F'):
        ax_t.plot(ts, [v[key] for _, v in points], label=key, marker='.')
    ax_t.axvline(
        boundary.get('best_threshold', np.nan),
        color='grey',
        linestyle='--',
        linewidth=0.8)
    ax_t.set_xlabel('boundary threshold')
    ax_t.set_ylabel('precision / recall / F (%)')
    ax_t.legend(fontsize=8)
    ax_t.grid(alpha=0.3)
    ax_pr.plot([v['recall'] for _, v in points],
               [v['precision'] for _, v in points],
               marker='.')
    ax_pr.set_xlabel('recall (%)')
    ax_pr.set_ylabel('precision (%)')
    ax_pr.set_title(f'best F {boundary.get("F", float("nan")):.1f} at '
                    f'{boundary.get("best_threshold", float("nan"))}')
    ax_pr.grid(alpha=0.3)
    fig.suptitle('learned boundary vs ground-truth class edges')
    return _save(fig, out)


def load_scalars(work_dir: str) -> List[dict]:
    """Every line of the training runs' ``vis_data/scalars.json`` in a
    stage's work dir, oldest run first (a resumed training adds a run)."""
    import json
    out = []
    for run in run_dirs(work_dir):
        path = osp.join(run, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a kill
                    continue
    return out


def plot_loss_curves(stage_dirs: Dict[str, str],
                     out: str,
                     keys: Optional[Sequence[str]] = None) -> Optional[str]:
    """Training loss curves of each stage from mmengine's records.

    Args:
        stage_dirs (dict): ``{stage name: its training work dir}``.
        out (str): The PNG to write.
        keys (Sequence[str], optional): Scalars to draw; default every key
            starting with ``loss``.

    Returns:
        str | None: ``out``, or None when no stage has records.
    """
    plt = _pyplot()
    records = {s: load_scalars(d) for s, d in stage_dirs.items()}
    records = {s: r for s, r in records.items() if r}
    if not records:
        return None
    fig, axes = plt.subplots(
        1, len(records), figsize=(5 * len(records), 3.8), squeeze=False)
    for ax, (stage, lines) in zip(axes[0], records.items()):
        names = keys or sorted(
            {k
             for line in lines
             for k in line if k.startswith('loss')})
        for key in names:
            pts = [(line['step'], line[key]) for line in lines
                   if key in line and 'step' in line]
            if pts:  # a short run's few points stay visible
                ax.plot(
                    *zip(*pts),
                    label=key,
                    linewidth=1.0,
                    marker='.' if len(pts) < 30 else None)
        ax.set_title(stage)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle('training losses (vis_data/scalars.json)')
    return _save(fig, out)


def plot_ablation(
    rows: List[dict],
    variants: Sequence[str],
    out: str,
    columns: Sequence[str] = ('cnn_swept', 'vit_swept', 'fuse_swept')
) -> str:
    """Ablation bars: per variant, the mean over seeds of each column with
    half the spread (min to max) as the error bar.

    Args:
        rows (list[dict]): ``tools/ablate.py``'s rows (``variant``,
            ``seed`` and the columns).
        variants (Sequence[str]): Their order.
        out (str): The PNG to write.
        columns (Sequence[str]): The figures to draw.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(variants)), 4))
    width = 0.8 / len(columns)
    xs = np.arange(len(variants))
    for i, col in enumerate(columns):
        means, spreads = [], []
        for variant in variants:
            values = [
                r[col] for r in rows if r['variant'] == variant and col in r
            ]
            means.append(np.mean(values) if values else np.nan)
            spreads.append((max(values) - min(values)) / 2 if values else 0)
        ax.bar(
            xs + i * width, means, width, yerr=spreads, capsize=3, label=col)
    ax.set_xticks(xs + 0.4 - width / 2)
    ax.set_xticklabels(variants)
    ax.set_ylabel('seed mIoU (%)')
    ax.set_title('ablation: mean over seeds, bars = half the spread')
    ax.grid(axis='y', alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)
