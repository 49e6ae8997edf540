"""Run the whole CoBra pipeline with one command.

    python tools/run_pipeline.py configs/pipeline/cobra_voc.py \
        [--work-dir DIR] [--stages classifier seeds ...] \
        [--launcher {none,pytorch,slurm}] [--nproc-per-node G] \
        [--nnodes N --node-rank R --master-addr A --master-port P] \
        [--nproc C]

Stages, in order: classifier (tools/train.py on the CoBra config), seeds
(tools/test.py: multi-scale CAMs of every training image), seed_eval
(tools/eval_seeds.py), ir_labels (tools/make_ir_labels.py), irn
(tools/train.py on the IRN config), masks (tools/test.py: random walk,
masks with the IRN config's rule, walked maps kept), mask_eval
(tools/mask_report.py: seeds and masks on equal footing, oracle boundary,
boundary precision/recall), final_masks (tools/masks_from_walks.py: the
training images' masks with the mask rule's swept value), seg
(tools/train.py on the segmentation config), seg_eval (tools/test.py).
Each writes into DIR; finished stages are
skipped when the command is run again, an interrupted one resumes. The
summary (seed, mask and segmentation mIoU, time per stage) is printed and
written to DIR/summary.md and DIR/summary.json; each stage's log is in
DIR/logs/. ``--nproc C`` sets the CPU pool of the CPU stages (the
config's ``nproc_cpu``).

Launchers (docs: "Running on a cluster"):
  none     every stage in one process (CPU stages: a pool of --nproc).
  pytorch  torchrun, G processes per node (--nproc-per-node) for
           training/testing,
           one rank per node for the CPU stages (images sharded over the
           nodes, each with its pool). Several nodes: run the same command
           on every node with --nnodes N --node-rank R --master-addr A
           --master-port P (or NNODES, NODE_RANK, MASTER_ADDR, PORT, as
           tools/dist_train.sh); node 0 drives, the others join. The work
           dir (and data) must be on a file system every node shares.
  slurm    inside an allocation (sbatch/salloc): one command; every stage
           runs through srun over the allocation (G tasks per node from
           --nproc-per-node or SLURM_NTASKS_PER_NODE; SRUN_ARGS added to
           srun).
A second driver on a work dir in use is refused, naming the holder; the
lock of a killed run is taken over, so the same command resumes it.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Optional

from mmseg_cobra.cli import add_flags, add_launcher_args, run_cli, tool_parser
from mmseg_cobra.cli.launch import default_work_dir
from mmseg_cobra.pipeline import (STAGES, CoBraPipeline, DescriptionError,
                                  PipelineConfigError, PipelineInterrupted,
                                  load_run_config, resolve_pipeline_dataset)
from mmseg_cobra.pipeline.config import check_pipeline_keys
from mmseg_cobra.pipeline.launchers import StageLauncher, free_port_pair


def _env_int(name: str, default: Optional[int]) -> Optional[int]:
    value = os.environ.get(name)
    return default if value is None else int(value)


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """The launcher flags (defaults from the environment variables of
    tools/dist_train.sh)."""
    add_launcher_args(parser)
    parser.add_argument(
        '--nproc-per-node',
        type=int,
        help='processes per node of the training/testing stages (one per '
        'GPU; default 1, under slurm SLURM_NTASKS_PER_NODE)')
    parser.add_argument(
        '--nnodes',
        type=int,
        default=_env_int('NNODES', 1),
        help='nodes of a --launcher pytorch job (env NNODES)')
    parser.add_argument(
        '--node-rank',
        type=int,
        default=os.environ.get('NODE_RANK'),
        help='this node (0 drives; env NODE_RANK)')
    parser.add_argument(
        '--master-addr',
        default=os.environ.get('MASTER_ADDR', '127.0.0.1'),
        help='node 0\'s address (env MASTER_ADDR)')
    parser.add_argument(
        '--master-port',
        type=int,
        default=_env_int('PORT', None),
        help='rendezvous port of the stages; the driver also listens on '
        'the next one (env PORT; default: a free pair on one node, from '
        'the job id under Slurm, 29500 across nodes)')
    parser.add_argument(
        '--join-timeout',
        type=float,
        default=600.0,
        help='seconds a joining node waits for node 0')


def make_launcher(args: argparse.Namespace) -> StageLauncher:
    if args.launcher == 'slurm':
        return StageLauncher.for_slurm(args.nproc_per_node, sys.executable,
                                       args.master_port)
    port = args.master_port
    if port is None:  # one node: any free pair; several: agree on one
        port = free_port_pair() if args.nnodes == 1 else 29500
    return StageLauncher(
        args.launcher,
        nproc=args.nproc_per_node or 1,
        nnodes=args.nnodes,
        node_rank=int(args.node_rank or 0),
        master_addr=args.master_addr,
        master_port=port,
        python=sys.executable)


def build_parser() -> argparse.ArgumentParser:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='pipeline config')
    add_flags(parser, '--work-dir')
    parser.add_argument(
        '--stages', nargs='+', choices=STAGES, default=list(STAGES))
    add_launch_args(parser)
    parser.add_argument(
        '--rerun-from',
        choices=STAGES,
        metavar='STAGE',
        help='redo STAGE and every stage that reads its outputs, even if '
        'recorded; their records and outputs are moved to '
        'DIR/superseded/<time>/ (one of: ' + ', '.join(STAGES) + ')')
    parser.add_argument(
        '--rerun-changed',
        action='store_true',
        help='redo every stage whose settings changed since it ran (and '
        'the stages that read it) instead of stopping; the old records and '
        'outputs are moved to DIR/superseded/<time>/')
    parser.add_argument(
        '--check',
        action='store_true',
        help='check the dataset description and write the '
        'stage configs (DIR/configs/), run no stage')
    add_flags(parser, '--cfg-options', '--device', '--nproc',
              '--skip-bad-images')
    parser.set_defaults(nproc=None)
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='stream every stage tool\'s output to the terminal (it always '
        'goes to <work_dir>/logs/); otherwise one status line per stage '
        'shows its progress and ETA')
    return parser


def load_pipeline_config(args: argparse.Namespace):
    """The pipeline config with the command line's options, checked."""
    stage_keys = ('cobra_config', 'irn_config', 'seg_config')
    cfg = load_run_config(args.config, args.cfg_options, stage_keys,
                          stage_keys)
    check_pipeline_keys(cfg, args.cfg_options, args.config)
    try:
        resolve_pipeline_dataset(cfg)
    except DescriptionError as exc:
        raise PipelineConfigError(f'dataset description: {exc}') from None
    if cfg.get('data_root') is None:
        raise PipelineConfigError(
            f'the pipeline config {args.config} sets neither dataset (the '
            'description every stage receives) nor data_root: add dataset '
            '= dict(...) as in configs/pipeline/cobra_voc.py')
    cfg.data_root = osp.abspath(cfg.data_root)
    if args.nproc is not None:
        cfg.nproc_cpu = args.nproc
    if args.skip_bad_images:
        cfg.skip_bad_images = True
    return cfg


def main() -> Optional[int]:
    args = build_parser().parse_args()
    launch = make_launcher(args)
    cfg = load_pipeline_config(args)
    work_dir = args.work_dir or default_work_dir(args.config)
    pipeline = CoBraPipeline(cfg, work_dir, launch, args.join_timeout,
                             args.verbose, args.device)
    try:
        if args.check:
            for role, path in pipeline.check().items():
                print(f'{role}: {path}')
            return None
        pipeline.run(args.stages, args.rerun_from, args.rerun_changed)
    except PipelineInterrupted as exc:  # SIGTERM/SIGINT: the shell's code
        print(f'error: {exc}', file=sys.stderr)
        return exc.exit_code
    return None


if __name__ == '__main__':
    sys.exit(run_cli(main))
