"""Seed files: one compressed ``.npz`` per image, written atomically.

A seed file holds, for one image:

- ``img_id`` (str) and ``keys`` (int64 ``[K]``): the image's positive
  foreground classes, 0-based (class ``k`` is label ``k + 1`` in the masks);
- ``cam_cnn``, ``cam_vit``, ``cam_fuse``: float16 ``[K, H, W]`` per-class
  max-normalised maps at image resolution;
- ``cam_cnn_grid``, ``cam_vit_grid``, ``cam_fuse_grid``: float16 ``[K,
  ceil(H/4), ceil(W/4)]``, the same summed over scales on the stride-4 grid
  (the random walk's seeds; files written before they existed lack them);
- ``attn``: float16 ``[H, W]`` summed class-token attention (not normalised);
- ``num_classes``: foreground classes of the dataset it was made for.
"""
import os.path as osp
import zipfile
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..utils.errors import UserError
from ..utils.file_io import save_npz
from .constants import GRID_SOURCES, GRID_STRIDE, SEED_SOURCES


class SeedFileError(UserError, ValueError):
    """A seed file is unreadable or does not belong to the dataset."""


def seed_path(seed_dir: str, img_id: str) -> str:
    return osp.join(seed_dir, img_id + '.npz')


def save_seed(seed_dir: str, img_id: str, keys: np.ndarray,
              maps: Dict[str, np.ndarray], attn: np.ndarray,
              num_classes: int) -> str:
    """Write one seed file atomically (temporary file, then rename).

    Args:
        maps (dict): ``SEED_SOURCES`` maps and, optionally, the
            ``GRID_SOURCES`` maps.

    Returns:
        str: The path written.
    """
    halves = {k: maps[k] for k in SEED_SOURCES + GRID_SOURCES if k in maps}
    return save_image_arrays(
        seed_path(seed_dir, img_id),
        'seed',
        img_id,
        keys,
        dict(attn=attn, **halves),
        num_classes=np.asarray(num_classes, np.int64))


def save_image_arrays(path: str, kind: str, img_id: str, keys: np.ndarray,
                      halves: Dict[str, np.ndarray], **exact) -> str:
    """One image's file (seed or walk) atomically: its id, its class
    indices (int64), ``halves`` stored as float16 and ``exact`` as given."""
    return save_npz(
        path,
        kind=kind,
        img_id=np.asarray(img_id),
        keys=np.asarray(keys, np.int64),
        **{
            k: np.asarray(v, np.float16)
            for k, v in halves.items()
        },
        **exact)


def read_image_arrays(path: str, what: str, needed: Sequence[str],
                      fix: str) -> Dict[str, np.ndarray]:
    """Every array of one image's ``.npz`` file.

    Raises:
        SeedFileError: The file is unreadable (``fix`` says what to do) or
            lacks one of ``needed``.
    """
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise SeedFileError(f'{what} file {path} is unreadable (truncated or '
                            f'corrupt: {exc}); {fix}')
    if not set(needed) <= set(arrays):
        raise SeedFileError(f'{what} file {path} lacks '
                            f'{sorted(set(needed) - set(arrays))}: not a '
                            f'{what} file of this project')
    return arrays


def load_seed(path: str,
              num_classes: Optional[int] = None,
              image_size: Optional[Tuple[int, int]] = None) -> dict:
    """Read and validate one seed file.

    Args:
        path (str): The ``.npz`` file.
        num_classes (int, optional): Foreground classes expected.
        image_size (tuple, optional): ``(H, W)`` expected.

    Returns:
        dict: ``img_id``, ``keys`` and float32 maps ``cam_cnn``, ``cam_vit``,
        ``cam_fuse`` ``[K, H, W]`` and ``attn`` ``[H, W]``; the grid maps
        (``cam_*_grid``, ``[K, ceil(H/4), ceil(W/4)]``) where the file has
        them.

    Raises:
        SeedFileError: truncated/corrupt file, missing arrays, or a file made
            for another dataset (class count, image size, class indices).
    """
    seed = read_image_arrays(
        path, 'seed', ['img_id', 'keys', 'num_classes', 'attn', *SEED_SOURCES],
        'delete it and regenerate')
    out = dict(img_id=str(seed['img_id']), keys=seed['keys'].astype(np.int64))
    for k in (*SEED_SOURCES, 'attn'):
        out[k] = seed[k].astype(np.float32)
    stored_classes = int(seed['num_classes'])
    if num_classes is not None and stored_classes != num_classes:
        raise SeedFileError(
            f'seed file {path} was made for {stored_classes} classes, the '
            f'dataset has {num_classes}: wrong seed directory?')
    if out['keys'].size and (out['keys'].min() < 0
                             or out['keys'].max() >= stored_classes):
        raise SeedFileError(f'seed file {path} names classes outside '
                            f'0..{stored_classes - 1}')
    shape = out['attn'].shape
    if image_size is not None and tuple(shape) != tuple(image_size):
        raise SeedFileError(
            f'seed file {path} is {shape[0]}x{shape[1]} but its image is '
            f'{image_size[0]}x{image_size[1]}: seeds from another dataset?')
    _check_shapes(path, out, SEED_SOURCES, shape)
    out.update(
        {k: seed[k].astype(np.float32)
         for k in GRID_SOURCES if k in seed})
    grid = tuple(-(-n // GRID_STRIDE) for n in shape)
    _check_shapes(path, out, [k for k in GRID_SOURCES if k in out], grid)
    return out


def _check_shapes(path: str, seed: dict, keys, size: Tuple[int, int]) -> None:
    """Each map of ``keys`` is ``[K, *size]`` (K: the seed's classes)."""
    for k in keys:
        if seed[k].shape != (len(seed['keys']), *size):
            raise SeedFileError(
                f'seed file {path}: {k} has shape {seed[k].shape}, expected '
                f'{(len(seed["keys"]), *size)}')
