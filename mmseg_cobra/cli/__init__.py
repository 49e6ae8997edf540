"""What the tools under ``tools/`` share: their flags and parsing
(:mod:`.tool_args`), the launcher and work-dir setup (:mod:`.launch`), the
checked runner of ``train.py``/``test.py`` (:mod:`.runner_setup`), and
:func:`run_cli`, which turns a :class:`UserError` into its message and exit
status 1. Nothing in the package imports this layer; the tools do."""
from ..utils.errors import UserError, run_cli
from .launch import default_work_dir, resolve_work_dir, setup_launcher
from .runner_setup import build_checked_runner
from .tool_args import (LAUNCHERS, SHARED_FLAGS, add_dataset_check_args,
                        add_flags, add_launcher_args, config_work_dir,
                        out_dir_of, parse_and_load, parse_tool_args,
                        seed_dir_of, tool_parser, walk_dir_of)

__all__ = [
    'LAUNCHERS', 'SHARED_FLAGS', 'UserError', 'add_dataset_check_args',
    'add_flags', 'add_launcher_args', 'build_checked_runner',
    'config_work_dir', 'default_work_dir', 'out_dir_of', 'parse_and_load',
    'parse_tool_args', 'resolve_work_dir', 'run_cli', 'seed_dir_of',
    'setup_launcher', 'tool_parser', 'walk_dir_of'
]
