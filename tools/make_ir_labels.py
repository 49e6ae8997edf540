"""Stage 3a: IR labels from the fused seeds, for IRN training.

    python tools/make_ir_labels.py configs/irn/irn_r152_cobra_voc.py \
        [--nproc 8] [--cfg-options ir_label_cfg.percentile=90]

Reads ``ir_label_cfg`` (seed dir, output dir, thresholds, CRF) and the image
list of ``train_dataloader.dataset`` from the IRN config; writes one palette
PNG per image (0 background, classes, 255 unknown), atomically, in a process
pool. Images already written are skipped, so an interrupted run resumes.
Images whose seed is missing or does not fit the image are listed and
counted, never written as empty labels. Images whose foreground threshold
leaves no confident foreground (e.g. an attention-percentile threshold above
0.5, so background + 0.5 > 1) are written (their background is still
informative) and counted and named at the end.
"""
import argparse
import os.path as osp
import sys
from functools import partial

import numpy as np
from mmengine.config import DictAction
from mmengine.utils import track_parallel_progress
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmseg_cobra  # noqa: E402,F401
from mmseg_cobra.utils.dataset_tools import (NO_FOREGROUND,  # noqa: E402
                                             dataset_from_config,
                                             image_tasks, report_status)
from mmseg_cobra.evaluation import combine_seeds  # noqa: E402
from mmseg_cobra.utils import ConfigError, load_config  # noqa: E402
from mmseg_cobra.utils.ir_label import (ir_thresholds,  # noqa: E402
                                        make_ir_label, save_label_png)
from mmseg_cobra.utils.seed_io import (SeedFileError, load_seed,  # noqa: E402
                                       seed_path)


def process(task: tuple, cfg: dict, num_classes: int, palette: list) -> tuple:
    img_id, img_path = task
    out = osp.join(cfg['out_dir'], img_id + '.png')
    if osp.isfile(out):
        return img_id, 'exists'
    try:
        image = np.asarray(Image.open(img_path).convert('RGB'))
    except OSError as exc:
        return img_id, f'image {img_path} unreadable: {exc}'
    path = seed_path(cfg['seed_dir'], img_id)
    if not osp.isfile(path):
        return img_id, f'seed {path} missing'
    try:
        seed = load_seed(path, num_classes, image.shape[:2])
    except SeedFileError as exc:
        return img_id, str(exc)
    bg, fg = ir_thresholds(seed['attn'], cfg['percentile'], cfg['fg_offset'],
                           cfg['grid'], cfg.get('fixed_thresholds'),
                           cfg.get('attention_scale', 'max'))
    label = make_ir_label(image, combine_seeds(seed, cfg['source']),
                          seed['keys'], bg, fg, cfg['crf'])
    save_label_png(label, out, palette, kind='ir_label')
    if len(seed['keys']) and not ((label > 0) & (label != 255)).any():
        # still a valid label (background and unknown pixels), but say so
        return img_id, NO_FOREGROUND + f' (thresholds {bg:.2f}/{fg:.2f})'
    return img_id, 'written'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('config')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    try:
        cfg = load_config(args.config, args.cfg_options)
    except ConfigError as exc:
        sys.exit(f'error: {exc}')
    ir_cfg = dict(cfg.ir_label_cfg)
    if not osp.isdir(ir_cfg['seed_dir']):
        sys.exit(f'error: seed directory {ir_cfg["seed_dir"]} does not '
                 'exist: run the seed stage first')
    dataset = dataset_from_config(cfg, 'ir_label_dataset')
    tasks = image_tasks(dataset)
    ids = [t[0] for t in tasks]
    worker = partial(
        process, cfg=ir_cfg, num_classes=len(dataset.metainfo['classes']) - 1,
        palette=dataset.metainfo['palette'])
    print(f'IR labels for {len(ids)} images -> {ir_cfg["out_dir"]}')
    results = track_parallel_progress(worker, tasks, args.nproc)
    skipped = report_status(dict(results))
    if skipped:
        sys.exit(1 if len(skipped) == len(ids) else 0)


if __name__ == '__main__':
    main()
