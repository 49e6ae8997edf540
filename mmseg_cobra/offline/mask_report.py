"""Seeds and masks on equal footing, with the mask stage's diagnostics.

:class:`MaskReport` is what ``tools/mask_report.py`` runs and what the
pipeline's ``mask_eval`` stage reads. Every row is scored on the same
images: those of the config's ``test_dataloader.dataset`` that have ground
truth and, for each input given, a seed and a walk file. Rows are keyed by
identifiers (:data:`ROW_LABELS` gives the display label of each):

- ``seed_cnn`` / ``seed_vit`` / ``seed_fuse``: the seeds, background where
  no class map exceeds a score; the score is swept (0.05..0.95), the best
  and the value at IRN's 0.25 are reported;
- ``walk_irn``: the walked maps divided by their maximum, background score
  swept the same way (the same rule as the seeds: this row against
  ``seed_fuse`` is what the random walk adds);
- ``walk_reference``: per class ``>= theta * max + min``, theta swept, the
  value at 0.31 also reported;
- ``oracle_irn`` / ``oracle_reference`` (``oracle``): the seeds walked over
  the ground-truth class edges instead of the learned boundary map (radius,
  beta and steps of the config): the mask stage's upper bound;
- ``walk_irn_crf`` / ``walk_reference_crf`` (``crf``): the reference's final
  dense CRF on the rule at its best and default value;
- ``masks``: label PNG folders as written (their rule fixed).

With walk files it also scores the learned boundary map against the
ground-truth class edges on the stride-4 grid (precision / recall / F,
1-cell tolerance, swept threshold), and names the chosen mask rule value
(``chosen``: the best swept value of the config's
``model.test_cfg.mask_rule``), which the pipeline's final masks use.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.utils import ProgressBar

from ..datasets.dataset_tools import dataset_from_config
from ..evaluation.functional import (BoundaryPR, ConfusionSweep, confusion,
                                     label_dir_areas, label_maps_for_sweep,
                                     metrics_from_areas, miou_from_confusion)
from ..models.segmentors.irn import IRN_TEST_CFG, RULE_VALUE_KEY, irn_test_cfg
from ..models.utils import (boundary_from_labels, grid_to_image,
                            mask_rule_sweep, random_walk, seeds_to_grid,
                            walk_to_label)
from ..ops.seed_labels import (combine_grid_seeds, combine_seeds,
                               to_dataset_labels)
from ..structures import SEED_SOURCE_NAMES, THRESHOLD_SWEEP
from ..structures.seed_io import SeedFileError, load_seed, seed_path
from ..structures.walk_io import load_walk, walk_path
from ..utils.image_io import read_ground_truth, read_image
from ..utils.markdown import markdown_table
from ..utils.sharding import shard, sum_over_ranks
from .image_scorer import ImageScorer, SkipImage

#: Background scores swept for the seeds and IRN's rule.
SWEEP = THRESHOLD_SWEEP
#: Each rule's default value (IRN's background score, the reference's theta).
DEFAULTS = {rule: IRN_TEST_CFG[key] for rule, key in RULE_VALUE_KEY.items()}
#: Values swept per rule (theta: the same grid plus the reference's 0.31).
RULE_SWEEP = dict(
    irn=SWEEP, reference=tuple(sorted({*SWEEP, DEFAULTS['reference']})))
#: What each rule's value is called in tables.
RULE_VALUE = dict(irn='bg score', reference='theta')
#: Skipped images named in the report (the others are counted).
SKIPPED_KEPT = 100
#: Seed sources scored.
SEED_SOURCES = SEED_SOURCE_NAMES
#: Display label of every row identifier (the one table of labels).
ROW_LABELS = {
    'seed_cnn': 'seed (cnn)',
    'seed_vit': 'seed (vit)',
    'seed_fuse': 'seed (fuse)',
    'walk_irn': 'walk, IRN rule',
    'walk_reference': 'walk, reference rule',
    'oracle_irn': 'oracle walk (GT boundary), IRN rule',
    'oracle_reference': 'oracle walk (GT boundary), reference rule',
    'walk_irn_crf': 'walk, IRN rule + CRF',
    'walk_reference_crf': 'walk, reference rule + CRF',
}


def rule_label_maps(walked: torch.Tensor, rule: str,
                    keys: np.ndarray) -> List[np.ndarray]:
    """Label maps of walked image-size maps for every swept value of
    ``rule`` (``RULE_SWEEP[rule]``)."""
    if len(keys) == 0:
        zero = np.zeros(walked.shape[1:], np.uint8)
        return [zero] * len(RULE_SWEEP[rule])
    return [
        to_dataset_labels(label.numpy(), keys)
        for label in mask_rule_sweep(walked, rule, RULE_SWEEP[rule])
    ]


class MaskReport:
    """Score seeds, walked maps and mask folders on the same images.

    Args:
        cfg (Config): The IRN config (its ``test_dataloader.dataset`` and
            ``model.test_cfg``: radius, beta, exp_times, crf_cfg,
            walk_upsample, seed_grid, mask_rule).
        data_root (str, optional): Overrides the dataset's.
        seed_dir (str, optional): Seed files (``seed_*`` rows).
        walk_dir (str, optional): Walk files (``walk_*`` rows, boundary
            P/R, ``chosen``).
        oracle (bool): Add the ``oracle_*`` rows (needs ``seed_dir``).
        crf (bool): Add the ``*_crf`` rows (needs ``walk_dir``).
        source (str): Seed source walked by the oracle.
    """

    def __init__(self,
                 cfg: Config,
                 data_root: Optional[str] = None,
                 seed_dir: Optional[str] = None,
                 walk_dir: Optional[str] = None,
                 oracle: bool = False,
                 crf: bool = False,
                 source: str = 'fuse') -> None:
        if oracle and not seed_dir:
            raise ValueError('the oracle walks the seeds: give seed_dir')
        if crf and not walk_dir:
            raise ValueError('the CRF rows refine the walked masks: give '
                             'walk_dir')
        test_cfg = irn_test_cfg(cfg.model.get('test_cfg'))
        self.walk_cfg = {
            k: test_cfg[k]
            for k in ('radius', 'beta', 'exp_times')
        }
        self.crf_cfg = test_cfg['crf_cfg']
        self.upsample = test_cfg['walk_upsample']
        self.seed_grid = test_cfg['seed_grid']
        self.config_rule = test_cfg['mask_rule']
        self.seed_dir, self.walk_dir = seed_dir, walk_dir
        self.oracle, self.crf, self.source = oracle, crf, source
        dataset = dataset_from_config(cfg, data_root=data_root)
        self.classes = dataset.metainfo['classes']
        self.backend_args = getattr(dataset, 'backend_args', None)
        self.infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        n = len(self.classes)
        self.seed_sweeps = {
            f'seed_{s}': ConfusionSweep(SWEEP, n)
            for s in SEED_SOURCES
        } if seed_dir else {}
        #: row id -> (rule, sweep) of the walk and oracle rows
        self.rule_rows: Dict[str, Tuple[str, ConfusionSweep]] = {}
        for prefix, wanted in (('walk', walk_dir), ('oracle', oracle)):
            for rule in ('irn', 'reference'):
                if wanted:
                    self.rule_rows[f'{prefix}_{rule}'] = (rule,
                                                          ConfusionSweep(
                                                              RULE_SWEEP[rule],
                                                              n))
        self.boundary_pr = BoundaryPR()
        #: this rank's scored images (their walks are read again by the
        #: CRF pass, never kept: memory does not grow with the images)
        self.kept: List[dict] = []
        #: skip reasons, progress, every rank's image counts (the first
        #: :data:`SKIPPED_KEPT` skipped images named)
        self.images = ImageScorer([info['img_id'] for info in self.infos],
                                  keep_skipped=SKIPPED_KEPT)

    # --------------------------------------------------------- image set
    def usable_images(self) -> List[dict]:
        """This rank's images (image ``i`` on rank ``i % world``) with
        ground truth and every input given (the others go to ``skipped``
        with the reason)."""
        usable = []
        for info in shard(self.infos):
            img_id, gt_path = info['img_id'], info.get('seg_map_path')
            if not gt_path or not osp.isfile(gt_path):
                self.images.skip(img_id, 'no ground truth')
            elif self.seed_dir and not osp.isfile(
                    seed_path(self.seed_dir, img_id)):
                self.images.skip(img_id, 'no seed')
            elif self.walk_dir and not osp.isfile(
                    walk_path(self.walk_dir, img_id)):
                self.images.skip(img_id, 'no walk file')
            else:
                usable.append(info)
        return usable

    # ----------------------------------------------------------- scoring
    def accumulate(self) -> None:
        """One pass over this rank's usable images (seed sweeps, walk and
        oracle sweeps, boundary P/R), then every rank's counts summed.

        Raises:
            RuntimeError: No image of any rank has ground truth and every
                input.
        """
        self.images.score(self.usable_images(), lambda info: info['img_id'],
                          self._add_image)
        self._merge_ranks()
        if not self.images.num_scored:
            example = next(iter(self.images.skipped.items()), None)
            raise RuntimeError(f'no image has ground truth and every input '
                               f'({self.images.num_skipped} skipped, e.g. '
                               f'{example})')

    def _merge_ranks(self) -> None:
        """Sum the sweeps and counts of every rank (a no-op on one rank);
        the first skipped images in the dataset's order."""
        sweeps = [*self.seed_sweeps.values()] + \
            [s for _, s in self.rule_rows.values()]
        *confs, self.boundary_pr.counts = self.images.merge(
            [s.conf for s in sweeps] + [self.boundary_pr.counts])
        for sweep, conf in zip(sweeps, confs):
            sweep.conf = conf

    def _add_image(self, info: dict) -> None:
        img_id = info['img_id']
        gt = read_ground_truth(
            info['seg_map_path'],
            len(self.classes),
            backend_args=self.backend_args)
        try:
            seed = load_seed(seed_path(self.seed_dir, img_id),
                             len(self.classes) - 1, gt.shape) \
                if self.seed_dir else None
            walk = load_walk(walk_path(self.walk_dir, img_id), gt.shape) \
                if self.walk_dir else None
        except SeedFileError as exc:
            raise SkipImage(str(exc)) from None
        self.kept.append(info)
        if seed is not None:
            for row, sweep in self.seed_sweeps.items():
                maps = label_maps_for_sweep(
                    combine_seeds(seed, row[len('seed_'):]), seed['keys'],
                    SWEEP)
                sweep.add([maps[t] for t in SWEEP], gt)
        if walk is None and not self.oracle:
            return
        gt_edge = boundary_from_labels(torch.from_numpy(gt.astype(np.int64)))
        if walk is not None:
            walked = grid_to_image(
                torch.from_numpy(walk['walk']), gt.shape, mode=self.upsample)
            self._add_rule_rows('walk', walked, walk['keys'], gt)
            self.boundary_pr.add(torch.from_numpy(walk['boundary']), gt_edge)
        if self.oracle:
            self._add_rule_rows('oracle',
                                self._oracle_walk(seed, gt_edge, gt.shape),
                                seed['keys'], gt)

    def _add_rule_rows(self, prefix: str, walked: torch.Tensor,
                       keys: np.ndarray, gt: np.ndarray) -> None:
        for rule in ('irn', 'reference'):
            _, sweep = self.rule_rows[f'{prefix}_{rule}']
            sweep.add(rule_label_maps(walked, rule, keys), gt)

    def _oracle_walk(self, seed: dict, gt_edge: torch.Tensor,
                     size: Sequence[int]) -> torch.Tensor:
        """The seeds walked over the ground-truth edges, at image size."""
        cams = torch.from_numpy(combine_seeds(seed, self.source))
        if not len(seed['keys']):
            return cams
        grid = combine_grid_seeds(seed, self.source)
        grid = seeds_to_grid(cams) if grid is None or \
            self.seed_grid == 'from_image' else torch.from_numpy(grid)
        walked = random_walk(grid, gt_edge, **self.walk_cfg)
        return grid_to_image(walked, size, mode=self.upsample)

    def crf_rows(self, rows: Dict[str, dict]) -> Dict[str, dict]:
        """The ``walk_*_crf`` rows: the final dense CRF on each rule at its
        best swept value (from ``rows``) and at its default."""
        n = len(self.classes)
        out = {}
        for rule in ('reference', 'irn'):
            best = rows[f'walk_{rule}']['best']
            values = sorted({best, DEFAULTS[rule]})
            conf = {v: np.zeros((n, n), np.int64) for v in values}
            print(f'dense CRF on the {rule} rule at {values}:')
            bar = ProgressBar(len(self.kept)) if get_rank() == 0 else None
            for info in self.kept:
                gt = read_ground_truth(
                    info['seg_map_path'], n, backend_args=self.backend_args)
                image = read_image(info['img_path'], self.backend_args)
                walk = load_walk(
                    walk_path(self.walk_dir, info['img_id']), gt.shape)
                for v in values:
                    label = walk_to_label(
                        torch.from_numpy(walk['walk']), walk['keys'], gt.shape,
                        rule, v, image, self.crf_cfg, self.upsample).numpy()
                    conf[v] += confusion(label, gt, n)
                if bar is not None:
                    bar.update()
            if bar is not None:
                print()
            conf = {v: sum_over_ranks(c) for v, c in conf.items()}
            scores = {v: miou_from_confusion(c) for v, c in conf.items()}
            out[f'walk_{rule}_crf'] = dict(
                rule=rule,
                best=best,
                mIoU=scores[best],
                default=DEFAULTS[rule],
                at_default=scores[DEFAULTS[rule]])
        return out

    def mask_dirs(self, masks: Dict[str, str]) -> Dict[str, dict]:
        """Score label PNG folders (``{name: dir}``) on the kept images
        (each rank its own, areas summed)."""
        out = {}
        gt_dir = osp.dirname(self.infos[0]['seg_map_path'] or '')
        ids = [i['img_id'] for i in self.kept]
        for name, path in masks.items():
            totals, scored, skipped = label_dir_areas(
                path, gt_dir, ids, len(self.classes), show_progress=False)
            totals = sum_over_ranks(totals)
            scored, skipped = (
                int(x) for x in sum_over_ranks(
                    np.array([scored, len(skipped)], np.int64)))
            metrics = metrics_from_areas(totals, self.classes) \
                if scored else dict(mIoU=float('nan'), per_class={})
            out[name] = dict(
                mIoU=metrics['mIoU'],
                per_class={
                    c: m['IoU']
                    for c, m in metrics['per_class'].items()
                },
                scored=scored,
                skipped=skipped)
        return out

    def run(self, masks: Optional[Dict[str, str]] = None) -> dict:
        """Score everything; returns the report (JSON-ready)::

            images, skipped (count), skipped_ids ({id: why}, first 100),
            rows {row id: {rule, best, mIoU, default, at_default, sweep}},
            masks {name: {mIoU, scored, skipped}},
            boundary (BoundaryPR summary), chosen {rule, value, mIoU}
        """
        self.accumulate()
        rows = {}
        for row, sweep in self.seed_sweeps.items():
            rows[row] = self._sweep_row(sweep, 'irn')
        for row, (rule, sweep) in self.rule_rows.items():
            rows[row] = self._sweep_row(sweep, rule)
        report = dict(
            images=self.images.num_scored,
            skipped=self.images.num_skipped,
            skipped_ids=self.images.skipped,
            rows=rows)
        if self.walk_dir:
            chosen = rows[f'walk_{self.config_rule}']
            report['chosen'] = dict(
                rule=self.config_rule,
                value=chosen['best'],
                mIoU=chosen['mIoU'])
            report['boundary'] = self.boundary_pr.summary()
        if self.crf:
            rows.update(self.crf_rows(rows))
        report['masks'] = self.mask_dirs(masks or {})
        return report

    @staticmethod
    def _sweep_row(sweep: ConfusionSweep, rule: str) -> dict:
        best, best_miou = sweep.best()
        scores = sweep.miou()
        return dict(
            rule=rule,
            best=float(best),
            mIoU=best_miou,
            default=DEFAULTS[rule],
            at_default=scores[DEFAULTS[rule]],
            sweep={
                f'{float(k):g}': v
                for k, v in scores.items()
            })


