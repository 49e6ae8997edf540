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
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_cobra  # noqa: E402,F401  (registers every component)
from mmseg_cobra.datasets import DatasetError
from mmseg_cobra.datasets.dataset_tools import (add_dataset_check_args,
                                                check_class_count,
                                                check_on_rank0)
from mmseg_cobra.utils import (export_local_rank, load_config_or_exit,
                               resolve_work_dir, setup_launcher, shutdown_dist,
                               use_project_checkpoint_loader)
from mmseg_cobra.utils.device import DEVICES, DeviceError, select_device
from mmseg_cobra.utils.fault import ENV as FAULT_ENV


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a CoBra stage')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. key=value a.b=1')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local_rank, newer tools --local-rank
    add_dataset_check_args(parser)
    parser.add_argument(
        '--device',
        choices=DEVICES,
        default='auto',
        help='cuda: refuse to start without a usable GPU; cpu: run on the '
        'CPU (GPUs hidden); auto: a GPU if torch sees one, else the CPU, '
        'said in the log')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    use_project_checkpoint_loader()  # files named in its errors
    try:
        select_device(args.device)
    except DeviceError as exc:
        sys.exit(f'error: {exc}')
    cfg = load_config_or_exit(args.config, args.cfg_options)
    try:
        check_class_count(cfg, args.config)
    except DatasetError as exc:
        sys.exit(f'error: {exc}')
    resolve_work_dir(cfg, args.config, args.work_dir)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log(
                'AMP is already enabled in the config',
                logger='current',
                level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '--amp is only supported with OptimWrapper, the config uses '
                f'{optim_wrapper}')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        if not (cfg.get('auto_scale_lr') or {}).get('base_batch_size'):
            sys.exit(f'error: --auto-scale-lr: {args.config} has no '
                     'auto_scale_lr.base_batch_size; add auto_scale_lr = '
                     'dict(enable=False, base_batch_size=TOTAL) to it')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    setup_launcher(cfg, args.launcher)
    if not args.no_dataset_check:
        try:
            check_on_rank0(
                cfg, ('train_dataloader', 'val_dataloader'),
                cfg.work_dir,
                skip_bad=args.skip_bad_images,
                use_cache=not args.no_check_cache)
        except DatasetError as exc:
            sys.exit(f'error: {exc}')
    try:
        if 'runner_type' in cfg:
            runner = RUNNERS.build(cfg)
        else:
            runner = Runner.from_cfg(cfg)
        if os.environ.get(FAULT_ENV):  # kill-anywhere tests only
            runner.register_hook(dict(type='FaultInjectionHook'))
        runner.train()
        shutdown_dist()
    except DatasetError as exc:  # bad data: say what to fix, no traceback
        sys.exit(f'error: {exc}')


if __name__ == '__main__':
    main()
