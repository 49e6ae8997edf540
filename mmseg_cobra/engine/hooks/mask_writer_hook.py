import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...utils.ir_label import save_label_png


@HOOKS.register_module()
class MaskWriterHook(Hook):
    """Write predicted masks (``pred_sem_seg``) as palette PNGs in testing.

    One ``<out_dir>/<img_id>.png`` per image, written atomically, with the
    dataset's palette (255 drawn light grey). With
    :class:`~mmseg_cobra.engine.runner.ResumableTestLoop`, images already
    written are skipped, and under ``dist_test.sh`` each rank writes its own.

    Args:
        out_dir (str, optional): Defaults to ``<work_dir>/masks``.
    """
    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self.num_written = 0

    def _dir(self, runner) -> str:
        return self.out_dir or osp.join(runner.work_dir, 'masks')

    def is_done(self, runner, data_info: dict) -> bool:
        img_id = data_info.get('img_id') or osp.splitext(
            osp.basename(data_info['img_path']))[0]
        return osp.isfile(osp.join(self._dir(runner), img_id + '.png'))

    def before_test(self, runner) -> None:
        self.num_written = 0

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence[SegDataSample]] = None
                        ) -> None:
        palette = runner.test_dataloader.dataset.metainfo.get('palette')
        for sample in outputs or []:
            img_id = sample.metainfo.get('img_id') or osp.splitext(
                osp.basename(sample.img_path))[0]
            label = sample.pred_sem_seg.data[0].cpu().numpy()
            save_label_png(label, osp.join(self._dir(runner), img_id + '.png'),
                           palette)
            self.num_written += 1

    def after_test(self, runner) -> None:
        print_log(f'rank {runner.rank}: wrote {self.num_written} masks to '
                  f'{self._dir(runner)}', logger='current')
