"""The values the stages' files and reports agree on.

Every module reads these names instead of writing the numbers again: the
label maps' "unknown" value, the grid the walk's seeds are kept on, the
seed maps a seed file holds, and the background-score grid the seed and
mask reports sweep.
"""
import numpy as np

from ..utils.file_io import IGNORE_INDEX

#: The seed maps of a seed file (``[C, H, W]`` float16 each): the CNN's,
#: the ViT's and the fused CAMs.
SEED_SOURCES = ('cam_cnn', 'cam_vit', 'cam_fuse')
#: The same maps on the stride-:data:`GRID_STRIDE` grid (the walk's seeds).
GRID_SOURCES = tuple(k + '_grid' for k in SEED_SOURCES)
#: The seed sources by their short names (``cnn``, ``vit``, ``fuse``), as
#: the reports' rows call them.
SEED_SOURCE_NAMES = tuple(k[len('cam_'):] for k in SEED_SOURCES)
#: Stride of the grid IRN's walk runs on (``ceil(H / 4) x ceil(W / 4)``).
GRID_STRIDE = 4
#: Background scores (or CAM thresholds) swept by the seed and mask
#: reports: 0.05, 0.10, ..., 0.95.
THRESHOLD_SWEEP = tuple(
    float(v) for v in np.round(np.arange(0.05, 1.0, 0.05), 2))

__all__ = [
    'GRID_SOURCES', 'GRID_STRIDE', 'IGNORE_INDEX', 'SEED_SOURCES',
    'SEED_SOURCE_NAMES', 'THRESHOLD_SWEEP'
]
