import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...structures import GRID_SOURCES, SEED_SOURCES, save_seed
from .output_writer_hook import OutputWriterHook


@HOOKS.register_module()
class SeedWriterHook(OutputWriterHook):
    """Write CoBra's multi-scale CAMs as seed files during the test loop.

    After each test iteration, every predicted sample (from
    ``CoBra.predict``) is written to ``<out_dir>/<img_id>.npz`` (see
    :mod:`mmseg_cobra.structures.seed_io`): ``cam_fuse`` =
    max((M_cnn + M_tran) / 2, M_tran), ``cam_cnn``, ``cam_vit``, the same
    three on the stride-4 grid (the random walk's seeds) and the summed
    class-token attention, float16, written atomically. With
    :class:`~mmseg_cobra.engine.runner.ResumableTestLoop`, images already
    written are not computed again; each rank writes the images of its own
    shard and lists them in ``<out_dir>/.written_rank<r>.txt``.

    Args:
        out_dir (str, optional): Seed directory. Defaults to
            ``<work_dir>/seeds``.
    """
    default_subdir = 'seeds'
    suffix = '.npz'

    def before_test(self, runner) -> None:
        super().before_test(runner)
        self._written_ids = []
        print_log(
            f'writing seeds to {self.resolve_out_dir(runner)}',
            logger='current')

    def after_test_iter(
            self,
            runner,
            batch_idx: int,
            data_batch: Optional[dict] = None,
            outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        for sample in outputs or []:
            img_id = self.image_id(sample.metainfo)
            save_seed(
                self.resolve_out_dir(runner),
                img_id,
                keys=sample.cam_keys.cpu().numpy(),
                maps={
                    k: getattr(sample, k).data.float().cpu().numpy()
                    for k in SEED_SOURCES + GRID_SOURCES if k in sample
                },
                attn=sample.attn_cls2patch.data[0].float().cpu().numpy(),
                num_classes=model.num_classes)
            self.num_written += 1
            self._written_ids.append(img_id)

    def after_test(self, runner) -> None:
        # one manifest per rank and run: which images this process wrote
        out_dir = self.resolve_out_dir(runner)
        os.makedirs(out_dir, exist_ok=True)
        manifest = osp.join(out_dir, f'.written_rank{runner.rank}.txt')
        with open(manifest, 'a') as f:
            f.writelines(i + '\n' for i in self._written_ids)
        print_log(
            f'rank {runner.rank}: wrote {self.num_written} seeds to '
            f'{out_dir}',
            logger='current')
