"""From per-class seed maps to label maps (shared by the seed metric, the
IR labels and the seed-loading transform)."""
from typing import Optional

import numpy as np

#: Rows of paper Table 5: how the two branches' maps are combined.
SEED_COMBINATIONS = ('cnn', 'vit', 'mean', 'max', 'fuse')


def combine_seeds(seed: dict, source: str) -> np.ndarray:
    """One of the Table 5 seed sources from a loaded seed file.

    Args:
        seed (dict): ``cam_cnn``, ``cam_vit`` (and ``cam_fuse``) ``[K, H, W]``.
        source (str): ``cnn``, ``vit``, ``mean``, ``max`` or ``fuse``.

    Returns:
        np.ndarray: ``[K, H, W]``.
    """
    cnn, vit = seed['cam_cnn'], seed['cam_vit']
    if source == 'cnn':
        return cnn
    if source == 'vit':
        return vit
    if source == 'mean':
        return (cnn + vit) / 2
    if source == 'max':
        return np.maximum(cnn, vit)
    if source == 'fuse':
        return seed['cam_fuse'] if 'cam_fuse' in seed else np.maximum(
            (cnn + vit) / 2, vit)
    raise ValueError(f'unknown seed source {source!r}; choose from '
                     f'{SEED_COMBINATIONS}')


def combine_grid_seeds(seed: dict, source: str) -> Optional[np.ndarray]:
    """:func:`combine_seeds` on the stride-4 grid maps of a seed file
    (``cam_*_grid``); None for a file without them."""
    if not all(k in seed for k in ('cam_cnn_grid', 'cam_vit_grid')):
        return None
    return combine_seeds(
        {
            k: seed[k + '_grid']
            for k in ('cam_cnn', 'cam_vit', 'cam_fuse') if k + '_grid' in seed
        }, source)


def attention_threshold(attn: np.ndarray,
                        percentile: float,
                        normalize: bool = True) -> float:
    """Dynamic background threshold: a percentile of the image's attention.

    With ``normalize`` (default) the attention map is divided by its maximum
    first, so the threshold is on the same [0, 1] scale as the
    max-normalised CAMs. ``normalize=False`` takes the percentile of the
    map as saved (the attention summed over layers, scales and flips), as
    the reference's IR-label step does.
    """
    if not normalize:
        return float(np.percentile(attn.astype(np.float32), percentile))
    peak = float(attn.max())
    if peak <= 0:
        return 1.0
    return float(np.percentile(attn / peak, percentile))


def seeds_to_label(cams: np.ndarray, keys: np.ndarray,
                   bg_threshold: float) -> np.ndarray:
    """Label map: background where no class map exceeds the threshold.

    Args:
        cams (np.ndarray): ``[K, H, W]`` maps of the positive classes.
        keys (np.ndarray): ``[K]`` 0-based foreground class of each map.
        bg_threshold (float): Background score.

    Returns:
        np.ndarray: uint8 ``[H, W]``, 0 background, ``k + 1`` for class k.
    """
    if len(keys) == 0:
        return np.zeros(cams.shape[1:], np.uint8)
    best = cams.argmax(axis=0)
    label = (np.asarray(keys)[best] + 1).astype(np.uint8)
    label[cams.max(axis=0) <= bg_threshold] = 0
    return label


def to_dataset_labels(local: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Labels over an image's own maps (0 background, ``k + 1`` the k-th
    map) to dataset labels (0 background, ``c + 1`` for class ``keys[k]``).

    Returns:
        np.ndarray: uint8, ``local``'s shape.
    """
    return np.concatenate([[0], np.asarray(keys) + 1]).astype(np.uint8)[local]
