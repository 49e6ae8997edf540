"""A work dir and a data root with spaces and commas in their paths: every
path reaches the stage tools in a written config or as an argument, never
through ``--cfg-options`` (whose parser splits at commas and drops
spaces), so the seeds and IR labels are those of the reference run."""
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
from conftest import run_tool
from mmengine.config import Config
from PIL import Image
from pipeline_args import CONFIG, reduced
from pipeline_reference import pipeline_data, reference_run

pytestmark = pytest.mark.slow


def _same_dir(a, b, ext):
    names = sorted(n for n in os.listdir(a) if n.endswith(ext))
    assert names and names == sorted(
        n for n in os.listdir(b) if n.endswith(ext))
    for name in names:
        if ext == '.npz':
            with np.load(osp.join(a, name)) as x, np.load(osp.join(b,
                                                                   name)) as y:
                assert x.files == y.files
                assert all(np.array_equal(x[k], y[k]) for k in x.files)
        else:
            assert np.array_equal(
                np.asarray(Image.open(osp.join(a, name))),
                np.asarray(Image.open(osp.join(b, name))))


def test_paths_with_spaces_and_commas(tmp_path_factory, tmp_path):
    ref_work, _ = reference_run(tmp_path_factory)
    root = str(tmp_path / 'd a,t a')
    shutil.copytree(pipeline_data(tmp_path_factory), root)
    work = str(tmp_path / 'a b,c' / 'w')
    config = tmp_path / 'my pipeline.py'  # the data root in a file
    config.write_text(f'_base_ = [{CONFIG!r}]\n'
                      f'dataset = dict(data_root={root!r})\n')
    with open(osp.join(ref_work, 'cobra', 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    options = [o for o in reduced(root) if not o.startswith('dataset.data_')]
    result = run_tool(
        [
            sys.executable, 'tools/run_pipeline.py',
            str(config), '--work-dir', work
        ] + options + [
            f'classifier_checkpoint={ckpt}', '--stages', 'classifier', 'seeds',
            'ir_labels'
        ],
        timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    _same_dir(osp.join(ref_work, 'seeds'), osp.join(work, 'seeds'), '.npz')
    _same_dir(
        osp.join(ref_work, 'ir_labels'), osp.join(work, 'ir_labels'), '.png')
    # the stage tools read their paths from the written configs
    seeds = Config.fromfile(osp.join(work, 'configs', 'stages', 'seeds.py'))
    assert seeds.test_dataloader.dataset.data_root == root
    hooks = {h['type']: h for h in seeds.custom_hooks}
    assert hooks['SeedWriterHook']['out_dir'] == osp.join(work, 'seeds')
    log = open(osp.join(work, 'logs', 'seeds.log')).read()
    assert '--cfg-options' not in log.split('\n$ ')[-1].split('\n')[0]
