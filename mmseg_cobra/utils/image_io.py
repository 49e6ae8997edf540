"""Reading images, label maps and ground truth through mmengine's file
backends.

Every image and label the package reads goes through here, so a dataset
whose config sets ``backend_args`` (e.g. ``dict(backend='petrel')`` or a
``path_mapping`` to object storage) is read the way mmseg's
``LoadImageFromFile`` reads it: ``mmengine.fileio.get`` returns the bytes,
PIL decodes them completely (a truncated file raises here, not later).
"""
import io
from typing import Optional

import numpy as np
from mmengine.fileio import LocalBackend, get, get_file_backend, isdir, isfile
from PIL import Image, ImageOps

from .errors import UserError
from .file_io import IGNORE_INDEX


class GroundTruthError(UserError, ValueError):
    """A ground-truth mask that does not fit the dataset it is scored
    with; the message names the file and the fix."""


def file_exists(path: Optional[str],
                backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is a file, on disk or in the file backend that
    ``backend_args`` names (``False`` for ``None``). A backend that cannot
    answer (HTTP) says ``True``: reading the file will tell."""
    if path is None:
        return False
    try:
        return isfile(path, backend_args=backend_args)
    except NotImplementedError:
        return True


def dir_exists(path: str, backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is a folder, on disk or in the file backend (a
    backend that cannot answer says ``True``)."""
    try:
        return isdir(path, backend_args=backend_args)
    except NotImplementedError:
        return True


def is_local(path: str, backend_args: Optional[dict] = None) -> bool:
    """Whether ``path`` is read from the local disk (so ``os.stat`` works
    on it)."""
    backend = get_file_backend(path, backend_args=backend_args)
    return isinstance(backend, LocalBackend)


def open_image(path: str, backend_args: Optional[dict] = None) -> Image.Image:
    """An image or label map as a fully decoded PIL image (a truncated
    file raises here).

    Raises:
        OSError: The file is missing or does not decode.
    """
    image = Image.open(io.BytesIO(get(path, backend_args=backend_args)))
    image.load()  # full decode
    return image


def read_image(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """An image as RGB, decoded as the GPU stages decode it
    (:func:`decoded_like_cv2`).

    Args:
        path (str): Local path or URI (``s3://...``) of the image.
        backend_args (dict, optional): mmengine file backend arguments
            (the dataset config's ``backend_args``).

    Returns:
        np.ndarray: uint8 ``[H, W, 3]``.

    Raises:
        OSError: The file is missing or does not decode.
    """
    return decoded_like_cv2(open_image(path, backend_args))


#: PIL modes of one-channel 16-bit (and the 32-bit mode PIL may give a
#: 16-bit PNG)
_WIDE_GREY = ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I')


def decoded_like_cv2(image: Image.Image) -> np.ndarray:
    """A PIL image as RGB pixels equal to what the training and testing
    stages get from mmseg's ``LoadImageFromFile`` (``mmcv.imfrombytes``,
    cv2): turned as its EXIF orientation says, and 16-bit channels brought
    to 8 bits by their high byte (PIL alone ignores the orientation and
    clips 16-bit grey values at 255).

    Returns:
        np.ndarray: uint8 ``[H, W, 3]``.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in _WIDE_GREY:
        grey = (np.asarray(image).astype(np.int64) >> 8).clip(0, 255)
        return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(image.convert('RGB'))


def read_label(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """A label map (palette or grey PNG) as its indices.

    Returns:
        np.ndarray: ``[H, W]`` (uint8 for the PNGs this package writes).
    """
    return np.asarray(open_image(path, backend_args))


def read_ground_truth(path: str,
                      num_labels: int,
                      ignore_index: int = IGNORE_INDEX,
                      backend_args: Optional[dict] = None) -> np.ndarray:
    """A ground-truth mask, checked against the dataset's label count.

    Args:
        path (str): The mask.
        num_labels (int): Labels of the dataset, background included
            (ids ``0 .. num_labels - 1`` are valid).
        ignore_index (int): The id of unlabelled pixels.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``[H, W]`` label ids.

    Raises:
        GroundTruthError: The mask is missing, does not decode, is not one
            channel, or holds an id outside ``0 .. num_labels - 1`` and
            ``ignore_index``.
    """
    try:
        gt = read_label(path, backend_args)
    except (OSError, ValueError) as exc:
        raise GroundTruthError(
            f'ground truth {path} cannot be read ({exc}): restore the file '
            'or leave the image out of the list') from None
    if gt.ndim != 2:
        raise GroundTruthError(
            f'ground truth {path} has shape {gt.shape}: a mask must be one '
            'channel (palette or grey PNG) of class ids')
    values = np.unique(gt)
    bad = values[(values >= num_labels) & (values != ignore_index)]
    if bad.size:
        raise GroundTruthError(
            f'ground truth {path} holds class id(s) '
            f'{", ".join(str(int(v)) for v in bad[:5])} but the dataset has '
            f'{num_labels} labels (0 .. {num_labels - 1}, {ignore_index} '
            'ignored): the mask belongs to another dataset, or the '
            'config\'s classes are wrong (tools/check_dataset.py CONFIG '
            'lists every such mask)')
    return gt
