"""The configs travel with the package: `mmseg_cobra::` bases and export.

A wheel is built from the checkout and installed into a temporary target
directory; everything then runs from a directory outside the checkout with
only that target (and the pinned environment) on the path.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, run_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """``(site_dir, outside_dir)``: the wheel installed into ``site_dir``."""
    base = tmp_path_factory.mktemp('wheel')
    wheel_dir, site = str(base / 'dist'), str(base / 'site')
    pip = [sys.executable, '-m', 'pip', '--disable-pip-version-check']
    subprocess.run(
        pip + [
            'wheel', '--no-deps', '--no-build-isolation', '-q', REPO, '-w',
            wheel_dir
        ],
        check=True,
        cwd=str(base))
    wheel = [f for f in os.listdir(wheel_dir) if f.endswith('.whl')]
    assert len(wheel) == 1
    subprocess.run(
        pip + [
            'install', '-q', '--no-deps', '--target', site,
            osp.join(wheel_dir, wheel[0])
        ],
        check=True)
    outside = base / 'project'
    outside.mkdir()
    return site, str(outside)


def run_outside(installed, args, **kwargs):
    site, outside = installed
    env = dict(PYTHONPATH=site, OMP_NUM_THREADS='1')
    return run_tool(args, cwd=outside, env=env, **kwargs)


def test_wheel_ships_every_config(installed):
    site, _ = installed
    shipped = set()
    root = osp.join(site, 'mmseg_cobra', '.mim', 'configs')
    for folder, _, files in os.walk(root):
        shipped |= {
            osp.relpath(osp.join(folder, f), root)
            for f in files if f.endswith('.py')
        }
    in_repo = set()
    for folder, _, files in os.walk(osp.join(REPO, 'configs')):
        in_repo |= {
            osp.relpath(osp.join(folder, f), osp.join(REPO, 'configs'))
            for f in files if f.endswith('.py')
        }
    assert shipped == in_repo and len(shipped) > 20


def test_package_bases_build_models_outside_the_checkout(installed):
    site, outside = installed
    for name in ('cobra/cobra_r18_vittiny_synthetic.py',
                 'irn/irn_r18_synthetic.py',
                 'seg/deeplabv3plus_r18_synthetic.py'):
        with open(osp.join(outside, 'my_' + osp.basename(name)), 'w') as f:
            f.write(f"_base_ = ['mmseg_cobra::{name}']\n"
                    "custom_imports = dict(imports=['mmseg_cobra'])\n")
    script = '''
import glob, sys
import mmseg_cobra
assert mmseg_cobra.__file__.startswith(sys.argv[1]), mmseg_cobra.__file__
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
init_default_scope('mmseg')
for path in sorted(glob.glob('my_*.py')):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    print(path, type(model).__name__)
'''
    result = run_outside(installed, [sys.executable, '-c', script, site])
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert 'my_cobra_r18_vittiny_synthetic.py CoBra' in out
    assert 'my_irn_r18_synthetic.py IRNBoundary' in out
    assert 'my_deeplabv3plus_r18_synthetic.py EncoderDecoder' in out


def test_exported_config_trains_with_mmsegs_own_train_script(installed):
    site, outside = installed
    result = run_outside(installed, [
        sys.executable, '-m', 'mmseg_cobra.configs', 'export',
        'cobra/cobra_r18_vittiny_synthetic.py', 'configs'
    ])
    assert result.returncode == 0, result.stderr[-2000:]
    exported = osp.join(outside, 'configs', 'cobra',
                        'cobra_r18_vittiny_synthetic.py')
    assert osp.isfile(exported)
    assert osp.isfile(
        osp.join(outside, 'configs', '_base_', 'models',
                 'cobra_r152_deits.py'))
    make_data = ('from mmseg_cobra.datasets import generate_synthetic_voc; '
                 "generate_synthetic_voc('data', num_train=8, num_val=4, "
                 'num_classes=4, image_size=(96, 96), seed=0)')
    assert run_outside(installed,
                       [sys.executable, '-c', make_data]).returncode == 0
    import mmseg
    mmseg_train = osp.join(
        osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    assert osp.isfile(mmseg_train)
    result = run_outside(
        installed,
        [
            sys.executable,
            mmseg_train,
            exported,
            '--work-dir',
            'work',
            '--cfg-options',
            'train_dataloader.dataset.data_root=data',
            'train_cfg.max_epochs=2',
            'train_dataloader.batch_size=4',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            # mmseg's own train.py knows list positions only
            'custom_hooks.0.start_epoch=1'
        ],
        timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'loss_cls_cnn' in log and 'loss_sap' in log
    assert osp.isfile(osp.join(outside, 'work', 'epoch_2.pth'))


def test_tools_ship_and_run_from_the_installed_package(installed, tmp_path):
    """The tools travel in the wheel (``.mim/tools``): ``python -m
    mmseg_cobra`` lists and runs them, and the synthetic pipeline runs end to
    end from a directory outside the checkout through the installed
    package (small sizes)."""
    site, outside = installed
    shipped = osp.join(site, 'mmseg_cobra', '.mim', 'tools')
    for name in ('train.py', 'test.py', 'run_pipeline.py', 'dist_train.sh',
                 'make_ir_labels.py', 'dataset_converters/coco2014.py',
                 'model_converters/reference_to_mmseg_cobra.py'):
        assert osp.isfile(osp.join(shipped, name)), name
    result = run_outside(installed, [sys.executable, '-m', 'mmseg_cobra'])
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'check_dataset' in result.stdout and 'dist_train.sh' in \
        result.stdout
    result = run_outside(installed,
                         [sys.executable, '-m', 'mmseg_cobra', 'no_such_tool'])
    assert result.returncode == 1 and "no tool 'no_such_tool'" in \
        result.stderr

    make_data = ('from mmseg_cobra.datasets import generate_synthetic_voc; '
                 "generate_synthetic_voc('data', num_train=16, num_val=4, "
                 'num_classes=4, image_size=(96, 96), seed=0)')
    assert run_outside(installed,
                       [sys.executable, '-c', make_data]).returncode == 0
    with open(osp.join(outside, 'my_cobra.py'), 'w') as f:
        f.write(
            "_base_ = ['mmseg_cobra::cobra/cobra_r18_vittiny_synthetic.py']"
            "\ncustom_imports = dict(imports=['mmseg_cobra'])\n"
            "train_dataloader = dict(dataset=dict(data_root='data'))\n"
            "test_dataloader = dict(dataset=dict(data_root='data'))\n")
    result = run_outside(
        installed,
        [sys.executable, '-m', 'mmseg_cobra', 'check_dataset', 'my_cobra.py'])
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]

    # every stage through the installed package's tools
    result = run_outside(
        installed, [
            sys.executable, '-m', 'mmseg_cobra', 'run_pipeline',
            'configs/pipeline/synthetic_demo.py', '--work-dir', 'work',
            '--cfg-options', 'dataset.data_root=data', 'nproc_cpu=1',
            'cfg_options.classifier.train_cfg.max_epochs=1',
            'cfg_options.classifier.custom_hooks.ComplementaryLossSwitchHook.'
            'start_epoch=0',
            'cfg_options.classifier.train_dataloader.num_workers=0',
            'cfg_options.classifier.train_dataloader.persistent_workers=False',
            'cfg_options.seeds.test_dataloader.num_workers=0',
            'cfg_options.seeds.model.test_cfg.scales=[1.0]',
            'cfg_options.irn.train_cfg.max_epochs=1',
            'cfg_options.irn.train_dataloader.num_workers=0',
            'cfg_options.irn.train_dataloader.persistent_workers=False',
            'cfg_options.irn.test_dataloader.num_workers=0',
            'cfg_options.seg.train_cfg.max_iters=2',
            'cfg_options.seg.train_cfg.val_interval=2',
            'cfg_options.seg.default_hooks.checkpoint.interval=2',
            'cfg_options.seg.train_dataloader.num_workers=0',
            'cfg_options.seg.val_dataloader.num_workers=0'
        ],
        timeout=1200)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    work = osp.join(outside, 'work')
    logs = open(osp.join(work, 'logs', 'classifier.log')).read()
    assert osp.join(shipped, 'train.py') in logs  # the installed tool ran
    summary = json.load(open(osp.join(work, 'summary.json')))
    assert 'seg_eval' in summary and 'final_masks' in summary
