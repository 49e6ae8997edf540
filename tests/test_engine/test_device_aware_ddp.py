"""DeviceAwareDistributedDataParallel: CPU modules wrapped (no device_ids),
buffers not broadcast on every forward pass (mmengine's default wrapper)."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn

from mmseg_cobra.engine.model_wrappers import \
    DeviceAwareDistributedDataParallel


@pytest.fixture
def process_group(tmp_path):
    store = dist.FileStore(str(tmp_path / 'store'), 1)
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_cpu_module_and_buffer_broadcast(process_group):
    module = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    wrapped = DeviceAwareDistributedDataParallel(
        module, device_ids=[int(os.environ.get('LOCAL_RANK', 0))])
    assert wrapped.device_ids is None  # dropped for a CPU module
    assert wrapped.broadcast_buffers is False
    explicit = DeviceAwareDistributedDataParallel(
        nn.Sequential(nn.BatchNorm2d(4)), broadcast_buffers=True)
    assert explicit.broadcast_buffers is True
    out = wrapped(torch.randn(2, 3, 5, 5))
    assert out.shape == (2, 4, 5, 5)
