from .affinity import (boundary_to_affinity, pair_differences, pair_labels,
                       pair_offsets, pair_paths)
from .mask_rules import (MASK_RULES, WALK_UPSAMPLING, apply_mask_rule,
                         boundary_from_labels, grid_size, grid_to_image,
                         irn_mask_rule, mask_from_walk, mask_rule_sweep,
                         reference_mask_rule, seeds_to_grid, walk_to_label)
from .precision import HALF_DTYPES, full_precision
from .random_walk import (random_walk, random_walk_sparse, sparse_transition,
                          stencil_transition)

__all__ = [
    'HALF_DTYPES', 'full_precision', 'boundary_to_affinity',
    'pair_differences', 'pair_labels', 'pair_offsets', 'pair_paths',
    'random_walk', 'random_walk_sparse', 'sparse_transition',
    'stencil_transition', 'MASK_RULES', 'WALK_UPSAMPLING', 'apply_mask_rule',
    'boundary_from_labels', 'grid_size', 'grid_to_image', 'irn_mask_rule',
    'mask_from_walk', 'mask_rule_sweep', 'reference_mask_rule',
    'seeds_to_grid', 'walk_to_label'
]
