"""Writing outputs so that a killed writer never leaves a partial file.

Every file the package, its tools and benchmarks produce (seed and walk
files, label PNGs, images, figures, reports, stage records, converted
checkpoints, configs) goes through :func:`atomic_write`: the content is
written to a temporary file next to the destination, then renamed onto it.
A rename within one directory is atomic, so a reader sees either the old
file, no file, or the whole new one; that is what lets every long job
resume from the files it finds. The temporary is synced to disk before
the rename (:func:`flush_to_disk`), so that holds after a crash too. The
writers below are the only places that call a library's save function
(``tests/test_utils/test_file_io.py`` greps the code for any other).
"""
import errno
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .errors import UserError
from .fault import fault_point

#: The label value left out of training and scoring, and its colour in
#: every palette PNG (VOC's "void" colour).
IGNORE_INDEX = 255
IGNORE_COLOUR = (224, 224, 192)


@contextmanager
def atomic_write(path: str, kind: Optional[str] = None) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when
    the block finishes, remove it when the block raises.

    The temporary is a hidden file (``.<name>.<pid>.tmp<ext>``): it keeps
    ``path``'s extension (PIL and ``Config.dump`` choose their format from
    it), carries the process id (two writers of the same file never share
    a temporary), and its leading dot keeps it out of ``*.npz``-style globs
    of the folder.

    Args:
        path (str): Final destination; its directory is created.
        kind (str, optional): Names the output for fault injection
            (:mod:`mmseg_cobra.utils.fault`): the kill points
            ``<kind>.partial`` (temporary written, not renamed) and
            ``<kind>`` (renamed).

    Yields:
        str: The temporary path to write.
    """
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = osp.splitext(name)[1]
    # hidden (a leading dot): ``*.npz`` / ``*.png`` globs never see it
    tmp = osp.join(folder, f'.{name}.{os.getpid()}.tmp{ext}')
    try:
        yield tmp
        if kind:
            fault_point(kind + '.partial', tmp)
        flush_to_disk(tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    if kind:
        fault_point(kind, path)


def flush_to_disk(path: str) -> None:
    """``fsync`` a written file, so that after a crash or power loss its
    final name never points at an empty or partial file (ext4 and XFS may
    commit the rename before the data; on NFS it is what makes the data
    reach the server before other nodes see the name). A file system that
    cannot sync (some FUSE mounts) is left as it is."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EROFS):
            raise
    finally:
        os.close(fd)


