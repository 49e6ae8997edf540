"""Dense CRF (Krähenbühl & Koltun) on ``pydensecrf``, for single images.

Two entry points share one implementation: :func:`crf_from_labels` (unary
from a hard label map, IRN style, ``gt_prob`` confidence) and
:func:`crf_from_probs` (unary ``-log p`` from class probabilities). Images
are RGB uint8 ``[H, W, 3]``. Use :func:`mmengine.utils.track_parallel_progress`
to run many images in a process pool.
"""
from typing import Optional

import numpy as np

#: The reference implementation's final-mask CRF (on the walked masks). It
#: reads the image with OpenCV, so its bilateral term sees BGR pixels: the
#: distances are the same, but the permutohedral lattice's approximation is
#: not symmetric in the channels, and about 1 % of pixels move with the order.
FINAL_CRF_CFG = dict(
    iterations=10,
    gt_prob=0.7,
    gaussian_sxy=2,
    gaussian_compat=3,
    bilateral_sxy=45,
    bilateral_srgb=5,
    bilateral_compat=4,
    bgr=True)


def _densecrf():
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf import utils
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            'denseCRF needs pydensecrf: `pip install pydensecrf2` (the module '
            'is named pydensecrf; pydensecrf 1.0rc3 does not build on Python '
            '3.11), or run `make env`') from exc
    return dcrf, utils


def _check_image(image: np.ndarray, shape: tuple) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('image must be RGB uint8 [H, W, 3], got '
                         f'{image.dtype} {image.shape}')
    if image.shape[:2] != tuple(shape):
        raise ValueError(f'image is {image.shape[:2]} but the unary is '
                         f'{tuple(shape)}')
    image = np.ascontiguousarray(image)
    # pydensecrf takes a writable buffer (arrays from PIL are read-only)
    return image if image.flags.writeable else image.copy()


def _inference(image, unary, n_labels, iterations, gaussian_sxy,
               gaussian_compat, bilateral_sxy, bilateral_srgb,
               bilateral_compat) -> np.ndarray:
    dcrf, _ = _densecrf()
    h, w = image.shape[:2]
    crf = dcrf.DenseCRF2D(w, h, n_labels)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    crf.addPairwiseGaussian(sxy=gaussian_sxy, compat=gaussian_compat)
    crf.addPairwiseBilateral(
        sxy=bilateral_sxy,
        srgb=bilateral_srgb,
        rgbim=image,
        compat=bilateral_compat)
    q = crf.inference(iterations)
    return np.asarray(q, np.float32).reshape(n_labels, h, w)


def crf_from_labels(image: np.ndarray,
                    labels: np.ndarray,
                    n_labels: Optional[int] = None,
                    iterations: int = 10,
                    gt_prob: float = 0.7,
                    gaussian_sxy: float = 3,
                    gaussian_compat: float = 3,
                    bilateral_sxy: float = 50,
                    bilateral_srgb: float = 5,
                    bilateral_compat: float = 10,
                    bgr: bool = False) -> np.ndarray:
    """Refine a label map (defaults: the IR-label CRF of IRN / CoBra).

    Args:
        image (np.ndarray): RGB uint8 ``[H, W, 3]``.
        labels (np.ndarray): int ``[H, W]`` in ``0..n_labels-1``.
        n_labels (int, optional): Defaults to ``labels.max() + 1``.
        iterations (int): Mean-field steps.
        gt_prob (float): Confidence in the given labels.
        bgr (bool): Give the bilateral term the pixels in BGR order, as the
            reference's final CRF (``FINAL_CRF_CFG``) does.

    Returns:
        np.ndarray: int64 ``[H, W]`` refined labels.
    """
    _, utils = _densecrf()
    image = _check_image(image[..., ::-1] if bgr else image, labels.shape)
    n_labels = int(labels.max()) + 1 if n_labels is None else n_labels
    if n_labels < 2:
        return np.zeros(labels.shape, np.int64)
    unary = utils.unary_from_labels(
        labels.astype(np.int64), n_labels, gt_prob=gt_prob, zero_unsure=False)
    q = _inference(image, unary, n_labels, iterations, gaussian_sxy,
                   gaussian_compat, bilateral_sxy, bilateral_srgb,
                   bilateral_compat)
    return q.argmax(axis=0).astype(np.int64)


def crf_from_probs(image: np.ndarray,
                   probs: np.ndarray,
                   iterations: int = 10,
                   gaussian_sxy: float = 2,
                   gaussian_compat: float = 3,
                   bilateral_sxy: float = 45,
                   bilateral_srgb: float = 5,
                   bilateral_compat: float = 4) -> np.ndarray:
    """Refine class probabilities (defaults: CoBra's final-mask CRF).

    Args:
        image (np.ndarray): RGB uint8 ``[H, W, 3]``.
        probs (np.ndarray): ``[C, H, W]`` probabilities (each pixel sums to 1).
        iterations (int): Mean-field steps.

    Returns:
        np.ndarray: float32 ``[C, H, W]`` refined probabilities.
    """
    _, utils = _densecrf()
    image = _check_image(image, probs.shape[1:])
    probs = np.clip(probs.astype(np.float32), 1e-8, 1.0)
    unary = utils.unary_from_softmax(probs)
    return _inference(image, unary, probs.shape[0], iterations, gaussian_sxy,
                      gaussian_compat, bilateral_sxy, bilateral_srgb,
                      bilateral_compat)


__all__ = ['FINAL_CRF_CFG', 'crf_from_labels', 'crf_from_probs']
