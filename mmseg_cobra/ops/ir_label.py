"""IR labels (IRN's inter-pixel relation labels) from CoBra seeds.

Two thresholded label maps are refined by a dense CRF: with a *high*
background score (``fg_threshold``) only confident foreground survives; with a
*low* one (``bg_threshold``) only confident background is left. Pixels that
are foreground in the first map keep their class, pixels that are background
in both become background, the rest is unknown (255). The CoBra reference
takes the background threshold from the image's own attention map (a
percentile, snapped down to a grid) and ``fg_threshold = bg_threshold +
fg_offset``.
"""
import math
from typing import Optional, Tuple

import numpy as np

from ..utils.file_io import IGNORE_INDEX
from .crf import crf_from_labels
from .seed_labels import attention_threshold, seeds_to_label

IGNORE = IGNORE_INDEX


def ir_thresholds(attn: np.ndarray,
                  percentile: float = 93.0,
                  fg_offset: float = 0.5,
                  grid: float = 0.05,
                  fixed: Optional[Tuple[float, float]] = None,
                  attention_scale: str = 'max') -> Tuple[float, float]:
    """``(bg_threshold, fg_threshold)`` for one image.

    Args:
        attn (np.ndarray): The image's summed class-token attention.
        percentile (float): Percentile of the attention map.
        fg_offset (float): ``fg_threshold - bg_threshold``.
        grid (float): The background threshold is snapped down to it.
        fixed (tuple, optional): ``(bg, fg)`` used as is instead.
        attention_scale (str): ``'max'``: the map divided by its maximum
            (default; the threshold lives on the seeds' [0, 1] scale);
            ``'raw'``: the map as saved (the reference's step), whose scale
            depends on the image size and the number of scales.
    """
    if fixed is not None:
        return float(fixed[0]), float(fixed[1])
    if attention_scale not in ('max', 'raw'):
        raise ValueError(f"attention_scale must be 'max' or 'raw', got "
                         f'{attention_scale!r}')
    bg = attention_threshold(attn, percentile, attention_scale == 'max')
    bg = math.floor(bg / grid + 1e-6) * grid
    return bg, bg + fg_offset


def make_ir_label(image: np.ndarray,
                  cams: np.ndarray,
                  keys: np.ndarray,
                  bg_threshold: float,
                  fg_threshold: float,
                  crf_cfg: Optional[dict] = None) -> np.ndarray:
    """IR label of one image.

    Args:
        image (np.ndarray): RGB uint8 ``[H, W, 3]``.
        cams (np.ndarray): ``[K, H, W]`` seed maps in [0, 1].
        keys (np.ndarray): ``[K]`` 0-based classes.
        bg_threshold (float): Low background score (confident background).
        fg_threshold (float): High background score (confident foreground).
        crf_cfg (dict, optional): :func:`crf_from_labels` arguments
            (defaults: t=10, gaussian 3/3, bilateral 50/5/10, gt_prob 0.7).

    Returns:
        np.ndarray: uint8 ``[H, W]``: 0 background, ``k + 1`` class, 255
        unknown.
    """
    crf_cfg = crf_cfg or {}
    keys = np.asarray(keys)
    lookup = np.concatenate([[0], keys + 1]).astype(np.uint8)

    def refined(threshold: float) -> np.ndarray:
        label = seeds_to_label(cams, np.arange(len(keys)), threshold)
        label = crf_from_labels(
            image, label.astype(np.int64), n_labels=len(keys) + 1, **crf_cfg)
        return lookup[label]

    if len(keys) == 0:
        return np.zeros(image.shape[:2], np.uint8)
    fg_conf = refined(fg_threshold)
    bg_conf = refined(bg_threshold)
    out = fg_conf.copy()
    out[fg_conf == 0] = IGNORE
    out[(fg_conf == 0) & (bg_conf == 0)] = 0
    return out


__all__ = ['IGNORE', 'ir_thresholds', 'make_ir_label']
