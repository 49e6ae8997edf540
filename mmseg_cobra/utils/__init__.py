from .checkpoint import (MMENGINE_CHECKPOINT_GLOBALS, CheckpointMismatchError,
                         UnsafeCheckpointError, check_checkpoint_fits,
                         load_local_checkpoint,
                         register_checkpoint_safe_globals,
                         use_project_checkpoint_loader)
from .config import ConfigError, load_config
from .dist_utils import init_dist_any_device, shutdown_dist
from .errors import UserError, run_cli
from .launch import resolve_work_dir, setup_launcher
from .tool_args import (LAUNCHERS, SHARED_FLAGS, add_dataset_check_args,
                        add_flags, add_launcher_args, parse_and_load,
                        parse_tool_args, seed_dir_of, tool_parser, walk_dir_of)

__all__ = [
    'MMENGINE_CHECKPOINT_GLOBALS', 'UnsafeCheckpointError',
    'CheckpointMismatchError', 'check_checkpoint_fits',
    'load_local_checkpoint', 'register_checkpoint_safe_globals',
    'use_project_checkpoint_loader', 'ConfigError', 'load_config',
    'init_dist_any_device', 'shutdown_dist', 'resolve_work_dir',
    'setup_launcher', 'LAUNCHERS', 'add_launcher_args', 'SHARED_FLAGS',
    'add_flags', 'add_dataset_check_args', 'seed_dir_of', 'walk_dir_of',
    'UserError', 'run_cli', 'tool_parser', 'parse_tool_args', 'parse_and_load'
]
