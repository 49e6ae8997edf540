"""Train any stage of the CoBra pipeline (or any mmseg config).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

Under ``tools/dist_train.sh`` (torchrun) or ``tools/slurm_train.sh`` (srun)
it runs one process per GPU (nccl), or per CPU process (gloo) on a machine
without CUDA. ``train_dataloader.batch_size`` is per process; the dataset
check runs on rank 0 only.
"""
import argparse
import logging
import sys
from typing import Optional

from mmengine.logging import print_log

import mmseg_cobra  # noqa: E402,F401  (registers every component)
from mmseg_cobra.cli import (add_dataset_check_args, add_flags,
                             add_launcher_args, parse_tool_args,
                             resolve_work_dir, run_cli, tool_parser)
from mmseg_cobra.cli.runner_setup import build_checked_runner
from mmseg_cobra.datasets.dataset_tools import check_class_count
from mmseg_cobra.engine.hooks.preemption_checkpoint_hook import \
    TrainingPreempted
from mmseg_cobra.utils import (load_config, shutdown_dist,
                               use_project_checkpoint_loader)
from mmseg_cobra.utils.device import select_device
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.fault import training_hooks


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='train config file path')
    add_flags(parser, '--work-dir')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from CKPT, or (no value) from the latest checkpoint in '
        'the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch (world size x '
        'per-process batch) over auto_scale_lr.base_batch_size (the '
        "paper's total batch)")
    add_flags(parser, '--cfg-options')
    add_launcher_args(parser)
    add_dataset_check_args(parser)
    add_flags(parser, '--device')
    args = parse_tool_args(parser)
    return args


def apply_run_flags(cfg, args: argparse.Namespace) -> None:
    """``--amp``, ``--auto-scale-lr`` and ``--resume`` into ``cfg``."""
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP is already enabled in the config',
                logger='current',
                level=logging.WARNING)
        elif optim_wrapper != 'OptimWrapper':
            raise UserError('--amp is only supported with OptimWrapper, the '
                            f'config uses {optim_wrapper}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if not (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            raise UserError(
                f'--auto-scale-lr: {args.config} has no '
                'auto_scale_lr.base_batch_size; add auto_scale_lr = '
                'dict(enable=False, base_batch_size=TOTAL) to it')
        cfg.auto_scale_lr.enable = True
    if args.resume is not None:
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume


def main() -> Optional[int]:
    args = parse_args()
    use_project_checkpoint_loader()  # files named in its errors
    select_device(args.device)
    cfg = load_config(args.config, args.cfg_options)
    check_class_count(cfg, args.config)
    resolve_work_dir(cfg, args.config, args.work_dir)
    apply_run_flags(cfg, args)
    runner = build_checked_runner(cfg, args,
                                  ['train_dataloader', 'val_dataloader'])
    # SIGTERM (a cluster's time limit or pre-emption, the pipeline's driver
    # stopped): a checkpoint where training stands, then exit 143
    if not any(
            str(h.get('type', '')).endswith('PreemptionCheckpointHook')
            for h in cfg.get('custom_hooks') or []):
        runner.register_hook(dict(type='PreemptionCheckpointHook'))
    for hook in training_hooks():  # a test plugin's (utils/fault.py)
        runner.register_hook(hook)
    try:
        runner.train()
    except TrainingPreempted as exc:  # SIGTERM: checkpoint saved
        shutdown_dist()
        return exc.exit_code
    shutdown_dist()
    return None


if __name__ == '__main__':
    sys.exit(run_cli(main))
