"""Checkpoints load under torch.load(weights_only=True) with an allow-list."""
import collections
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmseg_cobra.utils import (UnsafeCheckpointError,
                               use_project_checkpoint_loader)


@pytest.fixture
def project_loader():
    """This project's local loader, as its tools install it, for one test
    (mmengine's own afterwards)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    before = dict(CheckpointLoader._schemes)
    use_project_checkpoint_loader()
    yield
    CheckpointLoader._schemes.clear()
    CheckpointLoader._schemes.update(before)


def test_importing_the_plugin_keeps_mmengines_local_loader():
    """Other programs in the process keep mmengine's loader; only the
    allow-list is added (mmengine's loader then reads its checkpoints under
    torch >= 2.6)."""
    from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
    assert CheckpointLoader._get_checkpoint_loader('a/b.pth') is \
        load_from_local


class Payload:
    """Any class outside the allow-list (stands for arbitrary code)."""

    def __reduce__(self):
        return (print, ('this must never run', ))


def test_mmengine_style_checkpoint_loads(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(np.float64(0.5), 2)
    ckpt = dict(
        meta=dict(
            epoch=1,
            iter=3,
            seed=np.int64(2022),
            dataset_meta=dict(classes=('a', 'b'))),
        state_dict=collections.OrderedDict(w=torch.ones(2)),
        message_hub=dict(
            log_scalars={'train/loss': buffer},
            runtime_info=dict(iter=3, lr=np.float32(0.1))))
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    loaded = _load_checkpoint(str(path), map_location='cpu')
    assert loaded['meta']['iter'] == 3
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 0.5


def test_mmengine_style_checkpoint_loads_with_the_project_loader(
        tmp_path, project_loader):
    test_mmengine_style_checkpoint_loads(tmp_path)


def test_foreign_object_refused_by_mmengines_own_loader_too(tmp_path, capsys):
    """Without this project's loader, torch's weights-only unpickler (with
    the allow-list) still refuses it; only the message is torch's."""
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, extra=Payload()), path)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')
    assert 'this must never run' not in capsys.readouterr().out


def test_checkpoint_with_foreign_object_is_refused(tmp_path, capsys,
                                                   project_loader):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, extra=Payload()), path)
    with pytest.raises(UnsafeCheckpointError) as err:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(err.value)
    assert str(path) in message
    assert 'builtins.print' in message
    assert 'this must never run' not in capsys.readouterr().out
    assert isinstance(err.value, pickle.UnpicklingError)


def test_missing_checkpoint_names_the_file(tmp_path, project_loader):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):

    class Sneaky:

        def __reduce__(self):
            # getattr(HistoryBuffer, '__init__'): allowed global, bad name
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'sneaky.pth'
    torch.save(dict(x=Sneaky()), path)
    with pytest.raises(pickle.UnpicklingError, match='__init__'):
        _load_checkpoint(str(path), map_location='cpu')
