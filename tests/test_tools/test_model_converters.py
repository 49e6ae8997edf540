"""tools/model_converters/reference_to_mmseg_cobra.py: reference-format files
(made here from the key manifest, random values) -> checkpoints that
tools/test.py runs at full model size."""
import glob
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, run_tool
from parity.reference_weights import random_reference_state

from mmseg_cobra.datasets import generate_synthetic_voc

pytestmark = pytest.mark.slow

TOOL = 'tools/model_converters/reference_to_mmseg_cobra.py'
MANIFEST = osp.join(REPO, 'tests/data/reference_parity/manifest.json')


@pytest.fixture(scope='module')
def reference_files(tmp_path_factory):
    with open(MANIFEST) as f:
        manifest = json.load(f)
    root = tmp_path_factory.mktemp('reference_ckpts')
    paths = {}
    for seed, (kind, name) in enumerate(
        (('cnn', 'ep19_cnn_checkpoint.pth'),
         ('vit', 'ep19_tran_checkpoint.pth'), ('irn', 'res152_irn.pth'))):
        paths[kind] = str(root / name)
        torch.save(random_reference_state(manifest[kind], seed), paths[kind])
    return paths


def test_converted_pair_gives_seeds_through_tools_test(reference_files,
                                                       tmp_path):
    out = str(tmp_path / 'cobra_reference.pth')
    result = run_tool([
        sys.executable, TOOL, 'cobra', '--cnn', reference_files['cnn'],
        '--vit', reference_files['vit'], out
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'cobra: wrote' in result.stdout
    ckpt = torch.load(out, map_location='cpu', weights_only=True)
    assert ckpt['meta']['cnn'] == 'ep19_cnn_checkpoint.pth'
    assert ckpt['state_dict']['cnn_cam_head.weight'].shape == (21, 2048, 1, 1)

    root = str(tmp_path / 'VOC2012')
    ids = generate_synthetic_voc(
        root,
        num_train=2,
        num_val=1,
        num_classes=20,
        image_size=(90, 120),
        seed=0)['train']
    work = str(tmp_path / 'work')
    result = run_tool([
        sys.executable, 'tools/test.py',
        osp.join(REPO,
                 'configs/cobra/cobra_r152_deits_voc.py'), out, '--work-dir',
        work, '--cfg-options', f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.num_workers=0', 'model.test_cfg.scales=[1.0]',
        'model.cnn_backbone.init_cfg=None', 'model.vit_backbone.init_cfg=None'
    ],
                      timeout=900,
                      env=dict(OMP_NUM_THREADS='2'))
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    seeds = sorted(glob.glob(osp.join(work, 'seeds', '*.npz')))
    assert [osp.basename(p)[:-4] for p in seeds] == sorted(ids)
    seed = np.load(seeds[0])
    assert seed['cam_fuse'].shape[1:] == (90, 120)
    # the walk's seeds on the stride-4 grid, summed over scales there
    for key in ('cam_cnn_grid', 'cam_vit_grid', 'cam_fuse_grid'):
        assert seed[key].shape == (len(seed['keys']), 23, 30)
    assert float(seed['cam_fuse'].max()) > 0.9
    assert 'seed mIoU' in log


def test_irn_converter_and_refusals(reference_files, tmp_path):
    out = str(tmp_path / 'irn.pth')
    result = run_tool(
        [sys.executable, TOOL, 'irn', reference_files['irn'], out])
    assert result.returncode == 0, result.stderr[-3000:]
    state = torch.load(out, map_location='cpu', weights_only=True)
    assert 'boundary_head.weight' in state['state_dict']
    # the ViT file given as the CNN branch: refused by name, nothing written
    wrong = str(tmp_path / 'wrong.pth')
    result = run_tool([
        sys.executable, TOOL, 'cobra', '--cnn', reference_files['vit'],
        '--vit', reference_files['vit'], wrong
    ])
    assert result.returncode == 1
    assert 'ep19_tran_checkpoint.pth should be the CNN branch' in \
        result.stderr
    assert not osp.exists(wrong)
    # a CoBra pair against the COCO config (81 classes): refused, named
    result = run_tool([
        sys.executable, TOOL, 'cobra', '--cnn', reference_files['cnn'],
        '--vit', reference_files['vit'], wrong, '--config',
        osp.join(REPO, 'configs/cobra/cobra_r152_deits_coco.py')
    ])
    assert result.returncode == 1
    assert 'do not fit' in result.stderr and 'another shape' in \
        result.stderr
    assert not osp.exists(wrong)
    result = run_tool(
        [sys.executable, TOOL, 'irn',
         str(tmp_path / 'missing.pth'), wrong])
    assert result.returncode == 1 and 'missing.pth does not exist' in \
        result.stderr
