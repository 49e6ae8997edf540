"""Walk files: IRN's walked maps and boundary map of one image.

One compressed ``.npz`` per image, written atomically by
:class:`~mmseg_cobra.engine.hooks.WalkWriterHook`, read by
``tools/mask_report.py`` (threshold sweeps on equal footing with the seeds,
boundary precision/recall) and ``tools/masks_from_walks.py``:

- ``img_id`` (str), ``keys`` (int64 ``[K]``, 0-based classes);
- ``walk``: float16 ``[K, h, w]`` walked maps on the stride-4 grid, divided
  by their maximum;
- ``boundary``: float16 ``[h, w]`` boundary probabilities;
- ``image_size``: int64 ``[2]``, the image's ``(H, W)``
  (``h = ceil(H / 4)``, ``w = ceil(W / 4)``).
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from .seed_io import SeedFileError, read_image_arrays, save_image_arrays


def walk_path(walk_dir: str, img_id: str) -> str:
    return osp.join(walk_dir, img_id + '.npz')


def save_walk(walk_dir: str, img_id: str, keys: np.ndarray, walk: np.ndarray,
              boundary: np.ndarray, image_size: Sequence[int]) -> str:
    """Write one walk file atomically (temporary file, then rename)."""
    return save_image_arrays(
        walk_path(walk_dir, img_id),
        'walk',
        img_id,
        keys,
        dict(walk=walk, boundary=boundary),
        image_size=np.asarray(image_size, np.int64))


def load_walk(path: str, image_size: Optional[Sequence[int]] = None) -> dict:
    """Read and validate one walk file.

    Returns:
        dict: ``img_id``, ``keys``, float32 ``walk`` ``[K, h, w]`` and
        ``boundary`` ``[h, w]``, ``image_size`` ``(H, W)``.

    Raises:
        SeedFileError: unreadable file, missing arrays, or a grid that does
            not fit the image.
    """
    raw = read_image_arrays(
        path, 'walk', ['img_id', 'keys', 'walk', 'boundary', 'image_size'],
        'delete it and rerun the mask stage (it resumes)')
    out = dict(
        img_id=str(raw['img_id']),
        keys=raw['keys'].astype(np.int64),
        walk=raw['walk'].astype(np.float32),
        boundary=raw['boundary'].astype(np.float32),
        image_size=tuple(int(x) for x in raw['image_size']))
    height, width = out['image_size']
    grid = (-(-height // 4), -(-width // 4))
    if out['boundary'].shape != grid or out['walk'].shape != (len(
            out['keys']), *grid):
        raise SeedFileError(
            f'walk file {path}: walk {out["walk"].shape} / boundary '
            f'{out["boundary"].shape} do not fit a {height}x{width} image')
    if image_size is not None and tuple(image_size) != (height, width):
        raise SeedFileError(
            f'walk file {path} is for a {height}x{width} image but the '
            f'image is {image_size[0]}x{image_size[1]}')
    return out
