from typing import Dict, Optional

from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS

from ...utils.file_io import dump_json


@METRICS.register_module()
class ClassIoUMetric(IoUMetric):
    """mmseg's ``IoUMetric`` that also keeps what mmseg only logs as its
    per-class table: every class's IoU and accuracy (%), as JSON in
    ``class_file`` (written on rank 0, where mmengine computes the
    metrics). The returned metrics are ``IoUMetric``'s, unchanged.

    Args:
        class_file (str, optional): ``{"classes": {name: {"IoU": %,
            "Acc": %}}}`` goes there (NaN for a class absent from both the
            predictions and the ground truth).
        **kwargs: ``IoUMetric``'s arguments.
    """

    def __init__(self, class_file: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.class_file = class_file
        #: the last evaluation's ``{class: {'IoU': %, 'Acc': %}}``
        self.class_results: Dict[str, Dict[str, float]] = {}

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``IoUMetric``'s metrics of ``results`` (per batch: intersection,
        union, predicted and labelled areas per class, ``[C]`` each); the
        per-class figures kept and written."""
        metrics = super().compute_metrics(results)
        if self.format_only or not results:
            return metrics
        areas = [sum(a) for a in zip(*results)]
        per_class = self.total_area_to_metrics(*areas, ['mIoU'],
                                               self.nan_to_num, self.beta)
        self.class_results = {
            name:
            dict(
                IoU=round(float(iou) * 100, 2), Acc=round(float(acc) * 100, 2))
            for name, iou, acc in zip(self.dataset_meta['classes'],
                                      per_class['IoU'], per_class['Acc'])
        }
        if self.class_file:
            dump_json(dict(classes=self.class_results), self.class_file)
        return metrics
