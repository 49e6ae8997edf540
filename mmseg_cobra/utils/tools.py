"""Where this package's command-line tools are, installed or in a checkout.

The tools live in the repository's ``tools/`` and travel inside the
package as ``mmseg_cobra/.mim/tools`` (a link in the checkout, copied into
wheels), where mmseg and mmpretrain keep theirs and where OpenMIM's
``mim run mmseg_cobra <tool>`` looks. ``python -m mmseg_cobra <tool> [args]``
runs one from wherever the package is.
"""
import os
import os.path as osp
from typing import List

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def tools_root() -> str:
    """The folder of the tools (``.mim/tools`` of the package, else the
    checkout's ``tools/``)."""
    shipped = osp.join(PACKAGE_DIR, '.mim', 'tools')
    if osp.isfile(osp.join(shipped, 'train.py')):
        return shipped
    checkout = osp.join(osp.dirname(PACKAGE_DIR), 'tools')
    if osp.isfile(osp.join(checkout, 'train.py')):
        return checkout
    raise FileNotFoundError(
        f'no tools in {shipped}: reinstall mmseg_cobra from a wheel or '
        'checkout that has them')


def list_tools() -> List[str]:
    """Every tool, as ``python -m mmseg_cobra`` names it (``train``,
    ``dataset_converters/voc_aug``, ``dist_train.sh`` ...)."""
    root = tools_root()
    out = []
    for folder, _, files in os.walk(root, followlinks=True):
        for name in files:
            if name.endswith('.py') and not name.startswith('_'):
                out.append(osp.relpath(osp.join(folder, name), root)[:-3])
            elif name.endswith('.sh') and name != 'setup_env.sh':
                out.append(osp.relpath(osp.join(folder, name), root))
    return sorted(out)


def tool_path(name: str) -> str:
    """The file of a tool: ``'train'``, ``'train.py'``,
    ``'dataset_converters/coco2014'`` or ``'dist_train.sh'``."""
    root = tools_root()
    for candidate in (name, name + '.py'):
        path = osp.join(root, candidate)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'no tool {name!r} in {root}; the tools are: '
                            f'{", ".join(list_tools())}')
