"""CRF-only masks: seeds -> background threshold -> denseCRF (no IRN).

    python tools/crf_masks.py SEED_DIR OUT_DIR --config CONFIG \
        [--threshold 0.3] [--source fuse] [--nproc 8]

For users who skip IRN: each image's seed (``--source``, M_fuse by default)
is thresholded (background where no class exceeds ``--threshold``; take the
best fixed threshold from ``tools/eval_seeds.py``), then refined with the
final-mask dense CRF (gaussian sxy 2 compat 3, bilateral sxy 45 srgb 5
compat 4, image in RGB). Palette PNGs are written atomically, in a process
pool; existing ones are kept (resume). The image list and classes come from
the config's ``test_dataloader.dataset`` (as tools/eval_seeds.py).
"""
import argparse
import os.path as osp
import sys
from functools import partial

import numpy as np
from mmengine.utils import track_parallel_progress
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseg_cobra.evaluation import combine_seeds, seeds_to_label  # noqa
from mmseg_cobra.utils.crf import FINAL_CRF_CFG as FINAL_CRF  # noqa: E402
from mmseg_cobra.utils.crf import crf_from_labels  # noqa: E402
from mmseg_cobra.utils.ir_label import save_label_png  # noqa: E402
from mmseg_cobra.utils.seed_io import (SeedFileError, load_seed,  # noqa: E402
                                       seed_path)


def process(task, seed_dir, out_dir, threshold, source, num_classes,
            palette):
    img_id, img_path = task
    out = osp.join(out_dir, img_id + '.png')
    if osp.isfile(out):
        return img_id, 'exists'
    image = np.asarray(Image.open(img_path).convert('RGB'))
    try:
        seed = load_seed(seed_path(seed_dir, img_id), num_classes,
                         image.shape[:2])
    except (SeedFileError, FileNotFoundError) as exc:
        return img_id, str(exc)
    keys = seed['keys']
    local = seeds_to_label(combine_seeds(seed, source), np.arange(len(keys)),
                           threshold)
    if len(keys):
        local = crf_from_labels(image, local.astype(np.int64),
                                n_labels=len(keys) + 1, **FINAL_CRF)
    lookup = np.concatenate([[0], keys + 1]).astype(np.uint8)
    save_label_png(lookup[local], out, palette, kind='crf_mask')
    return img_id, 'written'


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('seed_dir')
    parser.add_argument('out_dir')
    parser.add_argument('--config', required=True)
    parser.add_argument('--data-root')
    parser.add_argument('--threshold', type=float, default=0.3)
    parser.add_argument('--source', default='fuse')
    parser.add_argument('--nproc', type=int, default=2)
    args = parser.parse_args()

    import mmseg_cobra  # noqa: F401
    from mmengine.config import Config

    from mmseg_cobra.utils.dataset_tools import (dataset_from_config,
                                                 image_tasks, report_status)
    dataset = dataset_from_config(Config.fromfile(args.config),
                                  data_root=args.data_root)
    tasks = image_tasks(dataset)
    worker = partial(
        process, seed_dir=args.seed_dir, out_dir=args.out_dir,
        threshold=args.threshold, source=args.source,
        num_classes=len(dataset.metainfo['classes']) - 1,
        palette=dataset.metainfo['palette'])
    report_status(dict(track_parallel_progress(worker, tasks, args.nproc)))


if __name__ == '__main__':
    main()
