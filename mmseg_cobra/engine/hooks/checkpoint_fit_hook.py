from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.checkpoint import check_checkpoint_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop when ``load_from`` holds another model's weights.

    Runs on the checkpoint mmengine has just read (``after_load_checkpoint``,
    before the weights go into the model), so the file is read once; raises
    :class:`~mmseg_cobra.utils.CheckpointMismatchError` naming the missing or
    misshapen weights. ``tools/test.py`` registers it.
    """

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        check_checkpoint_fits(runner.model, checkpoint,
                              str(runner.cfg.get('load_from')))
