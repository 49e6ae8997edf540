"""ResumableTestLoop with a real mmengine Runner, in process."""
import os

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmseg.registry import DATASETS
from mmseg.structures import SegDataSample
from PIL import Image

PALETTE = [[0, 0, 0], [255, 0, 0]]


@DATASETS.register_module(force=True)
class _TinyIdDataset(BaseDataset):
    """``num`` samples with ids ``im0..``; ground truth for even ones."""

    def __init__(self, num: int, **kwargs) -> None:
        self.num = num
        super().__init__(
            metainfo=dict(classes=('bg', 'fg'), palette=PALETTE), **kwargs)

    def load_data_list(self):
        return [
            dict(img_id=f'im{i}', img_path=f'im{i}.jpg', index=i)
            for i in range(self.num)
        ]


class _CountingModel(BaseModel):
    """Predicts ``index % 2`` everywhere; counts the images it saw."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def test_step(self, data):
        out = []
        for img_id, index in zip(data['img_id'], data['index']):
            self.seen.append(img_id)
            sample = SegDataSample(
                metainfo=dict(img_id=img_id, img_path=img_id + '.jpg'))
            sample.pred_sem_seg = PixelData(
                data=torch.full((1, 4, 4), index % 2))
            if index % 2 == 0:  # ground truth: all background
                sample.gt_sem_seg = PixelData(
                    data=torch.zeros((1, 4, 4), dtype=torch.long))
            out.append(sample)
        return out


def _test(work_dir, mask_dir, num=5):
    model = _CountingModel()
    runner = Runner(
        model=model,
        work_dir=str(work_dir),
        test_dataloader=dict(
            dataset=dict(type='_TinyIdDataset', num=num),
            sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
            collate_fn=dict(type='pseudo_collate'),
            batch_size=2,
            num_workers=0),
        test_cfg=dict(type='ResumableTestLoop'),
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        custom_hooks=[dict(type='MaskWriterHook', out_dir=str(mask_dir))],
        default_scope='mmseg',
        experiment_name=f'resumable_{work_dir.parent.name}_{work_dir.name}',
        log_level='WARNING')
    metrics = runner.test()
    return model.seen, metrics, runner.test_loop


def test_resumable_test_loop_skips_written_and_scores_the_rest(tmp_path):
    masks = tmp_path / 'masks'
    seen, metrics, loop = _test(tmp_path / 'w1', masks)
    assert seen == ['im0', 'im1', 'im2', 'im3', 'im4']
    assert sorted(os.listdir(masks)) == [f'im{i}.png' for i in range(5)]
    assert loop.num_skipped == 0
    # scored: only im0, im2, im4 (ground truth, predicted all background)
    assert metrics['mIoU'] == 100.0
    assert np.asarray(Image.open(masks / 'im3.png')).max() == 1

    # a run killed after some images: only the missing ones are computed
    for name in ('im1.png', 'im4.png'):
        os.remove(masks / name)
    seen, metrics, loop = _test(tmp_path / 'w2', masks)
    assert seen == ['im1', 'im4']
    assert loop.num_skipped == 3 and loop.num_pending == 2
    assert metrics['mIoU'] == 100.0  # im4 scored, im1 has no ground truth

    # nothing left: no image computed, no metric invented
    seen, metrics, loop = _test(tmp_path / 'w3', masks)
    assert seen == [] and metrics == {}
    assert loop.num_pending == 0


def test_resumable_test_loop_without_ground_truth_returns_no_metric(tmp_path):
    masks = tmp_path / 'masks'
    _test(tmp_path / 'w', masks, num=2)
    os.remove(masks / 'im1.png')
    seen, metrics, _ = _test(tmp_path / 'w2', masks, num=2)
    assert seen == ['im1'] and metrics == {}
