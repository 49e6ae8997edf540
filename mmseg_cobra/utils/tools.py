"""Where this package's command-line tools are, installed or in a checkout.

The tools live in the repository's ``tools/`` and travel inside the
package as ``mmseg_cobra/.mim/tools`` (a link in the checkout, copied into
wheels), where mmseg and mmpretrain keep theirs and where OpenMIM's
``mim run mmseg_cobra <tool>`` looks. ``python -m mmseg_cobra <tool> [args]``
runs one from wherever the package is.
"""
import os
import os.path as osp
from typing import List, Optional

PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def shipped_folder(name: str, marker: Optional[str] = None) -> str:
    """A folder the package ships beside its code: ``.mim/<name>`` of the
    installed package, else the checkout's ``<name>/`` (``tools``,
    ``configs``).

    Args:
        name (str): The folder.
        marker (str, optional): A file the folder must hold to count.

    Raises:
        FileNotFoundError: Neither has it.
    """
    shipped = osp.join(PACKAGE_DIR, '.mim', name)
    for folder in (shipped, osp.join(osp.dirname(PACKAGE_DIR), name)):
        if osp.isdir(folder) and (marker is None
                                  or osp.isfile(osp.join(folder, marker))):
            return folder
    raise FileNotFoundError(
        f'no {name} in {shipped}: reinstall mmseg_cobra from a wheel or '
        'checkout that has them')


def tools_root() -> str:
    """The folder of the tools (``.mim/tools`` of the package, else the
    checkout's ``tools/``)."""
    return shipped_folder('tools', 'train.py')


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
