"""Kept import path: the code lives in
:mod:`mmseg_cobra.models.converters.reference_checkpoints`
(``from mmseg_cobra.utils.reference_checkpoints import ...`` goes on
working)."""
from ..models.converters.reference_checkpoints import *  # noqa: F401,F403
from ..models.converters.reference_checkpoints import __all__  # noqa: F401