def format_report(report: dict) -> str:
    """The report as a markdown table (display labels from
    :data:`ROW_LABELS`) and the boundary / chosen lines."""

    def fmt(x, spec):
        return '-' if x is None else format(x, spec)

    lines = [
        f'mIoU (%) on the same {report["images"]} images '
        f'({report["skipped"]} skipped)'
    ]
    rows = [
        (ROW_LABELS[row], RULE_VALUE[r['rule']], f'{r["best"]:.2f}',
         f'{r["mIoU"]:.2f}', f'{r["default"]:.2f}', f'{r["at_default"]:.2f}')
        for row, r in ((k, report['rows'][k]) for k in ROW_LABELS
                       if k in report['rows'])
    ]
    rows += [(f'{name} (as written)', '-', '-', fmt(r['mIoU'],
                                                    '.2f'), '-', '-')
             for name, r in report['masks'].items()]
    lines += markdown_table([
        'maps', 'swept', 'best value', 'mIoU at best', 'default',
        'mIoU at default'
    ], rows)
    if 'boundary' in report:
        pr = report['boundary']
        at5 = pr['per_threshold'][0.5] if 0.5 in pr['per_threshold'] \
            else pr['per_threshold']['0.5']
        lines.append(
            f'\nlearned boundary vs ground-truth edges (stride-4 grid, '
            f'1-cell tolerance): at 0.5 precision {at5["precision"]:.1f} '
            f'recall {at5["recall"]:.1f} F {at5["F"]:.1f}; best F '
            f'{pr["F"]:.1f} at {pr["best_threshold"]:.1f} (precision '
            f'{pr["precision"]:.1f}, recall {pr["recall"]:.1f})')
        chosen = report['chosen']
        lines.append(f'chosen: {chosen["rule"]} rule at '
                     f'{chosen["value"]:.2f} ({chosen["mIoU"]:.2f} mIoU '
                     'before CRF)')
    for img_id, why in list(report.get('skipped_ids', {}).items())[:10]:
        lines.append(f'  skipped {img_id}: {why}')
    return '\n'.join(lines)


__all__ = [
    'DEFAULTS', 'MaskReport', 'ROW_LABELS', 'RULE_SWEEP', 'SWEEP',
    'format_report', 'rule_label_maps'
]
