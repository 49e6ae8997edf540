"""Kept import path: the code lives in :mod:`mmseg_cobra.ops.ir_label`
(``from mmseg_cobra.utils.ir_label import ...`` goes on working)."""
from ..ops.ir_label import *  # noqa: F401,F403
from ..ops.ir_label import __all__  # noqa: F401
