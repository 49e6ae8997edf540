"""This package's configs, as ``mmseg_cobra::<path>`` bases and as copies.

The configs live in the repository's ``configs/`` and travel inside the
package as ``mmseg_cobra/.mim/configs`` (a link in the checkout, copied
into wheels), where mmengine looks for ``package::path`` bases. mmengine
0.10.7 only resolves the packages in its ``MODULE2PACKAGE`` table:
:func:`register_config_package` (run when ``mmseg_cobra`` is imported) adds
this one, so ``_base_ = ['mmseg_cobra::cobra/cobra_r152_deits_voc.py']``
works in any config read after ``import mmseg_cobra``.

mmseg's own ``tools/train.py`` reads the config before it runs
``custom_imports``; for it, :func:`export_config` copies a config with every
base it inherits from this package into a folder of the user's project
(``python -m mmseg_cobra.configs export cobra/cobra_r152_deits_voc.py
DEST``), rewriting ``mmseg_cobra::`` bases to relative paths; ``mmseg::``
bases stay as they are.
"""
import ast
import os
import os.path as osp
import shutil
from typing import List

from ..utils.file_io import write_text

PACKAGE = 'mmseg_cobra'


def register_config_package() -> None:
    """Let mmengine resolve ``mmseg_cobra::`` config paths."""
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)


def config_root() -> str:
    """The folder of this package's configs (installed or checkout)."""
    from ..utils.tools import shipped_folder
    return shipped_folder('configs')


def list_configs() -> List[str]:
    """Every config, relative to :func:`config_root` (bases excluded)."""
    root = config_root()
    out = []
    for folder, _, files in os.walk(root, followlinks=True):
        rel = osp.relpath(folder, root)
        if rel.split(os.sep)[0] == '_base_':
            continue
        out += [
            osp.normpath(osp.join(rel, f)) for f in files if f.endswith('.py')
        ]
    return sorted(out)


def _bases(path: str) -> List[str]:
    """The ``_base_`` entries of one config file (string or list)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_'
                for t in node.targets):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []


def _local_name(base: str, here: str) -> str:
    """Config-root-relative name of a base met in config ``here``."""
    if base.startswith(PACKAGE + '::'):
        return osp.normpath(base.split('::', 1)[1])
    return osp.normpath(osp.join(osp.dirname(here), base))


def export_config(name: str, dest: str) -> List[str]:
    """Copy config ``name`` and every base it takes from this package.

    Args:
        name (str): Config path relative to the config root (e.g.
            ``cobra/cobra_r152_deits_voc.py``), optionally with the
            ``mmseg_cobra::`` prefix.
        dest (str): Folder of the user's project; the configs keep their
            relative layout under it.

    Returns:
        list[str]: The files written.
    """
    root = config_root()
    name = osp.normpath(name.split('::', 1)[-1])
    if not osp.isfile(osp.join(root, name)):
        raise FileNotFoundError(
            f'no config {name} in {root}; `python -m mmseg_cobra.configs '
            'list` shows them')
    todo, done, written = [name], set(), []
    while todo:
        rel = todo.pop()
        if rel in done:
            continue
        done.add(rel)
        src = osp.join(root, rel)
        with open(src) as f:
            text = f.read()
        for base in _bases(src):
            if '::' in base and not base.startswith(PACKAGE + '::'):
                continue  # mmseg::, mmpretrain:: ... stay external
            local = _local_name(base, rel)
            todo.append(local)
            if base.startswith(PACKAGE + '::'):
                relative = osp.relpath(local, osp.dirname(rel) or '.')
                text = text.replace(repr(base), repr(relative)).replace(
                    f'"{base}"', repr(relative))
        out = osp.join(dest, rel)
        write_text(text, out)
        written.append(out)
    return written


__all__ = [
    'config_root', 'export_config', 'list_configs', 'register_config_package'
]
