import torch
import torch.nn.functional as F

from mmseg_cobra.models.losses import CAMConsistencyLoss


def test_l1_terms_against_direct_formula():
    g = torch.Generator().manual_seed(1)
    cnn = torch.randn(2, 4, 3, 3, generator=g)
    vit = torch.randn(2, 4, 3, 3, generator=g)
    labels = torch.tensor([[1., 0., 0.], [0., 1., 1.]])

    def up(x):
        return F.interpolate(x, (12, 12), mode='bilinear', align_corners=False)

    diff = (up(cnn) - up(vit)).abs()
    full = diff.mean()
    positive = torch.stack(
        [diff[0, 1].mean(), diff[1, 2].mean(), diff[1, 3].mean()]).mean()

    paper = CAMConsistencyLoss(positive_term=True, loss_weight=1.0)
    reference = CAMConsistencyLoss(positive_term=False, loss_weight=0.1)
    assert torch.allclose(paper(cnn, vit, labels, (12, 12)), full + positive)
    assert torch.allclose(reference(cnn, vit, labels, (12, 12)), 0.1 * full)


def test_gradient_reaches_both_maps():
    cnn = torch.randn(1, 3, 2, 2, requires_grad=True)
    vit = torch.randn(1, 3, 2, 2, requires_grad=True)
    CAMConsistencyLoss()(cnn, vit, torch.tensor([[1., 0.]]), (8, 8)).backward()
    assert cnn.grad.abs().sum() > 0 and vit.grad.abs().sum() > 0
