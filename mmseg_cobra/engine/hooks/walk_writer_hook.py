from typing import Optional, Sequence

from mmengine.logging import print_log
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...structures.walk_io import save_walk
from .output_writer_hook import OutputWriterHook


@HOOKS.register_module()
class WalkWriterHook(OutputWriterHook):
    """Write IRN's walked maps and boundary map of each image in testing.

    Needs ``model.test_cfg.keep_walk=True`` (``IRNBoundary`` then attaches
    ``walk_cams`` and ``boundary`` to every sample). One
    ``<out_dir>/<img_id>.npz`` per image
    (:mod:`mmseg_cobra.structures.walk_io`),
    written atomically; ``tools/mask_report.py --walks`` sweeps the mask
    rules' thresholds on them and scores the boundary map, and
    ``tools/masks_from_walks.py`` writes masks with a chosen rule without
    running IRN again. With ``ResumableTestLoop``, images already written
    are skipped.

    Args:
        out_dir (str, optional): Defaults to ``<work_dir>/walks``.
    """
    default_subdir = 'walks'
    suffix = '.npz'

    def after_test_iter(
            self,
            runner,
            batch_idx: int,
            data_batch: Optional[dict] = None,
            outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        for sample in outputs or []:
            if 'walk_cams' not in sample:
                raise RuntimeError(
                    'WalkWriterHook needs the walked maps: set '
                    'model.test_cfg.keep_walk=True (IRNBoundary)')
            save_walk(
                self.resolve_out_dir(runner),
                self.image_id(sample.metainfo),
                keys=sample.seed_keys.cpu().numpy(),
                walk=sample.walk_cams.float().cpu().numpy(),
                boundary=sample.boundary.float().cpu().numpy(),
                image_size=sample.pred_sem_seg.shape)
            self.num_written += 1

    def after_test(self, runner) -> None:
        print_log(
            f'rank {runner.rank}: wrote {self.num_written} walk files '
            f'to {self.resolve_out_dir(runner)}',
            logger='current')
