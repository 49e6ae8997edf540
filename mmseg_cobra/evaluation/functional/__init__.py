from .confusion_sweep import (BoundaryPR, ConfusionSweep,
                              metrics_from_confusion, miou_from_confusion)
from .mask_eval import evaluate_label_dir
from .seed_labels import (SEED_COMBINATIONS, attention_threshold,
                          combine_grid_seeds, combine_seeds, confusion,
                          label_maps_for_sweep, seeds_to_label)

__all__ = [
    'BoundaryPR', 'ConfusionSweep', 'metrics_from_confusion',
    'miou_from_confusion',
    'SEED_COMBINATIONS', 'attention_threshold', 'combine_grid_seeds',
    'combine_seeds', 'confusion',
    'evaluate_label_dir', 'label_maps_for_sweep', 'seeds_to_label'
]
