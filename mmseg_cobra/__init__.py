"""mmseg-cobra: CoBra weakly supervised semantic segmentation for mmseg 1.x.

Importing the package registers every component in mmseg's registries
(``MODELS``, ``DATASETS``, ``TRANSFORMS``, ``HOOKS``, ``MODEL_WRAPPERS``) and
lets mmengine load its own checkpoints under ``torch.load(weights_only=True)``.
Configs use it with ``custom_imports = dict(imports=['mmseg_cobra'])``, and
may inherit from this package's configs as ``mmseg_cobra::<path>`` once it
is imported (see :mod:`mmseg_cobra.configs`).
"""
import mmcv
from mmengine.utils import digit_version

from .version import __version__

_MMCV_RANGE = ('2.0.0rc4', '2.2.0')
if not (digit_version(_MMCV_RANGE[0]) <= digit_version(mmcv.__version__) <
        digit_version(_MMCV_RANGE[1])):
    raise ImportError(
        f'mmseg_cobra needs {_MMCV_RANGE[0]} <= mmcv < {_MMCV_RANGE[1]} '
        f'(mmseg 1.2.2 refuses newer), found {mmcv.__version__}; run '
        '`make env` to build the pinned environment')

from .utils import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

from .configs import register_config_package  # noqa: E402

register_config_package()  # `_base_ = ['mmseg_cobra::...']` resolves

# isort: off
from . import datasets, engine, evaluation, models  # noqa: E402,F401
from . import registry, visualization  # noqa: E402,F401
# isort: on

__all__ = [
    "__version__", "datasets", "engine", "evaluation", "models",
    "visualization"
]
