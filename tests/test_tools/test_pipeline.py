"""tools/run_pipeline.py: every stage on a small synthetic set, resumable."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from conftest import REPO, run_tool
from mmseg_cobra.datasets import generate_synthetic_voc
from mmseg_cobra.evaluation import evaluate_label_dir

CONFIG = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')
# 3 classes, renamed: the configs say 4; the pipeline's one dataset
# description has to reach every stage (heads, metrics, label vectors)
CLASSES = ('background', 'apple', 'brick', 'cone')


def reduced(root):
    return [
        '--cfg-options', f'dataset.data_root={root}', 'nproc_cpu=1',
        'dataset.classes=[' + ','.join(CLASSES) + ']',
        'dataset.palette=[[0,0,0],[128,0,0],[0,128,0],[128,128,0]]',
        'cfg_options.classifier.train_cfg.max_epochs=4',
        'cfg_options.classifier.custom_hooks.0.start_epoch=2',
        'cfg_options.classifier.train_dataloader.batch_size=8',
        'cfg_options.classifier.train_dataloader.num_workers=0',
        'cfg_options.classifier.train_dataloader.persistent_workers=False',
        'cfg_options.seeds.test_dataloader.num_workers=0',
        'cfg_options.irn.train_cfg.max_epochs=3',
        'cfg_options.irn.train_dataloader.num_workers=0',
        'cfg_options.irn.train_dataloader.persistent_workers=False',
        'cfg_options.irn.test_dataloader.num_workers=0',
        'cfg_options.seg.train_cfg.max_iters=150',
        'cfg_options.seg.train_cfg.val_interval=150',
        'cfg_options.seg.default_hooks.checkpoint.interval=150',
        'cfg_options.seg.train_dataloader.num_workers=0',
        'cfg_options.seg.val_dataloader.num_workers=0',
    ]


def chance_miou(root, split, tmp_path):
    """mIoU of predicting background everywhere."""
    with open(osp.join(root, f'ImageSets/Segmentation/{split}.txt')) as f:
        ids = f.read().split()
    zero_dir = str(tmp_path / f'zeros_{split}')
    os.makedirs(zero_dir)
    for img_id in ids:
        gt = Image.open(osp.join(root, 'SegmentationClassAug',
                                 img_id + '.png'))
        Image.fromarray(np.zeros(gt.size[::-1], np.uint8)).save(
            osp.join(zero_dir, img_id + '.png'))
    return evaluate_label_dir(zero_dir, osp.join(root, 'SegmentationClassAug'),
                              ids, CLASSES, show_progress=False)['mIoU']


def test_pipeline_runs_every_stage_and_resumes_after_kill(tmp_path):
    root = str(tmp_path / 'data')
    generate_synthetic_voc(root, num_train=32, num_val=16, num_classes=3,
                           seed=1)
    work = str(tmp_path / 'work')
    cmd = [sys.executable, 'tools/run_pipeline.py', CONFIG, '--work-dir',
           work, *reduced(root)]
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    state = osp.join(work, '.stages')
    deadline = time.time() + 900
    # kill it while IRN trains (stage 5 of 9)
    while not osp.isfile(osp.join(work, 'logs', 'irn.log')):
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(1)  # IRN is starting up: well inside the stage
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {s: os.stat(osp.join(state, s + '.json')).st_mtime_ns
                for s in ('classifier', 'seeds', 'seed_eval', 'ir_labels')}
    assert not osp.isfile(osp.join(state, 'irn.json'))

    result = run_tool(cmd, timeout=1500)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    for stage, mtime in finished.items():
        assert f'{stage}: done before, skipped' in out
        assert os.stat(osp.join(state, stage + '.json')).st_mtime_ns == mtime
    summary = json.load(open(osp.join(work, 'summary.json')))
    assert set(summary) == {'classifier', 'seeds', 'seed_eval', 'ir_labels',
                            'irn', 'masks', 'mask_eval', 'final_masks',
                            'seg', 'seg_eval'}
    train_chance = chance_miou(root, 'train', tmp_path)
    val_chance = chance_miou(root, 'val', tmp_path)
    seed = summary['seed_eval']['seed_fuse']
    mask = summary['mask_eval']['mask_miou']
    seg = summary['seg_eval']['seg_miou']
    print(f'chance {train_chance:.1f}/{val_chance:.1f}: seed {seed:.1f}, '
          f'mask {mask:.1f}, seg {seg:.1f}')
    assert seed > train_chance and mask > train_chance
    assert seg > val_chance
    # the final masks use the value the mask evaluation swept
    final = summary['final_masks']
    assert final['value'] == summary['mask_eval']['chosen']['value']
    assert final['mask_dir'].endswith('final_masks')
    assert osp.isfile(osp.join(work, 'summary.md'))
    # every stage ran on the description's classes
    assert '3 foreground classes' in out
    for name in CLASSES[1:]:
        assert name in open(osp.join(work, 'logs', 'seg_eval.log')).read()
