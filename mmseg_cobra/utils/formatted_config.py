"""A config whose text is formatted once per content."""
from typing import Optional, Tuple

from mmengine.config import Config


class FormattedOnceConfig(Config):
    """mmengine's ``Config`` whose ``pretty_text`` (the config as Python,
    formatted by yapf) is made once for each content and then reused.

    An mmengine ``Runner`` asks for its config's text four times before
    the first iteration (its log, ``dump_config``, ``LocalVisBackend``'s
    copy, ``RuntimeInfoHook``'s message hub) and once more for every
    checkpoint it saves. yapf takes about a second on a full-size stage
    config (COCO's 81 class names and colours in three dataloaders), so a
    tool that runs a stage pays that only once. The text is the one
    ``Config`` makes; a changed config (any value, or the formatting
    switch) is formatted anew.
    """

    @classmethod
    def of(cls, cfg: Config) -> 'FormattedOnceConfig':
        """``cfg`` as a :class:`FormattedOnceConfig` (sharing its content,
        as ``copy.copy`` would; a ``FormattedOnceConfig`` is returned as it
        is).

        Args:
            cfg (Config): Any config.

        Returns:
            FormattedOnceConfig: The same keys, filename and text.
        """
        if isinstance(cfg, cls):
            return cfg
        other = cls.__new__(cls)
        other.__dict__.update(cfg.__dict__)
        return other

    def _text_key(self) -> Tuple[bool, str]:
        return (bool(self.__dict__.get('_format_python_code',
                                       True)), repr(self.to_dict()))

    @property
    def pretty_text(self) -> str:
        """``Config.pretty_text``, formatted again only when the config
        changed since the last call (on this config or the one it was
        deep-copied from)."""
        key = self._text_key()
        cached: Optional[Tuple[tuple,
                               str]] = self.__dict__.get('_formatted_text')
        if cached is not None and cached[0] == key:
            return cached[1]
        text = super().pretty_text
        # Config.__setattr__ writes into the config's keys: set it as an
        # attribute of the object itself
        object.__setattr__(self, '_formatted_text', (key, text))
        return text


__all__ = ['FormattedOnceConfig']
