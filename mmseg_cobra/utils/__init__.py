from .checkpoint import (MMENGINE_CHECKPOINT_GLOBALS, CheckpointMismatchError,
                         UnsafeCheckpointError, check_checkpoint_fits,
                         load_local_checkpoint,
                         register_checkpoint_safe_globals,
                         use_project_checkpoint_loader)
from .config import ConfigError, load_config, load_config_or_exit
from .dist_utils import init_dist_any_device, shutdown_dist
from .launch import (LAUNCHERS, add_launcher_args, export_local_rank,
                     resolve_work_dir, setup_launcher)

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'CheckpointMismatchError', 'check_checkpoint_fits',
    'load_local_checkpoint', 'register_checkpoint_safe_globals',
    'use_project_checkpoint_loader', 'ConfigError', 'load_config',
    'load_config_or_exit', 'init_dist_any_device', 'shutdown_dist',
    'export_local_rank', 'resolve_work_dir', 'setup_launcher', 'LAUNCHERS',
    'add_launcher_args'
]
