"""tools/run_pipeline.py: every stage on a small synthetic set; killed
anywhere (fault injection, see mmseg_cobra/utils/fault.py) it finishes with
the same files as an uninterrupted run."""
import json
import os
import os.path as osp
import signal
import sys

import numpy as np
import pytest
from conftest import run_tool
from PIL import Image
from pipeline_args import CLASSES, CONFIG, reduced

from mmseg_cobra.datasets import generate_synthetic_voc
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


STAGES = ('classifier', 'seeds', 'seed_eval', 'ir_labels', 'irn', 'masks',
          'mask_eval', 'final_masks', 'seg', 'seg_eval')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('pipeline_data'))
    generate_synthetic_voc(
        root, num_train=32, num_val=16, num_classes=3, seed=1)
    return root


def _command(root, work):
    return [
        sys.executable, 'tools/run_pipeline.py', CONFIG, '--work-dir', work,
        *reduced(root)
    ]


@pytest.fixture(scope='module')
def reference_run(data_root, tmp_path_factory):
    """The pipeline run once, uninterrupted."""
    work = str(tmp_path_factory.mktemp('reference') / 'work')
    result = run_tool(_command(data_root, work), timeout=1500)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    return work, out


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
    # every stage ran on the description's classes
    assert '3 foreground classes' in out
    for name in CLASSES[1:]:
        assert name in open(osp.join(work, 'logs', 'seg_eval.log')).read()
    # a second run has nothing to do
    result = run_tool(_command(data_root, work), timeout=600)
    assert result.returncode == 0
    for stage in STAGES:
        assert f'{stage}: done before, skipped' in result.stdout


# (fault, stage it hits): spread over every stage, including mid-epoch
# training kills, kills after the last output file of a stage and before the
# stage is recorded, and kills in the middle of writing seeds, IR labels,
# walks and masks
FAULTS = [
    ('train_iter@10', 'classifier'),  # epoch 3 of 4: resumes from epoch 2
    ('seed@5', 'seeds'),
    ('seed.partial@4', 'seeds'),
    ('stage_done.seeds', 'seeds'),
    ('stage_done.seed_eval', 'seed_eval'),
    ('ir_label.partial@4', 'ir_labels'),
    ('stage_done.ir_labels', 'ir_labels'),
    ('train_iter@6', 'irn'),  # epoch 2 of 10
    ('walk.partial@3', 'masks'),
    ('mask@12', 'masks'),
    ('stage_done.masks', 'masks'),
    ('stage_done.mask_eval', 'mask_eval'),
    ('final_mask.partial@5', 'final_masks'),
    ('train_iter@70', 'seg'),  # resumes from iteration 50
    ('stage_done.seg', 'seg'),
    ('stage_done.seg_eval', 'seg_eval'),
]
OUTPUTS = {
    'seeds': '.npz',
    'walks': '.npz',
    'ir_labels': '.png',
    'masks': '.png',
    'final_masks': '.png'
}


def _read_output(path):
    if path.endswith('.npz'):
        with np.load(path) as z:  # a partial file raises here
            return {k: z[k] for k in z.files}
    with Image.open(path) as img:
        img.load()  # a truncated PNG raises here
        return np.asarray(img)


def _outputs(work):
    """Every output file under its final name, read in full."""
    files = {}
    for sub, ext in OUTPUTS.items():
        d = osp.join(work, sub)
        for name in sorted(os.listdir(d)) if osp.isdir(d) else []:
            if name.endswith(ext) and '.tmp' not in name:
                files[f'{sub}/{name}'] = _read_output(osp.join(d, name))
    return files


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def _summary(work):
    """The summary without times, memory and this run's paths."""
    text = open(osp.join(work, 'summary.json')).read().replace(work, 'WORK')
    summary = json.loads(text)
    for result in summary.values():
        result.pop('seconds', None)
        result.pop('peak_rss_mb', None)
    return summary


def _state_dict(work, sub):
    import torch
    with open(osp.join(work, sub, 'last_checkpoint')) as f:
        ckpt = torch.load(
            f.read().strip(), map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def test_pipeline_killed_anywhere_finishes_like_an_uninterrupted_run(
        reference_run, data_root, tmp_path):
    ref_work, _ = reference_run
    work = str(tmp_path / 'work')
    state = osp.join(work, '.stages')
    for fault, stage in FAULTS:
        # the pipeline runs in its own session (run_tool), its stages in
        # its process group
        proc = run_tool(
            _command(data_root, work),
            env=dict(MMSEG_COBRA_FAULT=fault),
            timeout=900)
        out = proc.stdout + proc.stderr
        # SIGKILL took the whole process group, the pipeline included
        assert proc.returncode == -signal.SIGKILL, (fault, out[-3000:])
        log = open(osp.join(work, 'logs', stage + '.log')).read() \
            if not fault.startswith('stage_done') else out
        assert f'[fault injection] {fault.split("@")[0]}' in log, fault
        assert not osp.isfile(osp.join(state, stage + '.json')), fault
        for before in STAGES[:STAGES.index(stage)]:
            assert osp.isfile(osp.join(state, before + '.json')), fault
        _outputs(work)  # nothing under a final name is partial
        if fault.endswith('.partial@' + fault.split('@')[-1]):
            kind = fault.split('.')[0]
            sub = dict(
                seed='seeds',
                ir_label='ir_labels',
                walk='walks',
                final_mask='final_masks')[kind]
            assert any('.tmp' in n for n in os.listdir(osp.join(work, sub)))
    result = run_tool(_command(data_root, work), timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    ref, got = _outputs(ref_work), _outputs(work)
    assert ref.keys() == got.keys()
    differ = sorted(k for k in ref if not _same(ref[k], got[k]))
    assert not differ, f'{len(differ)} files differ, e.g. {differ[:5]}'
    for sub in ('cobra', 'irn', 'seg'):
        a, b = _state_dict(ref_work, sub), _state_dict(work, sub)
        assert a.keys() == b.keys()
        assert all(torch_equal(a[k], b[k]) for k in a), sub
    assert _summary(work) == _summary(ref_work)


def torch_equal(a, b):
    import torch
    return torch.equal(a, b)


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
        _command(data_root, work) +
        [f'classifier_checkpoint={missing}', '--stages', 'classifier'])
    assert result.returncode != 0
    assert f'classifier_checkpoint {missing} does not exist' in (
        result.stdout + result.stderr)
    result = run_tool(
        _command(data_root, work) + [
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
