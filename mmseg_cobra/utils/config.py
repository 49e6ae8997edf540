"""Config loading with errors that say what to fix."""
import os.path as osp
import re
from typing import Any, Dict, Optional

from mmengine.config import Config

from .errors import UserError


class ConfigError(UserError, RuntimeError):
    """A config cannot be loaded or does not fit this project."""


def _import_error_message(path: str, exc: ImportError) -> str:
    """Name the module of ``custom_imports`` that does not import."""
    import difflib
    import importlib
    try:
        names = Config.fromfile(
            path, import_custom_modules=False).get('custom_imports',
                                                   {}).get('imports', [])
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
    hints = [
        m for n in failed for m in difflib.get_close_matches(
            n, ['mmseg_cobra', 'mmseg', 'mmpretrain', 'mmcv', 'mmengine'], 1)
    ]
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
        merge_cfg_options(cfg, cfg_options)
    return cfg


#: ``custom_hooks.<HookType>.<key>``: a hook option addressed by the hook's
#: type instead of its position in the list
_HOOK_OPTION = re.compile(r'^custom_hooks\.([A-Za-z_]\w*)\.(.+)$')


def set_hook_option(cfg: Config, hook_type: str, key: str, value: Any) -> None:
    """Set ``key`` (dotted for nested dicts) of the custom hook of type
    ``hook_type`` (``'SeedWriterHook'``; a scoped ``'mmseg_cobra.X'`` type
    matches ``'X'``).

    Raises:
        ConfigError: no hook, or several hooks, of that type.
    """
    hooks = cfg.get('custom_hooks') or []
    found = [
        h for h in hooks if str(h.get('type', '')).split('.')[-1] == hook_type
    ]
    if len(found) != 1:
        have = [str(h.get('type')) for h in hooks]
        raise ConfigError(
            f'custom_hooks.{hook_type}.{key}: the config has '
            f'{"no" if not found else len(found)} hook(s) of type '
            f'{hook_type} (its custom_hooks: {have}); ' +
            ('add the hook or drop the option' if not found else
             'address them by position, custom_hooks.<index>.' + key))
    target = found[0]
    *parents, last = key.split('.')
    for part in parents:
        if part not in target:
            target[part] = {}
        target = target[part]
    target[last] = value


def merge_cfg_options(cfg: Config, cfg_options: Dict[str, Any]) -> None:
    """``Config.merge_from_dict`` that also takes hook options by type.

    ``custom_hooks.SeedWriterHook.out_dir=DIR`` sets ``out_dir`` of the
    config's ``SeedWriterHook`` wherever it stands in ``custom_hooks``
    (mmengine only addresses list items by position,
    ``custom_hooks.<i>.out_dir``, which silently hits another hook once one
    is inserted before it).
    """
    plain, by_type = {}, []
    for key, value in cfg_options.items():
        match = _HOOK_OPTION.match(key)
        if match:
            by_type.append((match.group(1), match.group(2), value))
        else:
            plain[key] = value
    if plain:  # first: it may replace custom_hooks as a whole
        cfg.merge_from_dict(plain)
    for hook_type, key, value in by_type:
        set_hook_option(cfg, hook_type, key, value)
