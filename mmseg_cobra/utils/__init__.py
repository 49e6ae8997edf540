from .checkpoint import (MMENGINE_CHECKPOINT_GLOBALS, CheckpointMismatchError,
                         UnsafeCheckpointError, check_checkpoint_fits,
                         load_local_checkpoint,
                         register_checkpoint_safe_globals,
                         use_project_checkpoint_loader)
from .config import ConfigError, load_config
from .dist_utils import init_dist_any_device, shutdown_dist
from .errors import UserError, run_cli

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'CheckpointMismatchError', 'check_checkpoint_fits',
    'load_local_checkpoint', 'register_checkpoint_safe_globals',
    'use_project_checkpoint_loader', 'ConfigError', 'load_config',
    'init_dist_any_device', 'shutdown_dist', 'UserError', 'run_cli'
]
