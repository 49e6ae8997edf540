"""Config loading with errors that say what to fix."""
import os.path as osp
from typing import Optional

from mmengine.config import Config


class ConfigError(RuntimeError):
    """A config cannot be loaded or does not fit this project."""


def _import_error_message(path: str, exc: ImportError) -> str:
    """Name the module of ``custom_imports`` that does not import."""
    import difflib
    import importlib
    try:
        names = Config.fromfile(path, import_custom_modules=False).get(
            'custom_imports', {}).get('imports', [])
    except Exception:  # noqa: BLE001
        names = []
    names = [names] if isinstance(names, str) else list(names)
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as err:
            failed[name] = str(err)
    if not failed:
        return f'config {path}: an import failed while reading it ({exc})'
    what = '; '.join(f'{n!r} ({why})' for n, why in failed.items())
    hints = [m for n in failed for m in difflib.get_close_matches(
        n, ['mmseg_cobra', 'mmseg', 'mmpretrain', 'mmcv', 'mmengine'], 1)]
    hint = f' Did you mean {hints[0]!r}?' if hints else ''
    return (f'config {path}: a module named in its custom_imports cannot be '
            f'imported: {what}.{hint} Check the spelling in '
            "custom_imports=dict(imports=[...]); this project's module is "
            "'mmseg_cobra', importable after `pip install -e .` in the "
            'mmseg-cobra checkout (or with it on PYTHONPATH).')


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load ``path`` (running its ``custom_imports``) and merge overrides.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.

    Returns:
        Config: The merged config.

    Raises:
        ConfigError: the file is missing, or a module named in its
            ``custom_imports`` cannot be imported.
    """
    if not osp.isfile(path):
        raise ConfigError(f'config file {path} does not exist')
    try:
        cfg = Config.fromfile(path)
    except ImportError as exc:
        raise ConfigError(_import_error_message(path, exc)) from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
