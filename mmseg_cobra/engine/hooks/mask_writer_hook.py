from typing import Optional, Sequence

from mmengine.logging import print_log
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...utils.file_io import save_label_png
from .output_writer_hook import OutputWriterHook


@HOOKS.register_module()
class MaskWriterHook(OutputWriterHook):
    """Write predicted masks (``pred_sem_seg``) as palette PNGs in testing.

    One ``<out_dir>/<img_id>.png`` per image, written atomically, with the
    dataset's palette (255 drawn light grey). With
    :class:`~mmseg_cobra.engine.runner.ResumableTestLoop`, images already
    written are skipped, and under ``dist_test.sh`` each rank writes its own.

    Args:
        out_dir (str, optional): Defaults to ``<work_dir>/masks``.
    """
    default_subdir = 'masks'
    suffix = '.png'

    def after_test_iter(
            self,
            runner,
            batch_idx: int,
            data_batch: Optional[dict] = None,
            outputs: Optional[Sequence[SegDataSample]] = None) -> None:
        palette = runner.test_dataloader.dataset.metainfo.get('palette')
        for sample in outputs or []:
            label = sample.pred_sem_seg.data[0].cpu().numpy()
            save_label_png(
                label,
                self.output_path(runner, self.image_id(sample.metainfo)),
                palette,
                kind='mask')
            self.num_written += 1

    def after_test(self, runner) -> None:
        print_log(
            f'rank {runner.rank}: wrote {self.num_written} masks to '
            f'{self.resolve_out_dir(runner)}',
            logger='current')
