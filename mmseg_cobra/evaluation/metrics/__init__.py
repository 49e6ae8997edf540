from .class_iou_metric import ClassIoUMetric
from .seed_metric import SeedMetric

__all__ = ['ClassIoUMetric', 'SeedMetric']
