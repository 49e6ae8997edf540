"""tools/run_pipeline.py: every stage on a small synthetic set, a second
run with nothing to do, given checkpoints (the run killed anywhere is
test_pipeline_killed.py)."""
import json
import os
import os.path as osp
import re

import numpy as np
import pytest
from conftest import run_tool
from PIL import Image
from pipeline_args import CLASSES, STAGES
from pipeline_reference import command, pipeline_data
from pipeline_reference import reference_run as shared_reference_run

from mmseg_cobra.evaluation import evaluate_label_dir

pytestmark = pytest.mark.slow


def chance_miou(root, split, tmp_path):
    """mIoU of predicting background everywhere."""
    with open(osp.join(root, f'ImageSets/Segmentation/{split}.txt')) as f:
        ids = f.read().split()
    zero_dir = str(tmp_path / f'zeros_{split}')
    os.makedirs(zero_dir)
    for img_id in ids:
        gt = Image.open(
            osp.join(root, 'SegmentationClassAug', img_id + '.png'))
        Image.fromarray(np.zeros(gt.size[::-1], np.uint8)).save(
            osp.join(zero_dir, img_id + '.png'))
    return evaluate_label_dir(
        zero_dir,
        osp.join(root, 'SegmentationClassAug'),
        ids,
        CLASSES,
        show_progress=False)['mIoU']


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return pipeline_data(tmp_path_factory)


@pytest.fixture(scope='module')
def reference_run(tmp_path_factory):
    """The pipeline run once, uninterrupted (shared with
    test_pipeline_killed.py)."""
    return shared_reference_run(tmp_path_factory)


def test_pipeline_runs_every_stage(reference_run, data_root, tmp_path):
    work, out = reference_run
    summary = json.load(open(osp.join(work, 'summary.json')))
    assert set(summary) == set(STAGES)
    train_chance = chance_miou(data_root, 'train', tmp_path)
    val_chance = chance_miou(data_root, 'val', tmp_path)
    seed = summary['seed_eval']['seed_fuse']
    mask = summary['mask_eval']['mask_miou']
    seg = summary['seg_eval']['seg_miou']
    print(f'chance {train_chance:.1f}/{val_chance:.1f}: seed {seed:.1f}, '
          f'mask {mask:.1f}, seg {seg:.1f}')
    assert seed > train_chance and mask > train_chance
    assert seg > val_chance + 5
    # the final masks use the value the mask evaluation swept
    final = summary['final_masks']
    assert final['value'] == summary['mask_eval']['chosen']['value']
    assert final['mask_dir'].endswith('final_masks')
    assert osp.isfile(osp.join(work, 'summary.md'))
    # the figures, linked from the summary
    summary_md = open(osp.join(work, 'summary.md')).read()
    for name in ('seed_sweep', 'mask_sweep', 'boundary_pr', 'class_iou',
                 'loss_curves'):
        assert f'(figures/{name}.png)' in summary_md, name
        assert osp.isfile(osp.join(work, 'figures', name + '.png')), name
    # every stage ran on the description's classes
    assert '3 foreground classes' in out
    # the terminal shows each stage, its progress and its outputs
    assert '[pipeline] classifier (stage 1 of 10): running' in out
    assert re.search(
        r'\[pipeline\] classifier: train epoch 1 \(\d+ iterations\), '
        r'ETA \d+:\d\d:\d\d', out), out[-3000:]
    assert re.search(r'\[pipeline\] ir_labels: \d+/32 images, [\d.]+ img/s',
                     out)
    assert re.search(
        r'\[pipeline\] seeds: finished in \d:\d\d:\d\d: '
        r'seed_dir \S+ \(32 files\)', out)
    assert 'Epoch(train)' not in out  # the tools' own output: in the logs
    for name in CLASSES[1:]:
        assert name in open(osp.join(work, 'logs', 'seg_eval.log')).read()
    # a second run has nothing to do
    result = run_tool(command(data_root, work), timeout=600)
    assert result.returncode == 0
    for stage in STAGES:
        assert f'{stage}: done before, skipped' in result.stdout


def test_pipeline_from_given_checkpoints(reference_run, data_root, tmp_path):
    """classifier_checkpoint / irn_checkpoint (e.g. the reference
    implementation's converted weights): those stages are not trained, the
    later ones run on the given models."""
    ref_work, _ = reference_run
    with open(osp.join(ref_work, 'cobra', 'last_checkpoint')) as f:
        cobra_ckpt = f.read().strip()
    work = str(tmp_path / 'work')
    missing = str(tmp_path / 'missing.pth')
    result = run_tool(
        command(data_root, work) +
        [f'classifier_checkpoint={missing}', '--stages', 'classifier'])
    assert result.returncode != 0
    assert f'classifier_checkpoint {missing} does not exist' in (
        result.stdout + result.stderr)
    result = run_tool(
        command(data_root, work) + [
            f'classifier_checkpoint={cobra_ckpt}', '--stages', 'classifier',
            'seeds'
        ],
        timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert f'classifier: not trained, using {cobra_ckpt}' in result.stdout
    assert not osp.exists(osp.join(work, 'cobra', 'last_checkpoint'))
    ids = sorted(os.listdir(osp.join(ref_work, 'seeds')))
    ids = [i for i in ids if i.endswith('.npz')]
    assert ids and ids == sorted(
        i for i in os.listdir(osp.join(work, 'seeds')) if i.endswith('.npz'))
    for name in ids:
        ours = np.load(osp.join(work, 'seeds', name))
        theirs = np.load(osp.join(ref_work, 'seeds', name))
        for key in ('cam_fuse', 'cam_fuse_grid', 'attn'):
            assert np.array_equal(ours[key], theirs[key])
