"""Seeds and masks on equal footing, with the mask stage's diagnostics.

    python tools/mask_report.py --config configs/irn/irn_r152_cobra_voc.py \
        --seeds work_dirs/cobra_r152_deits_voc/seeds \
        --walks work_dirs/irn_r152_cobra_voc/walks [--oracle] [--crf] \
        [--masks IRN=work_dirs/irn/masks CRF-only=work_dirs/crf_masks] \
        [--out report.json]

Every row is scored on the same images: those of the config's
``test_dataloader.dataset`` (e.g. VOC train) that have ground truth and, for
each input given, a seed and a walk file. Rows:

- ``seed (cnn|vit|fuse)``: the seeds, background where no class map exceeds
  a score; the score is swept (0.05..0.95), the best and the value at
  IRN's 0.25 are reported;
- ``walk, IRN rule``: the walked maps divided by their maximum, background
  score swept the same way (the same rule as the seeds: this row against
  ``seed (fuse)`` is what the random walk adds);
- ``walk, reference rule``: per class ``>= theta * max + min``, theta swept,
  the value at 0.31 also reported;
- ``oracle walk`` (``--oracle``): the fused seeds walked over the
  ground-truth class edges instead of the learned boundary map (radius,
  beta and steps of the config): the mask stage's upper bound;
- ``+ CRF`` (``--crf``): the reference's final dense CRF on the rule at
  its best and default value (one CRF per image and row);
- ``--masks NAME=DIR``: label PNGs as written (their rule fixed).

With ``--walks`` it also scores the learned boundary map against the
ground-truth class edges on the stride-4 grid (precision / recall / F,
1-cell tolerance, swept threshold). The chosen mask rule value (the best
swept value of the config's ``model.test_cfg.mask_rule``) is printed and
written to the JSON report (``chosen``), where the pipeline reads it.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

SWEEP = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))
DEFAULTS = dict(irn=0.25, reference=0.31)
#: swept values of each rule (IRN's background score as the seeds'; theta
#: the same grid plus the reference's 0.31)
RULE_SWEEP = dict(irn=SWEEP, reference=tuple(sorted({*SWEEP, 0.31})))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument('--config', required=True)
    parser.add_argument('--data-root')
    parser.add_argument('--seeds')
    parser.add_argument('--walks')
    parser.add_argument('--source', default='fuse',
                        help='seed source walked by --oracle')
    parser.add_argument('--oracle', action='store_true')
    parser.add_argument('--crf', action='store_true')
    parser.add_argument('--masks', nargs='*', default=[],
                        metavar='NAME=DIR')
    parser.add_argument('--out')
    args = parser.parse_args()
    if args.oracle and not args.seeds:
        parser.error('--oracle walks the seeds: give --seeds')
    if args.crf and not args.walks:
        parser.error('--crf refines the walked masks: give --walks')

    import torch
    from mmengine.config import Config
    from mmengine.utils import ProgressBar

    import mmseg_cobra  # noqa: F401
    from mmseg_cobra.evaluation import (BoundaryPR, ConfusionSweep,
                                        combine_grid_seeds,
                                        combine_seeds, confusion,
                                        evaluate_label_dir,
                                        label_maps_for_sweep,
                                        miou_from_confusion)
    from mmseg_cobra.models.utils import (apply_mask_rule,
                                          boundary_from_labels,
                                          grid_to_image, random_walk,
                                          seeds_to_grid, walk_to_label)
    from mmseg_cobra.utils.crf import FINAL_CRF_CFG
    from mmseg_cobra.utils.dataset_tools import dataset_from_config
    from mmseg_cobra.utils.seed_io import (SeedFileError, load_seed,
                                           seed_path)
    from mmseg_cobra.utils.walk_io import load_walk, walk_path

    cfg = Config.fromfile(args.config)
    test_cfg = dict(cfg.model.get('test_cfg', {}))
    walk_cfg = dict(radius=test_cfg.get('radius', 5),
                    beta=test_cfg.get('beta', 10.0),
                    exp_times=test_cfg.get('exp_times', 8))
    crf_cfg = dict(test_cfg.get('crf_cfg') or FINAL_CRF_CFG)
    upsample = test_cfg.get('walk_upsample', 'resize')
    seed_grid = test_cfg.get('seed_grid', 'per_scale')
    config_rule = test_cfg.get('mask_rule', 'reference')
    dataset = dataset_from_config(cfg, data_root=args.data_root)
    classes = dataset.metainfo['classes']
    n = len(classes)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]

    # one image set for every row: ground truth + every input given
    usable, skipped = [], {}
    for info in infos:
        img_id, gt_path = info['img_id'], info.get('seg_map_path')
        if not gt_path or not osp.isfile(gt_path):
            skipped[img_id] = 'no ground truth'
        elif args.seeds and not osp.isfile(seed_path(args.seeds, img_id)):
            skipped[img_id] = 'no seed'
        elif args.walks and not osp.isfile(
                osp.join(args.walks, img_id + '.npz')):
            skipped[img_id] = 'no walk file'
        else:
            usable.append(info)
    if not usable:
        sys.exit(f'error: no image has ground truth and every input '
                 f'({len(skipped)} skipped, e.g. '
                 f'{next(iter(skipped.items()), None)})')

    seed_sweeps = {s: ConfusionSweep(SWEEP, n) for s in ('cnn', 'vit',
                                                          'fuse')}
    rows = {}
    if args.walks:
        rows['walk, IRN rule'] = ('irn', ConfusionSweep(RULE_SWEEP['irn'],
                                                        n))
        rows['walk, reference rule'] = ('reference', ConfusionSweep(
            RULE_SWEEP['reference'], n))
        boundary_pr = BoundaryPR()
    if args.oracle:
        rows['oracle walk, IRN rule'] = ('irn', ConfusionSweep(
            RULE_SWEEP['irn'], n))
        rows['oracle walk, reference rule'] = ('reference', ConfusionSweep(
            RULE_SWEEP['reference'], n))

    def local_to_global(local: np.ndarray, keys: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], keys + 1]).astype(np.uint8)[local]

    def rule_maps(walked: torch.Tensor, rule: str, keys: np.ndarray) -> list:
        if len(keys) == 0:
            zero = np.zeros(walked.shape[1:], np.uint8)
            return [zero] * len(RULE_SWEEP[rule])
        return [
            local_to_global(apply_mask_rule(walked, rule, v).numpy(), keys)
            for v in RULE_SWEEP[rule]
        ]

    num_classes = n - 1
    kept, kept_walks = [], []  # the CRF pass reuses the walks read here
    bar = ProgressBar(len(usable))
    for info in usable:
        img_id = info['img_id']
        gt = np.asarray(Image.open(info['seg_map_path']))
        try:
            seed = load_seed(seed_path(args.seeds, img_id), num_classes,
                             gt.shape) if args.seeds else None
            walk = load_walk(walk_path(args.walks, img_id),
                             gt.shape) if args.walks else None
        except SeedFileError as exc:
            skipped[img_id] = str(exc)
            bar.update()
            continue
        kept.append(info)
        kept_walks.append(walk)
        if seed is not None:
            for source, sweep in seed_sweeps.items():
                maps = label_maps_for_sweep(
                    combine_seeds(seed, source), seed['keys'], SWEEP)
                sweep.add([maps[t] for t in SWEEP], gt)
        if walk is not None or args.oracle:
            gt_edge = boundary_from_labels(
                torch.from_numpy(gt.astype(np.int64)))
        if walk is not None:
            walked = grid_to_image(torch.from_numpy(walk['walk']), gt.shape,
                                   mode=upsample)
            for name in ('walk, IRN rule', 'walk, reference rule'):
                rule, sweep = rows[name]
                sweep.add(rule_maps(walked, rule, walk['keys']), gt)
            boundary_pr.add(torch.from_numpy(walk['boundary']), gt_edge)
        if args.oracle:
            cams = torch.from_numpy(combine_seeds(seed, args.source))
            if len(seed['keys']):
                grid = combine_grid_seeds(seed, args.source)
                grid = seeds_to_grid(cams) if grid is None or \
                    seed_grid == 'from_image' else torch.from_numpy(grid)
                oracle = random_walk(grid, gt_edge, **walk_cfg)
                walked = grid_to_image(oracle, gt.shape, mode=upsample)
            else:
                walked = cams
            for name in ('oracle walk, IRN rule',
                         'oracle walk, reference rule'):
                rule, sweep = rows[name]
                sweep.add(rule_maps(walked, rule, seed['keys']), gt)
        bar.update()
    print()

    table, report = [], dict(images=len(kept), skipped=len(skipped))
    for source, sweep in (seed_sweeps.items() if args.seeds else ()):
        best, best_miou = sweep.best()
        at = sweep.miou()[0.25]
        table.append((f'seed ({source})', 'bg score', best, best_miou, 0.25,
                      at))
        report[f'seed_{source}'] = dict(best=best, mIoU=best_miou,
                                        at_default=at, sweep=sweep.miou())
    for name, (rule, sweep) in rows.items():
        best, best_miou = sweep.best()
        default = DEFAULTS[rule]
        at = sweep.miou()[default]
        table.append((name, 'bg score' if rule == 'irn' else 'theta', best,
                      best_miou, default, at))
        report[name] = dict(rule=rule, best=best, mIoU=best_miou,
                            at_default=at, sweep=sweep.miou())
    if args.walks:
        rule = config_rule
        name = f'walk, {"IRN" if rule == "irn" else "reference"} rule'
        report['chosen'] = dict(rule=rule, value=report[name]['best'],
                                mIoU=report[name]['mIoU'])
    if args.crf:
        for rule in ('reference', 'irn'):
            name = f'walk, {"IRN" if rule == "irn" else "reference"} rule'
            values = sorted({report[name]['best'], DEFAULTS[rule]})
            conf = {v: np.zeros((n, n), np.int64) for v in values}
            print(f'dense CRF on the {rule} rule at {values}:')
            bar = ProgressBar(len(kept))
            for info, walk in zip(kept, kept_walks):
                gt = np.asarray(Image.open(info['seg_map_path']))
                image = np.asarray(Image.open(info['img_path']).convert('RGB'))
                for v in values:
                    label = walk_to_label(
                        torch.from_numpy(walk['walk']), walk['keys'],
                        gt.shape, rule, v, image, crf_cfg,
                        upsample).numpy()
                    conf[v] += confusion(label, gt, n)
                bar.update()
            print()
            scores = {v: miou_from_confusion(c) for v, c in conf.items()}
            best = report[name]['best']
            table.append((name + ' + CRF', 'bg score' if rule == 'irn' else
                          'theta', best, scores[best], DEFAULTS[rule],
                          scores[DEFAULTS[rule]]))
            report[name + ' + CRF'] = dict(rule=rule, best=best,
                                           mIoU=scores[best],
                                           at_default=scores[DEFAULTS[rule]])
    for item in args.masks:
        name, _, path = item.partition('=')
        gt_dir = osp.dirname(kept[0]['seg_map_path'])
        result = evaluate_label_dir(path, gt_dir,
                                    [i['img_id'] for i in kept], classes,
                                    show_progress=False)
        table.append((f'{name} (as written)', '-', None, result['mIoU'],
                      None, None))
        report[name] = dict(mIoU=result['mIoU'], scored=result['scored'],
                            skipped=len(result['skipped']))

    def fmt(x, spec):
        return '-' if x is None else format(x, spec)

    print(f'mIoU (%) on the same {len(kept)} images '
          f'({len(skipped)} skipped)')
    print('| maps | swept | best value | mIoU at best | default | '
          'mIoU at default |')
    print('| --- | --- | --- | --- | --- | --- |')
    for name, what, best, miou, default, at in table:
        print(f'| {name} | {what} | {fmt(best, ".2f")} | {fmt(miou, ".2f")} '
              f'| {fmt(default, ".2f")} | {fmt(at, ".2f")} |')
    if args.walks:
        pr = boundary_pr.summary()
        at5 = pr['per_threshold'][0.5]
        print(f'\nlearned boundary vs ground-truth edges (stride-4 grid, '
              f'1-cell tolerance): at 0.5 precision {at5["precision"]:.1f} '
              f'recall {at5["recall"]:.1f} F {at5["F"]:.1f}; best F '
              f'{pr["F"]:.1f} at {pr["best_threshold"]:.1f} (precision '
              f'{pr["precision"]:.1f}, recall {pr["recall"]:.1f})')
        report['boundary'] = pr
        chosen = report['chosen']
        print(f'chosen: {chosen["rule"]} rule at {chosen["value"]:.2f} '
              f'({chosen["mIoU"]:.2f} mIoU before CRF)')
    for img_id, why in list(skipped.items())[:10]:
        print(f'  skipped {img_id}: {why}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1,
                      default=lambda o: float(o) if isinstance(
                          o, np.floating) else str(o))


if __name__ == '__main__':
    main()
