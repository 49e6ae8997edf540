from typing import Dict, Optional

import numpy as np
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS

from ...utils.file_io import dump_json


@METRICS.register_module()
class ClassIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` that also keeps what mmseg only logs as its
    per-class table: every class's IoU and accuracy (%), as JSON in
    ``class_file`` (written on rank 0, where mmengine computes the
    metrics). The returned metrics are ``IoUMetric``'s, unchanged.

    The per-class values are the ones ``IoUMetric.compute_metrics`` itself
    computes (through ``total_area_to_metrics``), kept rather than computed
    a second time.

    Args:
        class_file (str, optional): ``{"classes": {name: {"IoU": %,
            "Acc": %}}}`` goes there (NaN for a class absent from both the
            predictions and the ground truth; with ``iou_metrics`` other
            than ``['mIoU']``, their per-class keys, e.g. ``Dice``).
        **kwargs: ``IoUMetric``'s arguments.
    """

    def __init__(self, class_file: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.class_file = class_file
        #: the last evaluation's ``{class: {'IoU': %, 'Acc': %}}``
        self.class_results: Dict[str, Dict[str, float]] = {}
        self._per_class: Dict[str, np.ndarray] = {}

    def total_area_to_metrics(self, *args, **kwargs) -> dict:
        """``IoUMetric.total_area_to_metrics`` (a static method there, called
        through ``self`` by ``compute_metrics``), its per-class arrays
        (``[C]`` each, every key but ``aAcc``) kept for
        :meth:`compute_metrics`."""
        metrics = IoUMetric.total_area_to_metrics(*args, **kwargs)
        self._per_class = {k: v for k, v in metrics.items() if k != 'aAcc'}
        return metrics

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``IoUMetric``'s metrics of ``results`` (per batch: intersection,
        union, predicted and labelled areas per class, ``[C]`` each); the
        per-class figures kept and written."""
        self._per_class = {}
        metrics = super().compute_metrics(results)
        if self.format_only or not self._per_class:
            return metrics
        self.class_results = {
            name: {
                key: round(float(values[c]) * 100, 2)
                for key, values in self._per_class.items()
            }
            for c, name in enumerate(self.dataset_meta['classes'])
        }
        if self.class_file:
            dump_json(dict(classes=self.class_results), self.class_file)
        return metrics
