import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.structures import PixelData
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...ops.seed_labels import seeds_to_label
from ...utils.image_io import read_image
from ...visualization import CAMVisualizer


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Draw the classifier's and the mask stage's outputs during testing:
    ``tools/test.py CONFIG CKPT --show-dir DIR`` for a CoBra or IRN config,
    as mmseg's ``SegVisualizationHook`` does for a segmentation model.

    One :class:`~mmseg_cobra.visualization.CAMVisualizer` panel per image
    (``<out_dir>/<img_id>.png``): for CoBra the CAMs of both branches, the
    fused CAM and the seed at ``seed_threshold``; for IRN the pseudo mask;
    the ground truth beside them when the dataset has it.

    Args:
        out_dir (str): Where the panels go.
        interval (int): Draw every ``interval``-th test iteration.
        seed_threshold (float): Background score of the drawn seed.
    """
    priority = 'LOW'

    def __init__(self,
                 out_dir: str,
                 interval: int = 1,
                 seed_threshold: float = 0.25) -> None:
        self.out_dir = out_dir
        self.interval = interval
        self.seed_threshold = seed_threshold
        self.visualizer: Optional[CAMVisualizer] = None

    def before_test(self, runner) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        self.visualizer = CAMVisualizer(name=f'cam_hook_{id(self)}')
        self.visualizer.dataset_meta = dict(
            runner.test_dataloader.dataset.metainfo)

    def after_test_iter(
            self,
            runner,
            batch_idx: int,
            data_batch: Optional[dict] = None,
            outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for sample in outputs or []:
            if 'cam_fuse' in sample and 'seed_mask' not in sample:
                seed = seeds_to_label(
                    sample.cam_fuse.data.float().cpu().numpy(),
                    sample.cam_keys.cpu().numpy(), self.seed_threshold)
                sample = sample.clone()
                sample.seed_mask = PixelData(data=seed[None])
            path = sample.metainfo['img_path']
            name = osp.splitext(osp.basename(path))[0]
            self.visualizer.add_datasample(
                name,
                read_image(path),
                sample,
                out_file=osp.join(self.out_dir, name + '.png'))
