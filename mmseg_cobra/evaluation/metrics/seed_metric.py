import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from ...structures import IGNORE_INDEX, THRESHOLD_SWEEP
from ...utils.file_io import dump_json
from ...utils.sharding import sum_over_ranks
from ..functional import (SEED_COMBINATIONS, attention_threshold,
                          combine_seeds, confusion, label_maps_for_sweep,
                          metrics_from_confusion, per_class_scores)


@METRICS.register_module()
class SeedMetric(BaseMetric):
    """mIoU of CAM seeds for every seed source and background threshold.

    For each source of paper Table 5 (``cnn``, ``vit``, ``mean``, ``max``,
    ``fuse``), the background is decided two ways, each swept:

    - ``fixed``: one background score for all images (IRN/SEAM style);
    - ``dynamic``: a percentile of the image's own class-token attention
      (the CoBra reference's rule).

    Confusion matrices are accumulated per (source, threshold) and turned
    into IoU / precision / recall with mmseg's
    :meth:`IoUMetric.total_area_to_metrics`. The best threshold of each source
    and mode is reported with per-class IoU, precision (class precision) and
    recall (semantic sensitivity).

    Args:
        sources (Sequence[str]): Seed sources to score.
        thresholds (Sequence[float]): Fixed background scores.
        percentiles (Sequence[float]): Attention percentiles.
        ignore_index (int): Ground-truth label to ignore.
        out_file (str, optional): Where the full report is written as JSON.
        collect_device (str): See :class:`BaseMetric`.
        prefix (str, optional): See :class:`BaseMetric`.
    """
    default_prefix = 'seed'

    def __init__(self,
                 sources: Sequence[str] = SEED_COMBINATIONS,
                 thresholds: Sequence[float] = THRESHOLD_SWEEP,
                 percentiles: Sequence[float] = tuple(range(50, 100, 5)),
                 ignore_index: int = IGNORE_INDEX,
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for s in sources:
            if s not in SEED_COMBINATIONS:
                raise ValueError(f'unknown seed source {s!r}')
        self.sources = tuple(sources)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.percentiles = tuple(float(p) for p in percentiles)
        self.ignore_index = ignore_index
        self.out_file = out_file
        self._confusion: Optional[np.ndarray] = None
        self.num_images = 0

    @property
    def num_labels(self) -> int:
        return len(self.dataset_meta['classes'])

    def _columns(self) -> List[tuple]:
        return [('fixed', t) for t in self.thresholds] + \
               [('dynamic', p) for p in self.percentiles]

    def add(self, seed: dict, gt: np.ndarray) -> None:
        """Accumulate one image.

        Args:
            seed (dict): ``cam_cnn``, ``cam_vit``, ``cam_fuse`` ``[K, H, W]``,
                ``attn`` ``[H, W]``, ``keys`` ``[K]`` (0-based classes).
            gt (np.ndarray): Ground-truth label map ``[H, W]``.
        """
        n = self.num_labels
        if self._confusion is None:
            self._confusion = self._empty()
        if gt.shape != seed['attn'].shape:
            raise ValueError(f'seed {seed.get("img_id")} is '
                             f'{seed["attn"].shape}, ground truth {gt.shape}')
        dyn = [attention_threshold(seed['attn'], p) for p in self.percentiles]
        for s, source in enumerate(self.sources):
            cams = combine_seeds(seed, source)
            labels = label_maps_for_sweep(cams, seed['keys'],
                                          list(self.thresholds) + dyn)
            for c, thr in enumerate(list(self.thresholds) + dyn):
                self._confusion[s, c] += confusion(labels[thr], gt, n,
                                                   self.ignore_index)
        self.num_images += 1

    def _empty(self) -> np.ndarray:
        n = self.num_labels
        return np.zeros((len(self.sources), len(self._columns()), n, n),
                        np.int64)

    def merge_ranks(self) -> None:
        """Sum the images given to :meth:`add` on every rank (an offline
        tool run on several ranks, each on its share of the images); the
        result is that of one process given every image."""
        conf = self._empty() if self._confusion is None else self._confusion
        self._confusion = sum_over_ranks(conf)
        self.num_images = int(
            sum_over_ranks(np.array([self.num_images], np.int64))[0])

    def summarize(self) -> Dict[str, float]:
        """Metrics of the images given to :meth:`add` in this process."""
        return self.compute_metrics([self._confusion])

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate the CAMs predicted by ``CoBra.predict``."""
        for sample in data_samples:
            seed = dict(
                img_id=sample.get('img_id'),
                keys=sample['cam_keys'].cpu().numpy(),
                attn=sample['attn_cls2patch']['data'][0].cpu().numpy(),
                **{
                    k: sample[k]['data'].float().cpu().numpy()
                    for k in ('cam_cnn', 'cam_vit', 'cam_fuse')
                })
            gt = sample['gt_sem_seg']['data'][0].cpu().numpy()
            self.add(seed, gt)

    def evaluate(self, size: int) -> dict:
        # one accumulated matrix per rank instead of one entry per image
        self.results = [self._confusion] if self._confusion is not None \
            else []
        metrics = super().evaluate(size)
        self._confusion = None
        self.num_images = 0
        return metrics

    def compute_metrics(self, results: list) -> Dict[str, float]:
        results = [r for r in results if r is not None]
        if not results:
            raise ValueError('no seed was scored: empty dataset?')
        total = np.sum(results, axis=0)  # [S, T, L, L]
        columns = self._columns()
        report = OrderedDict()
        classes = self.dataset_meta['classes']
        for s, source in enumerate(self.sources):
            for mode in ('fixed', 'dynamic'):
                cols = [i for i, c in enumerate(columns) if c[0] == mode]
                if not cols:
                    continue
                scores = [self._scores(total[s, i]) for i in cols]
                miou = [np.nanmean(sc['IoU']) for sc in scores]
                best = int(np.nanargmax(miou))
                sc = scores[best]
                report[f'{source}/{mode}'] = dict(
                    threshold=columns[cols[best]][1],
                    mIoU=float(miou[best] * 100),
                    sweep={
                        str(columns[i][1]): float(m * 100)
                        for i, m in zip(cols, miou)
                    },
                    per_class=per_class_scores(sc, classes))
        self._print(report)
        if self.out_file:
            os.makedirs(osp.dirname(osp.abspath(self.out_file)), exist_ok=True)
            dump_json(report, self.out_file)
        return {key: round(value['mIoU'], 2) for key, value in report.items()}

    @staticmethod
    def _scores(conf: np.ndarray) -> dict:
        return metrics_from_confusion(conf)

    def _print(self, report: dict) -> None:
        table = PrettyTable(
            field_names=['source', 'background', 'threshold', 'mIoU'])
        for key, value in report.items():
            source, mode = key.split('/')
            thr = value['threshold']
            table.add_row([
                source, mode, f'{thr:.2f}' if mode == 'fixed' else f'p{thr:g}',
                f'{value["mIoU"]:.2f}'
            ])
        print_log(
            'seed mIoU (best threshold per source):\n' + table.get_string(),
            logger='current')
        best = max(report, key=lambda k: report[k]['mIoU'])
        per_class = PrettyTable(
            field_names=['class', 'IoU', 'precision', 'recall'])
        for name, v in report[best]['per_class'].items():
            per_class.add_row(
                [name] +
                [f'{v[k]:.2f}' for k in ('IoU', 'precision', 'recall')])
        print_log(
            f'per class, {best}:\n' + per_class.get_string(), logger='current')
