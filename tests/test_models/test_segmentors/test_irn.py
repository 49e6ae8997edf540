import numpy as np
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from conftest import REPO
from mmseg_cobra.models.utils import pair_differences, pair_labels, pair_offsets


def test_pair_differences():
    field = torch.arange(12.).view(1, 1, 3, 4)
    diff = pair_differences(field, radius=2)
    right = pair_offsets(2).index((0, 1))
    down = pair_offsets(2).index((1, 0))
    assert diff[0, 0, right, 0, 0] == -1  # f(0,0) - f(0,1)
    assert diff[0, 0, down, 0, 0] == -4  # f(0,0) - f(1,0)


def test_irn_losses_and_gradients():
    cfg = Config.fromfile(f'{REPO}/configs/irn/irn_r18_synthetic.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    label = np.zeros((16, 16), np.uint8)
    label[4:12, 4:12] = 2
    label[0, :] = 255
    sample = SegDataSample()
    sample.aff_labels = torch.from_numpy(pair_labels(label, radius=5))
    losses = model.loss(torch.randn(1, 3, 64, 64), [sample])
    assert set(losses) == {'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg',
                           'loss_disp_fg', 'loss_disp_bg'}
    sum(losses.values()).backward()
    for name in ('boundary_head.weight', 'disp_head.1.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    boundary, disp = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert boundary.shape == (1, 1, 16, 16) and disp.shape == (1, 2, 16, 16)
