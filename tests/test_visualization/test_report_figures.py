"""The report figures: each drawn from a report of the shape the stages
write, as a PNG that decodes; the pipeline's figures from a work dir."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from mmseg_cobra.pipeline import figures as pipeline_figures_module
from mmseg_cobra.pipeline.figures import (pipeline_figures,
                                          segmentation_class_iou,
                                          write_pipeline_figures)
from mmseg_cobra.visualization import (plot_ablation, plot_boundary_pr,
                                       plot_class_iou, plot_loss_curves,
                                       plot_mask_sweep, plot_seed_sweep)

CLASSES = ('background', 'cat', 'dog')
SWEEP = {f'{t:.2f}': 40 + 30 * t - 25 * t * t for t in np.arange(0.05, 1, .1)}


def _png(path):
    with Image.open(path) as img:
        img.load()
        assert img.size[0] > 200 and img.size[1] > 100
    return True


def seed_report():
    per_class = {
        c: dict(IoU=50.0 + i, precision=60.0, recall=70.0)
        for i, c in enumerate(CLASSES)
    }
    entry = dict(threshold=0.55, mIoU=49.0, sweep=SWEEP, per_class=per_class)
    return {
        f'{s}/{rule}': entry
        for s in ('cnn', 'vit', 'fuse')
        for rule in ('fixed', 'dynamic')
    }


def mask_report():
    rows = {
        name:
        dict(
            rule=rule,
            best=0.55,
            mIoU=49.0,
            default=0.25,
            at_default=45.0,
            sweep=SWEEP)
        for name, rule in (('seed_fuse', 'irn'), ('walk_irn', 'irn'),
                           ('walk_reference', 'reference'))
    }
    per_t = {
        str(t): dict(precision=90 - 50 * t, recall=20 + 60 * t, F=50.0)
        for t in (0.1, 0.3, 0.5, 0.7, 0.9)
    }
    return dict(
        rows=rows,
        boundary=dict(
            per_threshold=per_t,
            best_threshold=0.5,
            precision=65.0,
            recall=50.0,
            F=56.5),
        masks=dict(mask=dict(mIoU=55.0, per_class={c: 55.0
                                                   for c in CLASSES})))


def test_each_figure_is_a_png(tmp_path):
    assert _png(plot_seed_sweep(seed_report(), str(tmp_path / 'a.png')))
    assert _png(plot_mask_sweep(mask_report(), str(tmp_path / 'b.png')))
    assert _png(
        plot_boundary_pr(mask_report()['boundary'], str(tmp_path / 'c.png')))
    assert _png(
        plot_class_iou(
            {
                'seed': {
                    'cat': 40.0
                },
                'mask': {
                    'cat': 60.0,
                    'dog': 20.0
                }
            }, str(tmp_path / 'd.png')))
    rows = [
        dict(
            variant=v,
            seed=s,
            cnn_swept=50.0 + s,
            vit_swept=40.0,
            fuse_swept=45.0 + 2 * s) for v in ('cls_only', 'all')
        for s in (0, 1)
    ]
    assert _png(
        plot_ablation(rows, ['cls_only', 'all'], str(tmp_path / 'e.png')))
    assert not [n for n in os.listdir(tmp_path) if '.tmp' in n]


def _scalars(work, lines):
    run = work / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    (run / 'scalars.json').write_text('\n'.join(json.dumps(x) for x in lines) +
                                      '\n{"cut by a ki')


def test_loss_curves_from_mmengine_records(tmp_path):
    _scalars(tmp_path / 'cobra', [
        dict(loss=2.0 - 0.1 * i, loss_cam=0.5, step=i, lr=0.1)
        for i in range(1, 6)
    ])
    out = plot_loss_curves(
        {
            'classifier': str(tmp_path / 'cobra'),
            'irn': str(tmp_path / 'nothing')
        }, str(tmp_path / 'loss.png'))
    assert _png(out)
    assert plot_loss_curves({'irn': str(tmp_path / 'nothing')},
                            str(tmp_path / 'none.png')) is None


def test_segmentation_class_iou_from_the_metrics_class_file(tmp_path):
    """The per-class IoU ClassIoUMetric wrote (NaN for an absent class);
    nothing for a test without that file."""
    path = tmp_path / 'class_iou.json'
    path.write_text('{"classes": {"background": {"IoU": 81.62, "Acc": '
                    '95.65}, "teddy bear": {"IoU": NaN, "Acc": NaN}}}')
    iou = segmentation_class_iou(str(path))
    assert iou['background'] == pytest.approx(81.62)
    assert np.isnan(iou['teddy bear']) and len(iou) == 2
    assert segmentation_class_iou(str(tmp_path / 'none.json')) == {}


def test_pipeline_figures_from_a_work_dir(tmp_path):
    (tmp_path / 'seed_eval.json').write_text(json.dumps(seed_report()))
    (tmp_path / 'mask_eval.json').write_text(json.dumps(mask_report()))
    _scalars(tmp_path / 'irn', [dict(loss=1.0, step=1), dict(loss=.5, step=2)])
    written = write_pipeline_figures(str(tmp_path), {})
    assert written == [
        'figures/seed_sweep.png', 'figures/mask_sweep.png',
        'figures/boundary_pr.png', 'figures/class_iou.png',
        'figures/loss_curves.png'
    ]
    assert all(_png(tmp_path / p) for p in written)


def test_figures_of_the_same_records_are_not_drawn_again(
        tmp_path, monkeypatch):
    """A rerun of a finished work dir (the same stage records) keeps the
    figures it has; other records, or a figure gone, draw them again."""
    (tmp_path / 'seed_eval.json').write_text(json.dumps(seed_report()))
    records = dict(seed_eval=dict(seconds=3.0))
    first = pipeline_figures(str(tmp_path), records)
    assert first == ['figures/seed_sweep.png', 'figures/class_iou.png']
    assert all(_png(tmp_path / p) for p in first)
    drawn = []

    def draw(work_dir, results):
        drawn.append(results)
        return write_pipeline_figures(work_dir, results)

    monkeypatch.setattr(pipeline_figures_module, 'write_pipeline_figures',
                        draw)
    assert pipeline_figures(str(tmp_path), dict(records)) == first
    assert drawn == []
    rerun = dict(seed_eval=dict(seconds=4.0))  # the stage ran again
    assert pipeline_figures(str(tmp_path), rerun) == first
    assert drawn == [rerun]
    os.remove(tmp_path / first[0])
    assert pipeline_figures(str(tmp_path), rerun) == first
    assert len(drawn) == 2 and _png(tmp_path / first[0])
