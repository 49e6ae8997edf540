"""Run the whole CoBra pipeline with one command.

    python tools/run_pipeline.py configs/pipeline/cobra_voc.py \
        [--work-dir DIR] [--stages classifier seeds ...] \
        [--launcher pytorch --nproc 4]

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
DIR/logs/.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction

from mmseg_cobra.apis import (STAGES, CoBraPipeline, PipelineError,
                              prepare_synthetic_data, resolve_config_path,
                              resolve_pipeline_dataset)
from mmseg_cobra.apis.dataset_description import DescriptionError


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config', help='pipeline config')
    parser.add_argument('--work-dir')
    parser.add_argument(
        '--stages', nargs='+', choices=STAGES, default=list(STAGES))
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch'], default='none')
    parser.add_argument(
        '--nproc', type=int, default=1, help='processes per distributed stage')
    parser.add_argument(
        '--check',
        action='store_true',
        help='check the dataset description and write the '
        'stage configs (DIR/configs/), run no stage')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    cfg = Config.fromfile(resolve_config_path(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for key in ('cobra_config', 'irn_config', 'seg_config'):
        cfg[key] = resolve_config_path(cfg[key])
    try:
        resolve_pipeline_dataset(cfg)
    except DescriptionError as exc:
        sys.exit(f'error: dataset description: {exc}')
    cfg.data_root = osp.abspath(cfg.data_root)
    prepare_synthetic_data(cfg, 'train_list', 'pipeline')
    work_dir = args.work_dir or osp.join(
        'work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    pipeline = CoBraPipeline(cfg, work_dir, args.launcher, args.nproc)
    try:
        if args.check:
            for role, path in pipeline.prepare().items():
                print(f'{role}: {path}')
            return
        pipeline.run(args.stages)
    except PipelineError as exc:
        sys.exit(f'error: {exc}')


if __name__ == '__main__':
    main()
