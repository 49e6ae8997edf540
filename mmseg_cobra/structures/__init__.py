"""The formats the stages hand each other (seed files, walk files) and the
constants they agree on (:mod:`.constants`)."""
from .constants import (GRID_SOURCES, GRID_STRIDE, IGNORE_INDEX,
                        SEED_SOURCE_NAMES, SEED_SOURCES, THRESHOLD_SWEEP)
from .seed_io import (SeedFileError, load_seed, read_image_arrays,
                      save_image_arrays, save_seed, seed_path)
from .walk_io import load_walk, save_walk, walk_path

__all__ = [
    'GRID_SOURCES', 'GRID_STRIDE', 'IGNORE_INDEX', 'SEED_SOURCES',
    'SEED_SOURCE_NAMES', 'THRESHOLD_SWEEP', 'SeedFileError', 'load_seed',
    'read_image_arrays', 'save_image_arrays', 'save_seed', 'seed_path',
    'load_walk', 'save_walk', 'walk_path'
]
