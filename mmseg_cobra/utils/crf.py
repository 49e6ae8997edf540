"""Kept import path: the code lives in :mod:`mmseg_cobra.ops.crf`
(``from mmseg_cobra.utils.crf import ...`` goes on working)."""
from ..ops.crf import *  # noqa: F401,F403
from ..ops.crf import __all__  # noqa: F401
