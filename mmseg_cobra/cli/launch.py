"""Shared set-up of the tools: distributed init, work dir."""
import os.path as osp

import torch
from mmengine.config import Config

from ..utils.dist_utils import init_dist_any_device


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Record ``launcher`` in ``cfg`` and initialise distributed mode.

    On CPU the process group uses gloo and the model is wrapped with
    ``DeviceAwareDistributedDataParallel`` (unless the config names its own
    wrapper), because mmengine's defaults only work on CUDA.

    Args:
        cfg (Config): The run's config, modified in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    cfg.launcher = launcher
    if launcher == 'none':
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = dict(env_cfg.get('dist_cfg', {}) or {})
    backend = dist_cfg.pop('backend', 'nccl')
    dist_cfg['backend'] = init_dist_any_device(launcher, backend, **dist_cfg)
    env_cfg['dist_cfg'] = dist_cfg
    if not torch.cuda.is_available() and cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='DeviceAwareDistributedDataParallel',
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config name>``: where a run of a config goes when
    neither the command line nor the config names a work dir (as in
    mmseg's tools)."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str) -> None:
    """Set ``cfg.work_dir``: CLI > config > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(config_path)
