"""Writer hooks and GuideQualityHook, in process, on hand-made samples."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_cobra.engine.hooks import (GuideQualityHook, MaskWriterHook,
                                      SeedWriterHook, WalkWriterHook)
from mmseg_cobra.structures.seed_io import load_seed
from mmseg_cobra.structures.walk_io import load_walk

PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]


def _runner(work_dir, **extra):
    dataset = SimpleNamespace(metainfo=dict(palette=PALETTE))
    return SimpleNamespace(
        work_dir=str(work_dir),
        rank=0,
        model=SimpleNamespace(num_classes=3),
        test_dataloader=SimpleNamespace(dataset=dataset),
        **extra)


def _seed_sample(img_id, h=9, w=7, keys=(0, 2)):
    g = torch.Generator().manual_seed(len(img_id))
    sample = SegDataSample(metainfo=dict(img_id=img_id, img_path=img_id))
    for key in ('cam_cnn', 'cam_vit', 'cam_fuse'):
        sample.set_field(
            PixelData(data=torch.rand(len(keys), h, w, generator=g)), key)
        sample.set_field(
            PixelData(data=torch.rand(len(keys), 3, 2, generator=g)),
            key + '_grid')
    sample.attn_cls2patch = PixelData(data=torch.rand(1, h, w, generator=g))
    sample.cam_keys = torch.tensor(keys)
    return sample


def test_seed_writer_writes_loadable_seeds_and_a_rank_manifest(tmp_path):
    hook = SeedWriterHook()  # default: <work_dir>/seeds
    runner = _runner(tmp_path)
    hook.before_test(runner)
    samples = [_seed_sample('a'), _seed_sample('bb')]
    hook.after_test_iter(runner, 0, outputs=samples)
    hook.after_test(runner)
    out_dir = tmp_path / 'seeds'
    for sample in samples:
        img_id = sample.metainfo['img_id']
        seed = load_seed(
            str(out_dir / f'{img_id}.npz'), num_classes=3, image_size=(9, 7))
        assert seed['keys'].tolist() == [0, 2]
        for key in ('cam_fuse', 'cam_vit_grid'):
            np.testing.assert_allclose(
                seed[key], sample.get(key).data.numpy(), atol=1e-3)
        assert hook.is_done(runner, dict(img_id=img_id))
    assert not hook.is_done(runner, dict(img_path='x/c.jpg'))
    assert (out_dir / '.written_rank0.txt').read_text() == 'a\nbb\n'
    assert hook.num_written == 2


def test_mask_writer_writes_palette_pngs(tmp_path):
    hook = MaskWriterHook(out_dir=str(tmp_path / 'm'))
    runner = _runner(tmp_path)
    label = torch.tensor([[0, 1, 255], [3, 2, 1]])
    sample = SegDataSample(metainfo=dict(img_path='dir/x.jpg'))
    sample.pred_sem_seg = PixelData(data=label[None])
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, outputs=[sample])
    png = Image.open(tmp_path / 'm' / 'x.png')  # id from the file name
    assert png.mode == 'P'
    assert np.array_equal(np.asarray(png), label.numpy())
    assert png.getpalette()[3:6] == [128, 0, 0]
    assert hook.is_done(runner, dict(img_path='other/x.jpg'))


def test_walk_writer_writes_walks_and_refuses_without_them(tmp_path):
    hook = WalkWriterHook()
    runner = _runner(tmp_path)
    sample = SegDataSample(metainfo=dict(img_id='w'))
    sample.seed_keys = torch.tensor([1])
    sample.walk_cams = torch.rand(1, 3, 2)
    sample.boundary = torch.rand(3, 2)
    sample.pred_sem_seg = PixelData(data=torch.zeros(1, 10, 7).long())
    hook.after_test_iter(runner, 0, outputs=[sample])
    walk = load_walk(str(tmp_path / 'walks' / 'w.npz'), image_size=(10, 7))
    np.testing.assert_allclose(
        walk['walk'], sample.walk_cams.numpy(), atol=1e-3)
    bare = SegDataSample(metainfo=dict(img_id='v'))
    with pytest.raises(RuntimeError, match='keep_walk=True'):
        hook.after_test_iter(runner, 0, outputs=[bare])


class _Visualizer:

    def __init__(self):
        self.records = []

    def add_scalars(self, scalars, step):
        self.records.append((dict(scalars), step))


def test_guide_quality_hook_averages_the_epoch_and_records_it():
    hub = MessageHub.get_instance('test_guide_quality_hook')
    values = dict(
        guide_cap_prec=[0.5, 0.7, 0.9],
        guide_cap_chance=[0.2, 0.2, 0.5],
        guide_sap_prec=[1.0, 0.0, 0.5],
        guide_sap_chance=[0.1, 0.1, 0.1])
    runner = SimpleNamespace(
        iter=10, epoch=1, message_hub=hub, visualizer=_Visualizer())
    hook = GuideQualityHook()
    hook.before_train_epoch(runner)
    for i in range(3):
        for key, series in values.items():
            hub.update_scalar(f'train/{key}', series[i])
    runner.iter = 12  # two iterations this epoch: the last two values
    hook.after_train_epoch(runner)
    (scalars, step), = runner.visualizer.records
    assert step == 2
    assert scalars == pytest.approx({
        'guide/cap_same_class': 80.0,
        'guide/cap_chance': 35.0,
        'guide/sap_in_class': 25.0,
        'guide/sap_chance': 10.0
    })
    # an epoch without the figures records nothing
    runner2 = SimpleNamespace(
        iter=0,
        epoch=0,
        message_hub=MessageHub.get_instance('empty_guide_hub'),
        visualizer=_Visualizer())
    hook.before_train_epoch(runner2)
    runner2.iter = 3
    hook.after_train_epoch(runner2)
    assert runner2.visualizer.records == []
