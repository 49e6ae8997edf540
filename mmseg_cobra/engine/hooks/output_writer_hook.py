import os.path as osp
from typing import Optional

from mmengine.hooks import Hook


class OutputWriterHook(Hook):
    """Base of the hooks that write one file per image during testing.

    Resolves the output directory (``<work_dir>/<default_subdir>`` unless
    given) and answers :meth:`is_done`, which
    :class:`~mmseg_cobra.engine.runner.ResumableTestLoop` asks to skip images
    already written.

    Args:
        out_dir (str, optional): Output directory.
    """
    priority = 'NORMAL'
    default_subdir = ''
    suffix = ''

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self.num_written = 0

    def resolve_out_dir(self, runner) -> str:
        """The folder written: ``out_dir``, else
        ``<work_dir>/<default_subdir>``."""
        return self.out_dir or osp.join(runner.work_dir, self.default_subdir)

    @staticmethod
    def image_id(info) -> str:
        """``img_id`` of a data info / sample metainfo, else the file name."""
        img_id = info.get('img_id')
        return img_id or osp.splitext(osp.basename(info['img_path']))[0]

    def output_path(self, runner, img_id: str) -> str:
        return osp.join(self.resolve_out_dir(runner), img_id + self.suffix)

    def is_done(self, runner, data_info: dict) -> bool:
        """Whether the output of ``data_info``'s image is already on disk."""
        return osp.isfile(self.output_path(runner, self.image_id(data_info)))

    def before_test(self, runner) -> None:
        self.num_written = 0