def _json_default(obj: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    raise TypeError(f'{type(obj).__name__} is not JSON serializable')


def dump_json(obj: Any, path: str, **kwargs) -> str:
    """``json.dump`` of ``obj`` to ``path`` through :func:`atomic_write`
    (``indent=1`` unless given; numpy values as plain ones); returns
    ``path``."""
    kwargs.setdefault('indent', 1)
    kwargs.setdefault('default', _json_default)
    with atomic_write(path) as tmp, open(tmp, 'w') as f:
        json.dump(obj, f, **kwargs)
    return path


def write_text(text: str, path: str) -> str:
    """``text`` to ``path`` through :func:`atomic_write`; returns ``path``."""
    with atomic_write(path) as tmp, open(tmp, 'w') as f:
        f.write(text)
    return path


def save_npy(obj: Any, path: str) -> str:
    """``np.save`` of ``obj`` (an array, or a dict as the image-level label
    files) to ``path`` atomically; returns ``path``."""
    with atomic_write(path) as tmp, open(tmp, 'wb') as f:
        np.save(f, obj)
    return path


def save_npz(path: str, kind: Optional[str] = None, **arrays) -> str:
    """``np.savez_compressed`` of ``arrays`` to ``path`` atomically;
    ``kind`` names the output for fault injection. Returns ``path``."""
    with atomic_write(path, kind) as tmp, open(tmp, 'wb') as f:
        np.savez_compressed(f, **arrays)
    return path


def palette_table(palette: Sequence) -> list:
    """The 768 values of a PNG palette: the dataset's colours, then black,
    with :data:`IGNORE_INDEX` in :data:`IGNORE_COLOUR`."""
    flat = np.asarray(palette, np.uint8).reshape(-1, 3)[:256]
    table = np.zeros((256, 3), np.uint8)
    table[:len(flat)] = flat
    if len(flat) <= IGNORE_INDEX:
        table[IGNORE_INDEX] = IGNORE_COLOUR
    return table.flatten().tolist()


def save_label_png(label: np.ndarray,
                   path: str,
                   palette: Optional[Sequence] = None,
                   kind: Optional[str] = None) -> str:
    """A label map as a PNG, atomically: a palette PNG (mode ``P``, the
    dataset's colours, :data:`IGNORE_INDEX` light grey) when ``palette`` is
    given, else a greyscale one (mode ``L``, as mmseg's COCO labels).

    Args:
        label (np.ndarray): ``[H, W]`` class ids (0..255).
        path (str): The ``.png`` to write.
        palette (Sequence, optional): ``[[r, g, b], ...]`` per class.
        kind (str, optional): Names the output for fault injection.

    Returns:
        str: ``path``.
    """
    from PIL import Image
    png = Image.fromarray(
        np.asarray(label, np.uint8), mode='P' if palette is not None else 'L')
    if palette is not None:
        png.putpalette(palette_table(palette))
    with atomic_write(path, kind) as tmp:
        png.save(tmp, format='PNG')
    return path


def save_image(image: np.ndarray, path: str, **options) -> str:
    """An RGB ``uint8`` image ``[H, W, 3]`` to ``path`` atomically (format
    from the extension; ``options`` as PIL's, e.g. ``quality=90``)."""
    from PIL import Image
    with atomic_write(path) as tmp:
        Image.fromarray(np.asarray(image, np.uint8)).save(tmp, **options)
    return path


def save_figure(fig: Any, path: str, dpi: int = 110) -> str:
    """A matplotlib figure to ``path`` atomically (format from the
    extension, tight bounding box); the figure is closed."""
    import matplotlib.pyplot as plt
    with atomic_write(path) as tmp:
        fig.savefig(
            tmp,
            dpi=dpi,
            bbox_inches='tight',
            format=osp.splitext(path)[1][1:] or 'png')
    plt.close(fig)
    return path


def save_config(cfg: Any, path: str) -> str:
    """An mmengine ``Config`` to ``path`` atomically (``Config.dump``; the
    format from the extension)."""
    with atomic_write(path) as tmp:
        cfg.dump(tmp)
    return path


def save_torch(obj: Any, path: str) -> str:
    """``torch.save`` of ``obj`` (a checkpoint) to ``path`` atomically."""
    import torch
    with atomic_write(path) as tmp:
        torch.save(obj, tmp)
    return path


class NotWritableError(UserError, OSError):
    """A folder that outputs cannot go to; the message says why and what
    to do."""


def check_writable(folder: str, min_free_mb: float = 0.0) -> None:
    """Make ``folder`` and check that a file can be written and synced
    there, with at least ``min_free_mb`` MB free, before a job starts
    writing outputs (so that it stops with the reason, not a traceback
    half-way or a log that could not be written).

    Raises:
        NotWritableError: Read-only, no permission, or (nearly) full.
    """
    probe = osp.join(folder, f'.write_check.{os.getpid()}')
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, b'x')
            os.fsync(fd)
        finally:
            os.close(fd)
            os.remove(probe)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        raise NotWritableError(
            f'cannot write in {folder}: {exc.strerror}. ' +
            ('Free disk space (or quota) there, or use another folder; '
             if full else 'Make it writable (permissions, a read-only '
             'mount), or use another folder; ') +
            'nothing already written is lost, and the same command '
            'resumes') from None
    stat = os.statvfs(folder)
    free_mb = stat.f_bavail * stat.f_frsize / 2**20
    if free_mb < min_free_mb:
        raise NotWritableError(
            f'{folder} has {free_mb:.0f} MB free, less than the '
            f'{min_free_mb:.0f} MB this job asks for (min_free_mb): free '
            'disk space, or lower min_free_mb in the pipeline config; '
            'nothing already written is lost, and the same command resumes')
