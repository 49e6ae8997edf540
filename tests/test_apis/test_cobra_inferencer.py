"""CoBraInferencer: config + checkpoint + images -> CAMs, classes, seed,
attention and (with IRN) the pseudo mask; panels through CAMVisualizer."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_CONFIG, build_tiny_cobra, run_tool
from PIL import Image

from mmseg_cobra.apis import CoBraInferencer

IRN_CONFIG = osp.join(REPO, 'configs/irn/irn_r18_synthetic.py')


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """Checkpoints as mmengine writes them (state dict and dataset meta) of
    the tiny CoBra and IRN configs, random weights."""
    from mmengine.config import Config
    from mmseg.registry import MODELS
    tmp = tmp_path_factory.mktemp('inferencer')
    meta = dict(
        dataset_meta=dict(
            classes=('background', 'disc', 'square', 'triangle', 'ring'),
            palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                     [0, 0, 128]]))
    cobra = str(tmp / 'cobra.pth')
    torch.save(
        dict(state_dict=build_tiny_cobra().state_dict(), meta=meta), cobra)
    torch.manual_seed(0)
    irn_model = MODELS.build(Config.fromfile(IRN_CONFIG).model)
    irn_model.init_weights()
    irn = str(tmp / 'irn.pth')
    torch.save(dict(state_dict=irn_model.state_dict(), meta=meta), irn)
    return cobra, irn


def _images(root, n=2):
    ids = open(osp.join(root, 'ImageSets', 'Segmentation',
                        'train.txt')).read().split()[:n]
    return [osp.join(root, 'JPEGImages', i + '.jpg') for i in ids]


def test_cams_classes_and_seed_of_images(checkpoints, synthetic_root,
                                         tmp_path):
    cobra, _ = checkpoints
    inferencer = CoBraInferencer(TINY_CONFIG, cobra, device='cpu')
    paths = _images(synthetic_root)
    array = np.asarray(Image.open(paths[0]).convert('RGB'))[..., ::-1]
    result = inferencer(
        paths + [array],
        out_dir=str(tmp_path / 'vis'),
        pred_out_dir=str(tmp_path / 'pred'))
    predictions = result['predictions']
    assert len(predictions) == 3
    for pred in predictions:
        k = len(pred['classes'])
        assert k >= 1 and pred['class_scores'].shape == (4, )
        assert pred['cam_cnn'].shape == pred['cam_fuse'].shape == \
            (k, 160, 160)
        assert pred['seed_mask'].shape == (160, 160)
        assert set(np.unique(pred['seed_mask'])) <= set(range(5))
        fused = np.maximum((pred['cam_cnn'] + pred['cam_vit']) / 2,
                           pred['cam_vit'])
        assert np.allclose(pred['cam_fuse'], fused, atol=1e-6)
        assert 'pseudo_mask' not in pred
    # the array is the first image, read as BGR like cv2 would
    assert np.allclose(
        predictions[2]['cam_fuse'], predictions[0]['cam_fuse'], atol=1e-4)
    panels = sorted(os.listdir(tmp_path / 'vis'))
    assert len(panels) == 3 and len(result['visualization']) == 3
    # image, CNN, ViT, fused, seed: 5 tiles of 160 px, a caption above
    assert result['visualization'][0].shape == (160 + 22, 5 * 160, 3)
    assert len(os.listdir(tmp_path / 'pred')) == 3  # seed PNGs


def test_given_labels_and_a_wrong_one(checkpoints, synthetic_root):
    cobra, _ = checkpoints
    inferencer = CoBraInferencer(TINY_CONFIG, cobra, device='cpu')
    path = _images(synthetic_root, 1)
    pred = inferencer(path, labels=['square', 'ring'])['predictions'][0]
    assert pred['classes'] == ['square', 'ring']
    assert pred['cam_fuse'].shape[0] == 2
    with pytest.raises(ValueError, match='not a foreground class'):
        inferencer(path, labels=['zebra'])


def test_pseudo_mask_with_irn(checkpoints, synthetic_root):
    cobra, irn = checkpoints
    inferencer = CoBraInferencer(
        TINY_CONFIG,
        cobra,
        device='cpu',
        irn_model=IRN_CONFIG,
        irn_weights=irn)
    result = inferencer(_images(synthetic_root, 1), return_datasamples=True)
    sample = result['predictions'][0]
    mask = sample.pred_sem_seg.data[0].numpy()
    assert mask.shape == (160, 160)
    allowed = {0, 255} | {int(k) + 1 for k in sample.cam_keys}
    assert set(np.unique(mask).tolist()) <= allowed


@pytest.mark.slow
def test_visualize_cams_tool_config_first(checkpoints, synthetic_root,
                                          tmp_path):
    """tools/visualize_cams.py CONFIG CHECKPOINT IMAGE... on the
    inferencer: a panel per image (with IRN: the pseudo mask tile too)."""
    cobra, irn = checkpoints
    images = _images(synthetic_root, 2)
    out = tmp_path / 'panels'
    result = run_tool([
        sys.executable, 'tools/visualize_cams.py', TINY_CONFIG, cobra, *images,
        '--irn-config', IRN_CONFIG, '--irn-checkpoint', irn, '--out-dir',
        str(out), '--device', 'cpu'
    ])
    assert result.returncode == 0, result.stderr[-2000:]
    assert '2 panels written' in result.stdout
    panels = sorted(os.listdir(out))
    assert len(panels) == 2
    with Image.open(out / panels[0]) as img:  # 6 tiles: + pseudo mask
        assert img.size == (6 * 160, 160 + 22)
    result = run_tool([
        sys.executable, 'tools/visualize_cams.py', TINY_CONFIG, cobra,
        images[0], '--irn-config', IRN_CONFIG
    ])
    assert result.returncode == 1
    assert 'need both --irn-config and --irn-checkpoint' in result.stderr


@pytest.mark.slow
def test_show_dir_draws_the_classifiers_test(checkpoints, synthetic_root,
                                             tmp_path):
    """tools/test.py --show-dir with a CoBra config (no mmseg visualization
    hook there): CAMVisualizationHook draws a panel per image."""
    cobra, _ = checkpoints
    ids = open(
        osp.join(synthetic_root, 'ImageSets', 'Segmentation',
                 'train.txt')).read().split()[:2]
    ann = tmp_path / 'two.txt'
    ann.write_text('\n'.join(ids) + '\n')
    show = tmp_path / 'show'
    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, cobra, '--work-dir',
        str(tmp_path / 'work'), '--show-dir',
        str(show), '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}',
        f'test_dataloader.dataset.ann_file={ann}',
        'test_dataloader.num_workers=0'
    ])
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(show)) == sorted(i + '.png' for i in ids)
    with Image.open(show / (ids[0] + '.png')) as img:
        # image, CNN, ViT, fused, seed, ground truth
        assert img.size == (6 * 160, 160 + 22)
