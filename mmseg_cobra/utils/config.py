"""Config loading with errors that say what to fix."""
import os.path as osp
from typing import Optional

from mmengine.config import Config


class ConfigError(RuntimeError):
    """A config cannot be loaded or does not fit this project."""


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
        missing = getattr(exc, 'name', None) or str(exc)
        raise ConfigError(
            f'config {path}: a module named in its custom_imports cannot be '
            f'imported ({missing!r}: {exc}). Check the spelling in '
            "custom_imports=dict(imports=[...]); this project's module is "
            "'mmseg_cobra', importable after `pip install -e .` in the "
            'mmseg-cobra checkout (or with it on PYTHONPATH).') from exc
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
