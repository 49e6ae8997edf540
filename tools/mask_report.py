"""Seed and mask mIoU side by side (paper Table 1 / Table 7 style).

    python tools/mask_report.py --config configs/irn/irn_r152_cobra_voc.py \
        --seeds work_dirs/cobra_r152_deits_voc/seeds \
        --masks IRN=work_dirs/irn/masks IRN+CRF=work_dirs/irn_crf/masks \
                CRF-only=work_dirs/crf_masks [--out report.json]

Seeds are scored with :class:`SeedMetric` (best fixed threshold of M_fuse,
and of each single branch); every mask directory with
:func:`evaluate_label_dir` (mmseg's IoU). The image list, ground truth and
classes come from the config's ``test_dataloader.dataset``. Prints a
Markdown table and writes the numbers as JSON.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('--config', required=True)
    parser.add_argument('--data-root')
    parser.add_argument('--seeds')
    parser.add_argument('--masks', nargs='*', default=[],
                        metavar='NAME=DIR')
    parser.add_argument('--out')
    args = parser.parse_args()

    import mmseg_cobra  # noqa: F401
    from mmengine.config import Config

    from mmseg_cobra.evaluation import SeedMetric, evaluate_label_dir
    from mmseg_cobra.utils.dataset_tools import dataset_from_config
    from mmseg_cobra.utils.seed_io import (SeedFileError, load_seed,
                                           seed_path)
    dataset = dataset_from_config(Config.fromfile(args.config),
                                  data_root=args.data_root)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    ids = [i['img_id'] for i in infos]
    gt_dir = osp.dirname(infos[0]['seg_map_path'])
    classes = dataset.metainfo['classes']
    rows, report = [], {}
    if args.seeds:
        metric = SeedMetric(sources=('cnn', 'vit', 'fuse'),
                            percentiles=())
        metric.dataset_meta = dict(classes=classes)
        for info in infos:
            gt = np.asarray(Image.open(info['seg_map_path']))
            try:
                seed = load_seed(seed_path(args.seeds, info['img_id']),
                                 len(classes) - 1, gt.shape)
            except (SeedFileError, FileNotFoundError):
                continue
            metric.add(seed, gt)
        scores = metric.summarize()
        for source in ('cnn', 'vit', 'fuse'):
            key = f'{source}/fixed'
            rows.append((f'seed ({source})', scores[key], metric.num_images))
            report[f'seed_{source}'] = scores[key]
    for item in args.masks:
        name, _, path = item.partition('=')
        result = evaluate_label_dir(path, gt_dir, ids, classes,
                                    show_progress=False)
        rows.append((name, round(result['mIoU'], 2), result['scored']))
        report[name] = dict(mIoU=result['mIoU'], scored=result['scored'],
                            skipped=len(result['skipped']))
    print('| stage | mIoU (%) | images |')
    print('| --- | --- | --- |')
    for name, value, count in rows:
        print(f'| {name} | {value:.2f} | {count} |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
