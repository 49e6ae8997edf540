from ...ops.seed_labels import (SEED_COMBINATIONS, attention_threshold,
                                combine_grid_seeds, combine_seeds,
                                seeds_to_label)
from .confusion_sweep import (BoundaryPR, ConfusionSweep, confusion,
                              label_maps_for_sweep, metrics_from_confusion,
                              miou_from_confusion)
from .mask_eval import (evaluate_label_dir, label_dir_areas,
                        metrics_from_areas, per_class_scores)

__all__ = [
    'BoundaryPR', 'ConfusionSweep', 'metrics_from_confusion',
    'miou_from_confusion', 'SEED_COMBINATIONS', 'attention_threshold',
    'combine_grid_seeds', 'combine_seeds', 'confusion', 'evaluate_label_dir',
    'label_maps_for_sweep', 'seeds_to_label', 'label_dir_areas',
    'metrics_from_areas', 'per_class_scores'
]
