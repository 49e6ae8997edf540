"""tools/analysis_tools: analyze_logs.py, confusion_matrix.py and
browse_dataset.py on the synthetic dataset and records the test writes."""
import json
import os
import os.path as osp
import shutil
import sys

import pytest
from conftest import TINY_CONFIG, run_tool
from PIL import Image

pytestmark = pytest.mark.slow


def _decodes(path):
    with Image.open(path) as img:
        img.load()
    return True


def test_analyze_logs_plot_curve_and_train_time(tmp_path):
    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    lines = [
        dict(
            loss=2.0 - 0.1 * i,
            loss_cap=0.5,
            time=0.5 + 0.1 * (i > 3),
            epoch=1 + (i > 3),
            iter=i,
            step=i) for i in range(1, 8)
    ] + [dict(mIoU=40.0, step=7)]
    (run / 'scalars.json').write_text('\n'.join(map(json.dumps, lines)))
    out = str(tmp_path / 'curve.png')
    result = run_tool([
        sys.executable, 'tools/analysis_tools/analyze_logs.py', 'plot_curve',
        str(tmp_path / 'work'), '--keys', 'loss', 'loss_cap', 'mIoU', '--out',
        out
    ])
    assert result.returncode == 0, result.stderr
    assert _decodes(out) and f'save curve to: {out}' in result.stdout
    result = run_tool([
        sys.executable, 'tools/analysis_tools/analyze_logs.py',
        'cal_train_time',
        str(run / 'scalars.json')
    ])
    assert result.returncode == 0, result.stderr
    assert 'average iter time: 0.5667 s/iter' in result.stdout
    assert 'slowest epoch 2, average time is 0.6000 s/iter' in result.stdout
    result = run_tool([
        sys.executable, 'tools/analysis_tools/analyze_logs.py', 'plot_curve',
        str(tmp_path / 'nowhere')
    ])
    assert result.returncode != 0 and 'does not exist' in result.stderr


def test_confusion_matrix_of_a_label_folder(synthetic_root, tmp_path):
    ids = open(
        osp.join(synthetic_root, 'ImageSets', 'Segmentation',
                 'train.txt')).read().split()
    preds = tmp_path / 'preds'
    preds.mkdir()
    for img_id in ids[:-1]:  # perfect predictions, one image missing
        shutil.copy(
            osp.join(synthetic_root, 'SegmentationClassAug', img_id + '.png'),
            preds / (img_id + '.png'))
    result = run_tool([
        sys.executable, 'tools/analysis_tools/confusion_matrix.py',
        TINY_CONFIG, '--pred-dir',
        str(preds), '--out-dir',
        str(tmp_path / 'out'), '--data-root', synthetic_root, '--cfg-options',
        'test_dataloader.dataset.ann_file='
        'ImageSets/Segmentation/train.txt'
    ])
    assert result.returncode == 0, result.stderr
    assert f'left out {ids[-1]}' in result.stdout
    assert _decodes(tmp_path / 'out' / 'confusion_matrix.png')
    report = json.load(open(tmp_path / 'out' / 'confusion_matrix.json'))
    counts = report['counts']
    assert len(counts) == len(report['classes']) == 5
    off_diagonal = sum(counts[i][j] for i in range(5) for j in range(5)
                       if i != j)
    assert off_diagonal == 0 and sum(counts[i][i] for i in range(5)) > 0
    result = run_tool([
        sys.executable, 'tools/analysis_tools/confusion_matrix.py',
        TINY_CONFIG, '--pred-dir',
        str(tmp_path / 'nowhere'), '--out-dir',
        str(tmp_path / 'out2')
    ])
    assert result.returncode != 0
    assert 'prediction folder' in result.stderr


def test_browse_dataset_draws_labels_and_masks(synthetic_root, tmp_path):
    out = tmp_path / 'panels'
    base = [
        sys.executable, 'tools/analysis_tools/browse_dataset.py', TINY_CONFIG,
        '--not-show', '--max-images', '3', '--cfg-options',
        f'train_dataloader.dataset.data_root={synthetic_root}'
    ]
    result = run_tool(base + ['--out-dir', str(out)])
    assert result.returncode == 0, result.stderr
    panels = sorted(os.listdir(out))
    assert len(panels) == 3 and all(_decodes(out / p) for p in panels)
    with Image.open(out / panels[0]) as img:  # image | mask, caption above
        assert img.size == (2 * 160, 160 + 24)
    masks = tmp_path / 'masks'
    masks.mkdir()
    result = run_tool(base + [
        '--out-dir',
        str(tmp_path / 'p2'), '--mask-dir',
        str(tmp_path / 'nothing')
    ])
    assert result.returncode != 0 and 'mask folder' in result.stderr
    result = run_tool(
        base + ['--out-dir',
                str(tmp_path / 'p3'), '--mask-dir',
                str(masks)])
    assert result.returncode == 0, result.stderr
