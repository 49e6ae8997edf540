"""The pipeline's figures: every picture its work dir has the data for,
written to ``<work_dir>/figures/`` and linked from ``summary.md``."""
import hashlib
import json
import os.path as osp
from typing import Dict, List, Optional

from ..utils.file_io import dump_json
from ..visualization import (plot_boundary_pr, plot_class_iou,
                             plot_loss_curves, plot_mask_sweep,
                             plot_seed_sweep)
from .layout import WorkDirLayout

#: In ``figures/``: the figures drawn and the digest of the stage records
#: they were drawn from.
FIGURE_INDEX = 'index.json'


def _json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def segmentation_class_iou(class_file: str) -> Dict[str, float]:
    """Per-class IoU of the segmentation test, as its metric scored the
    predictions (``ClassIoUMetric``'s ``class_file``).

    Args:
        class_file (str): ``<work_dir>/seg_eval/class_iou.json``.

    Returns:
        dict: ``{class name: IoU (%)}``; empty if the test wrote none (an
        evaluator other than mmseg's IoUMetric, a work dir of an older
        version).
    """
    classes = (_json(class_file) or {}).get('classes') or {}
    return {name: float(v['IoU']) for name, v in classes.items()}


def pipeline_figures(work_dir: str, results: dict) -> List[str]:
    """The figures of ``results``: the ones in ``figures/`` when they were
    drawn from the same stage records (a rerun of a finished work dir),
    else drawn now (:func:`write_pipeline_figures`).

    Every figure is drawn from files its stages wrote, and a stage that
    ran again records new seconds, so the same records mean the same
    figures.

    Returns:
        list[str]: The figures (relative to ``work_dir``).
    """
    digest = hashlib.sha256(
        json.dumps(results, sort_keys=True, default=str).encode()).hexdigest()
    index_path = osp.join(work_dir, 'figures', FIGURE_INDEX)
    index = _json(index_path) or {}
    drawn = index.get('figures')
    if index.get('records') == digest and isinstance(drawn, list) and all(
            osp.isfile(osp.join(work_dir, p)) for p in drawn):
        return drawn
    figures = write_pipeline_figures(work_dir, results)
    if figures:
        dump_json(dict(records=digest, figures=figures), index_path)
    return figures


def write_pipeline_figures(work_dir: str, results: dict) -> List[str]:
    """Draw what the finished stages recorded.

    Args:
        work_dir (str): The pipeline's work dir.
        results (dict): The stage records (``summary.json``).

    Returns:
        list[str]: The figures written (relative to ``work_dir``).
    """
    fig_dir = osp.join(work_dir, 'figures')
    written = []
    seed_report = _json(osp.join(work_dir, 'seed_eval.json'))
    mask_report = _json(osp.join(work_dir, 'mask_eval.json'))
    if seed_report:
        written.append(
            plot_seed_sweep(seed_report, osp.join(fig_dir, 'seed_sweep.png')))
    if mask_report:
        if mask_report.get('rows'):
            written.append(
                plot_mask_sweep(mask_report, osp.join(fig_dir,
                                                      'mask_sweep.png')))
        if mask_report.get('boundary', {}).get('per_threshold'):
            written.append(
                plot_boundary_pr(mask_report['boundary'],
                                 osp.join(fig_dir, 'boundary_pr.png')))
    per_class = {}
    if seed_report and 'fuse/fixed' in seed_report:
        per_class['seed (fuse, swept)'] = {
            c: v['IoU']
            for c, v in seed_report['fuse/fixed']['per_class'].items()
        }
    mask = (mask_report or {}).get('masks', {}).get('mask', {})
    if mask.get('per_class'):
        per_class['mask (as written)'] = mask['per_class']
    if 'seg_eval' in results:
        seg = segmentation_class_iou(WorkDirLayout(work_dir).seg_class_iou)
        if seg:
            per_class['segmentation (val)'] = seg
    if per_class:
        written.append(
            plot_class_iou(per_class, osp.join(fig_dir, 'class_iou.png'),
                           'per-class IoU: seed, mask, segmentation'))
    losses = plot_loss_curves(
        {
            stage: osp.join(work_dir, sub)
            for stage, sub in (('classifier', 'cobra'), ('irn', 'irn'),
                               ('segmentation', 'seg'))
        }, osp.join(fig_dir, 'loss_curves.png'))
    if losses:
        written.append(losses)
    return [osp.relpath(p, work_dir) for p in written]
