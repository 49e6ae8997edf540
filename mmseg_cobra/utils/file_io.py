"""Writing outputs so that a killed writer never leaves a partial file.

Every file the tools and hooks produce (seed and walk files, label PNGs,
stage records, converted checkpoints, configs) goes through
:func:`atomic_write`: the content is written to a temporary file next to
the destination, then renamed onto it. A rename within one directory is
atomic, so a reader sees either the old file, no file, or the whole new
one; that is what lets every long job resume from the files it finds.
"""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from .fault import fault_point


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
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    if kind:
        fault_point(kind, path)


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
