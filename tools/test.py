"""Test (or run inference for) any stage of the CoBra pipeline.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_cobra  # noqa: E402,F401  (registers every component)
from mmseg_cobra.datasets import DatasetError
from mmseg_cobra.datasets.dataset_tools import (add_dataset_check_args,
                                                check_class_count,
                                                check_on_rank0)
from mmseg_cobra.utils import (CheckpointMismatchError, export_local_rank,
                               load_config_or_exit, resolve_work_dir,
                               setup_launcher, shutdown_dist,
                               use_project_checkpoint_loader)
from mmseg_cobra.utils.device import DEVICES, DeviceError, select_device


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a CoBra stage')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out',
        help='directory where predictions are written (mmseg semantics: '
        'sets test_evaluator.output_dir and keep_results)')
    parser.add_argument(
        '--show-dir', help='directory where painted predictions are saved')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='dense CRF on the predicted probabilities (the config\'s '
        'crf_model; same as use_crf=True in the config)')
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
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    resolve_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is not None:  # a segmentation model: mmseg's hook
            vis_hook.draw = True
            vis_hook.interval = 1
            cfg.visualizer.save_dir = args.show_dir
        else:  # the classifier (CAMs, seeds) or IRN (pseudo masks)
            cfg.setdefault('custom_hooks', []).append(
                dict(type='CAMVisualizationHook', out_dir=args.show_dir))
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            sys.exit('error: --tta needs tta_model and tta_pipeline in the '
                     'config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.crf or cfg.get('use_crf', False):
        crf_model = cfg.get('crf_model', dict(type='DenseCRFPostProcessor'))
        crf_model['module'] = cfg.model
        cfg.model = crf_model

    setup_launcher(cfg, args.launcher)
    if not args.no_dataset_check:
        try:
            check_on_rank0(
                cfg, ('test_dataloader', ),
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
        # a checkpoint of another model stops the test before any output
        runner.register_hook(dict(type='CheckpointFitHook'))
        runner.test()
        shutdown_dist()
    except (DatasetError, CheckpointMismatchError) as exc:
        # bad data or a checkpoint of another model: say what to fix
        sys.exit(f'error: {exc}')


if __name__ == '__main__':
    main()
