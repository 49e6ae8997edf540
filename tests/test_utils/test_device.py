"""--device: a GPU asked for and unusable stops the tool with the reason and
the fix; without one, the CPU is said out loud."""
import os
import sys

import pytest
import torch
from conftest import TINY_CONFIG, run_tool

from mmseg_cobra.utils.device import DeviceError, select_device

no_gpu = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the machine without a GPU')


@pytest.fixture
def visible(monkeypatch):
    """Set CUDA_VISIBLE_DEVICES for one test (restored after it)."""

    def set_to(value):  # None: unset (empty), as select_device reads it
        monkeypatch.setenv('CUDA_VISIBLE_DEVICES', value or '')

    return set_to


@no_gpu
def test_cuda_asked_without_a_gpu(visible):
    visible(None)
    with pytest.raises(DeviceError) as info:
        select_device('cuda')
    message = str(info.value)
    assert message.startswith('--device cuda asks for a GPU, but ')
    assert message.endswith('or pass --device cpu to run on the CPU')


@no_gpu
def test_visible_devices_name_a_gpu_torch_cannot_use(visible):
    visible('0')
    with pytest.raises(DeviceError, match='CUDA_VISIBLE_DEVICES=0 asks'):
        select_device('auto')


@no_gpu
def test_auto_and_cpu_run_on_the_cpu(visible):
    visible(None)
    assert select_device('auto') == 'cpu'
    assert select_device('cpu') == 'cpu'
    assert os.environ['CUDA_VISIBLE_DEVICES'] == ''  # children too


@no_gpu
@pytest.mark.slow
def test_train_with_cuda_asked_stops_before_any_work(tmp_path):
    work = tmp_path / 'work'
    result = run_tool([
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir',
        str(work), '--device', 'cuda'
    ])
    assert result.returncode == 1
    assert 'error: --device cuda asks for a GPU' in result.stderr
    assert not work.exists()
