"""What ``tools/train.py`` and ``tools/test.py`` do between the config and
the run: the launcher, the dataset check, the runner."""
from argparse import Namespace
from typing import Sequence

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..datasets.dataset_tools import check_on_rank0
from ..utils.formatted_config import FormattedOnceConfig
from .launch import setup_launcher


def build_checked_runner(cfg: Config, args: Namespace,
                         dataloaders: Sequence[str]) -> Runner:
    """Start the launcher, check the datasets of ``dataloaders`` (unless
    ``--no-dataset-check``), then build the runner (``runner_type`` or
    mmengine's).

    Args:
        cfg (Config): The run's config (``work_dir`` resolved).
        args (Namespace): The tool's flags (``launcher``,
            ``no_dataset_check``, ``skip_bad_images``, ``no_check_cache``).
        dataloaders (Sequence[str]): Config keys whose datasets are checked.

    Returns:
        Runner: Ready to ``train()`` or ``test()``.

    Raises:
        DatasetError: Bad images (without ``--skip-bad-images``).
    """
    setup_launcher(cfg, args.launcher)
    if not args.no_dataset_check:
        check_on_rank0(
            cfg,
            tuple(dataloaders),
            cfg.work_dir,
            skip_bad=args.skip_bad_images,
            use_cache=not args.no_check_cache)
    # the runner formats its config for its log, its dump, the visualizer,
    # the message hub and each checkpoint: once is enough
    cfg = FormattedOnceConfig.of(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)
