"""Test (or run inference for) any stage of the CoBra pipeline.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out-dir DIR]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

``--out-dir`` writes the predictions for offline evaluation (mmseg's
``--out``: sets ``test_evaluator.output_dir`` and ``keep_results``); by
default none are kept.
"""
import argparse
import os.path as osp
import sys

import mmseg_cobra  # noqa: E402,F401  (registers every component)
from mmseg_cobra.cli import (add_dataset_check_args, add_flags,
                             add_launcher_args, parse_tool_args,
                             resolve_work_dir, run_cli, tool_parser)
from mmseg_cobra.cli.runner_setup import build_checked_runner
from mmseg_cobra.datasets.dataset_tools import check_class_count
from mmseg_cobra.utils import (load_config, shutdown_dist,
                               use_project_checkpoint_loader)
from mmseg_cobra.utils.device import select_device
from mmseg_cobra.utils.errors import UserError


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_flags(parser, '--work-dir')
    add_flags(parser, '--out-dir')
    parser.add_argument(
        '--show-dir', help='directory where painted predictions are saved')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--crf',
        action='store_true',
        help='dense CRF on the predicted probabilities (the config\'s '
        'crf_model; same as use_crf=True in the config)')
    add_flags(parser, '--cfg-options')
    add_launcher_args(parser)
    add_dataset_check_args(parser)
    add_flags(parser, '--device')
    args = parse_tool_args(parser)
    return args


def apply_test_flags(cfg, args: argparse.Namespace) -> None:
    """``--show-dir``, ``--out-dir``, ``--tta`` and ``--crf`` into ``cfg``."""
    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is not None:  # a segmentation model: mmseg's hook
            vis_hook.draw = True
            vis_hook.interval = 1
            cfg.visualizer.save_dir = args.show_dir
        else:  # the classifier (CAMs, seeds) or IRN (pseudo masks)
            cfg.setdefault('custom_hooks', []).append(
                dict(type='CAMVisualizationHook', out_dir=args.show_dir))
    if args.out_dir is not None:
        cfg.test_evaluator['output_dir'] = args.out_dir
        cfg.test_evaluator['keep_results'] = True
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise UserError('--tta needs tta_model and tta_pipeline in the '
                            'config')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.crf or cfg.get('use_crf', False):
        crf_model = cfg.get('crf_model', dict(type='DenseCRFPostProcessor'))
        crf_model['module'] = cfg.model
        cfg.model = crf_model


def main() -> None:
    args = parse_args()
    use_project_checkpoint_loader()  # files named in its errors
    select_device(args.device)
    cfg = load_config(args.config, args.cfg_options)
    check_class_count(cfg, args.config)
    if not osp.isfile(args.checkpoint) and '://' not in args.checkpoint:
        raise UserError(f'checkpoint {args.checkpoint} does not exist')
    resolve_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    apply_test_flags(cfg, args)
    runner = build_checked_runner(cfg, args, ['test_dataloader'])
    # a checkpoint of another model stops the test before any output
    runner.register_hook(dict(type='CheckpointFitHook'))
    runner.test()
    shutdown_dist()


if __name__ == '__main__':
    sys.exit(run_cli(main))
