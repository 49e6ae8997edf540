from .affinity import (boundary_to_affinity, pair_differences, pair_labels,
                       pair_offsets, pair_paths)
from .random_walk import random_walk, sparse_transition

__all__ = [
    'boundary_to_affinity', 'pair_differences', 'pair_labels',
    'pair_offsets', 'pair_paths',
    'random_walk', 'sparse_transition'
]
