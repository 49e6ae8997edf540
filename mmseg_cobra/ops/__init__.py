"""The array operations the stages share (numpy/torch, no model, no
file): pixel-pair geometry (IRN's affinity targets and paths), seed maps
to labels, the dense CRF, and IR labels."""
from .crf import FINAL_CRF_CFG, crf_from_labels, crf_from_probs
from .ir_label import ir_thresholds, make_ir_label
from .pair_geometry import pair_labels, pair_offsets, pair_paths, shift_field
from .seed_labels import (SEED_COMBINATIONS, attention_threshold,
                          combine_grid_seeds, combine_seeds, seeds_to_label,
                          to_dataset_labels)

__all__ = [
    'FINAL_CRF_CFG', 'crf_from_labels', 'crf_from_probs', 'ir_thresholds',
    'make_ir_label', 'pair_labels', 'pair_offsets', 'pair_paths',
    'shift_field', 'SEED_COMBINATIONS', 'attention_threshold',
    'combine_grid_seeds', 'combine_seeds', 'seeds_to_label',
    'to_dataset_labels'
]
