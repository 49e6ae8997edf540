"""Pseudo masks from IRN's walked maps with a chosen rule (no IRN rerun).

    python tools/masks_from_walks.py WALK_DIR OUT_DIR --config IRN_CONFIG \
        [--rule reference|irn] [--value 0.31] [--no-crf] [--nproc 8]

The mask stage (``tools/test.py`` on an IRN config) writes the walked maps
of every image (``<work_dir>/walks``, ``WalkWriterHook``).
``tools/mask_report.py --walks`` sweeps the rules' parameters on the images
that have ground truth; this tool then writes the masks of every image with
the chosen rule and value (``--rule``/``--value``, defaults: the config's
``model.test_cfg``), followed by the reference's final dense CRF unless
``--no-crf``. Palette PNGs are written atomically in a process pool;
existing ones are kept, so an interrupted run resumes. The image list comes
from the config's ``test_dataloader.dataset``.
"""
import argparse
import os.path as osp
import sys
from functools import partial

import numpy as np
from mmengine.utils import track_parallel_progress
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_cobra.utils.ir_label import save_label_png  # noqa: E402
from mmseg_cobra.utils.seed_io import SeedFileError  # noqa: E402
from mmseg_cobra.utils.walk_io import (load_walk, mask_from_walk,  # noqa
                                       walk_path)


def process(task, walk_dir, out_dir, rule, value, crf_cfg, palette,
            upsample='resize'):
    img_id, img_path = task
    out = osp.join(out_dir, img_id + '.png')
    if osp.isfile(out):
        return img_id, 'exists'
    try:
        image = np.asarray(Image.open(img_path).convert('RGB'))
    except OSError as exc:
        return img_id, f'image {img_path} unreadable: {exc}'
    path = walk_path(walk_dir, img_id)
    if not osp.isfile(path):
        return img_id, f'walk file {path} missing'
    try:
        walk = load_walk(path, image.shape[:2])
    except SeedFileError as exc:
        return img_id, str(exc)
    label = mask_from_walk(walk, rule, value,
                           image if crf_cfg is not None else None, crf_cfg,
                           upsample)
    save_label_png(label, out, palette, kind='final_mask')
    return img_id, 'written'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('walk_dir')
    parser.add_argument('out_dir')
    parser.add_argument('--config', required=True)
    parser.add_argument('--data-root')
    parser.add_argument('--ann-file', help='image list (default: the '
                        "config's test_dataloader.dataset.ann_file)")
    parser.add_argument('--rule', choices=('reference', 'irn'))
    parser.add_argument('--value', type=float,
                        help='theta (reference) or background score (irn)')
    parser.add_argument('--no-crf', action='store_true')
    parser.add_argument('--nproc', type=int, default=2)
    args = parser.parse_args()

    import mmseg_cobra  # noqa: F401
    from mmengine.config import Config

    from mmseg_cobra.utils.dataset_tools import (dataset_from_config,
                                                 image_tasks, report_status)
    cfg = Config.fromfile(args.config)
    if args.ann_file:
        cfg.test_dataloader.dataset.ann_file = args.ann_file
    test_cfg = cfg.model.get('test_cfg', {})
    rule = args.rule or test_cfg.get('mask_rule', 'reference')
    value = args.value if args.value is not None else test_cfg.get(
        'theta' if rule == 'reference' else 'bg_threshold',
        0.31 if rule == 'reference' else 0.25)
    from mmseg_cobra.utils.crf import FINAL_CRF_CFG
    crf_cfg = None if args.no_crf else dict(
        test_cfg.get('crf_cfg') or FINAL_CRF_CFG)
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    tasks = image_tasks(dataset)
    print(f'masks of {len(tasks)} images, rule {rule} {value:g}, '
          f'{"no CRF" if crf_cfg is None else "dense CRF"} -> {args.out_dir}')
    worker = partial(process, walk_dir=args.walk_dir, out_dir=args.out_dir,
                     rule=rule, value=value, crf_cfg=crf_cfg,
                     palette=dataset.metainfo['palette'],
                     upsample=test_cfg.get('walk_upsample', 'resize'))
    skipped = report_status(
        dict(track_parallel_progress(worker, tasks, args.nproc)))
    if skipped:
        sys.exit(1)


if __name__ == '__main__':
    main()
