"""CoBra's models, losses and model utilities, registered in mmseg's
``MODELS`` on import.

The two mmpretrain-based backbones, :class:`ViTWithAttention` and
:class:`ResNetWithStem`, are imported (and registered) on first use: when
CoBra or IRN builds them, when a config names them with the package's scope
(``type='mmseg_cobra.ViTWithAttention'``, as ``type='mmpretrain.ResNet'``),
or on ``from mmseg_cobra.models import ViTWithAttention``. Importing
mmpretrain's models pulls in torchvision and ``torch._dynamo``, about 0.9 s
of start-up that the processes building neither (segmentation training,
the seed and mask tools, the pipeline driver) do without.
"""
from .classifiers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

#: Names served by :mod:`.backbones` on first access.
LAZY_BACKBONES = ('ViTWithAttention', 'ResNetWithStem')


def __getattr__(name: str):
    if name in LAZY_BACKBONES:
        from . import backbones
        return getattr(backbones, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
