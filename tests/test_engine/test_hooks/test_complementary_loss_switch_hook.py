from types import SimpleNamespace

import pytest
import torch.nn as nn
from conftest import build_tiny_cobra

from mmseg_cobra.engine.hooks import ComplementaryLossSwitchHook


def test_switches_on_at_start_epoch():
    model = build_tiny_cobra()
    hook = ComplementaryLossSwitchHook(start_epoch=2)
    seen = []
    for epoch in range(4):
        hook.before_train_epoch(SimpleNamespace(model=model, epoch=epoch))
        seen.append(model.complementary_losses_enabled)
    assert seen == [False, False, True, True]


def test_refuses_models_without_switch():
    hook = ComplementaryLossSwitchHook()
    with pytest.raises(TypeError, match='CoBra'):
        hook.before_train_epoch(
            SimpleNamespace(model=nn.Linear(1, 1), epoch=0))
    with pytest.raises(ValueError):
        ComplementaryLossSwitchHook(start_epoch=-1)
