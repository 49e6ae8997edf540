"""Named points where a test plugin may stop the process: the kill-anywhere
tests' fault injection, kept out of the library.

The library only names the points:

- ``seed``, ``walk``, ``ir_label``, ``mask``, ``final_mask``,
  ``crf_mask``: right after that output file is complete under its name;
- ``<kind>.partial``: in the middle of writing it (``path`` is the
  temporary file; the final name does not exist yet);
- ``train_iter``: after a training iteration (the plugin's
  :func:`training_hooks`, which ``tools/train.py`` registers);
- ``stage_done.<stage>``: after a pipeline stage's outputs are all written,
  before the stage is recorded as finished.

What happens there is the plugin's: :data:`PLUGIN_ENV` names a Python file
(the test suite's ``tests/fault_injection.py``, which its ``conftest.py``
sets) whose ``fault_point(site, path)`` is called at each point, and whose
``training_hooks()`` gives the hooks added to a training. Without the
variable every point is a no-op.
"""
import importlib.util
import os
from types import ModuleType
from typing import List, Optional

from .errors import UserError

#: The variable naming the plugin file.
PLUGIN_ENV = 'MMSEG_COBRA_FAULT_PLUGIN'
_plugin: Optional[ModuleType] = None


def fault_plugin() -> Optional[ModuleType]:
    """The plugin :data:`PLUGIN_ENV` names, loaded once; None without.

    Raises:
        UserError: The file it names cannot be loaded.
    """
    global _plugin
    path = os.environ.get(PLUGIN_ENV)
    if not path:
        return None
    if _plugin is None:
        spec = importlib.util.spec_from_file_location(
            'mmseg_cobra_fault_plugin', path)
        if spec is None or not os.path.isfile(path):
            raise UserError(f'{PLUGIN_ENV}={path}: no such Python file; '
                            f'unset {PLUGIN_ENV} outside the tests')
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _plugin = module
    return _plugin


def fault_point(site: str, path: Optional[str] = None) -> None:
    """The point ``site`` (see the module doc); the plugin's, if any.

    Args:
        site (str): Name of this point.
        path (str, optional): For ``*.partial`` points, the temporary file
            being written.
    """
    plugin = fault_plugin()
    if plugin is not None:
        plugin.fault_point(site, path)


def training_hooks() -> List[object]:
    """The hooks the plugin adds to a training (mmengine ``Hook`` objects);
    none without a plugin."""
    plugin = fault_plugin()
    if plugin is None or not hasattr(plugin, 'training_hooks'):
        return []
    return list(plugin.training_hooks())


__all__ = ['PLUGIN_ENV', 'fault_plugin', 'fault_point', 'training_hooks']
