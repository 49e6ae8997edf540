"""CAP / SAP against a direct, loop-based evaluation of paper Eq. 1 and 2."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_cobra.models.losses import CAPLoss, SAPLoss


def _info_nce_direct(v, i, positives, negatives, tau):
    """Eq. 1/2 for one target patch, in plain Python floats."""

    def dot(a, b):
        return sum(x * y for x, y in zip(v[a], v[b]))

    neg_sum = sum(math.exp(dot(i, k) / tau) for k in negatives)
    terms = []
    for j in positives:
        e = math.exp(dot(i, j) / tau)
        terms.append(-math.log(e / (e + neg_sum)))
    return sum(terms) / len(terms)


def _info_nce_direct_stable(v, i, positives, negatives, tau):
    """The same, written as -log(e_j / (e_j + sum_k e_k)) = log(1 + sum_k
    exp((s_k - s_j) / tau)) with the largest exponent taken out, so it holds
    at any temperature."""

    def dot(a, b):
        return sum(x * y for x, y in zip(v[a], v[b]))

    terms = []
    for j in positives:
        exps = [0.0] + [(dot(i, k) - dot(i, j)) / tau for k in negatives]
        top = max(exps)
        terms.append(top + math.log(sum(math.exp(x - top) for x in exps)))
    return sum(terms) / len(terms)


def _ranked(values, largest):
    order = sorted(
        range(len(values)), key=lambda j: values[j], reverse=largest)
    return order


def direct_sap(embed, score, pseudo, k_pos, k_neg, tau, nce=_info_nce_direct):
    b_size, n, _ = embed.shape
    losses = []
    for b in range(b_size):
        v = embed[b].tolist()
        for i in range(n):
            c = int(pseudo[b, i])
            row = score[b, c].tolist()
            pos = _ranked(row, True)[:k_pos]
            neg = _ranked(row, False)[:k_neg]
            losses.append(nce(v, i, pos, neg, tau))
    return sum(losses) / len(losses)


def direct_cap(embed, affinity, k_pos, k_neg, tau, nce=_info_nce_direct):
    b_size, n, _ = embed.shape
    losses = []
    for b in range(b_size):
        v = embed[b].tolist()
        for i in range(n):
            row = affinity[b, i].tolist()
            pos = _ranked(row, True)[:k_pos]
            neg = _ranked(row, False)[:k_neg]
            losses.append(nce(v, i, pos, neg, tau))
    return sum(losses) / len(losses)


@pytest.fixture
def inputs():
    g = torch.Generator().manual_seed(0)
    b, n, d, c = 2, 36, 16, 5
    embed = F.normalize(
        torch.randn(b, n, d, generator=g, dtype=torch.float64), dim=2)
    score = torch.rand(b, c, n, generator=g, dtype=torch.float64)
    pseudo = torch.randint(0, c, (b, n), generator=g)
    affinity = torch.rand(b, n, n, generator=g, dtype=torch.float64)
    return embed, score, pseudo, affinity


@pytest.mark.parametrize('k_pos,k_neg', [(20, 5), (3, 7)])
def test_sap_matches_equation_2(inputs, k_pos, k_neg):
    embed, score, pseudo, _ = inputs
    loss = SAPLoss(k_pos=k_pos, k_neg=k_neg, tau=0.1, loss_weight=1.0)
    got = loss(embed, score, pseudo).item()
    want = direct_sap(embed, score, pseudo, k_pos, k_neg, 0.1)
    assert got == pytest.approx(want, abs=1e-5)


@pytest.mark.parametrize('k_pos,k_neg', [(5, 20), (8, 3)])
def test_cap_matches_equation_1(inputs, k_pos, k_neg):
    embed, _, _, affinity = inputs
    loss = CAPLoss(k_pos=k_pos, k_neg=k_neg, tau=0.1, loss_weight=1.0)
    got = loss(embed, affinity).item()
    want = direct_cap(embed, affinity, k_pos, k_neg, 0.1)
    assert got == pytest.approx(want, abs=1e-5)


def test_sum_reduction_and_weight(inputs):
    embed, _, _, affinity = inputs
    mean = CAPLoss(loss_weight=1.0)(embed, affinity)
    summed = CAPLoss(loss_weight=0.5, reduction='sum')(embed, affinity)
    assert summed.item() == pytest.approx(
        0.5 * mean.item() * embed.shape[1], rel=1e-9)


def test_stable_at_tiny_temperature(inputs):
    embed, score, pseudo, affinity = inputs
    tau = 1e-4  # exp(similarity / tau) overflows float64 here
    got_sap = SAPLoss(tau=tau, loss_weight=1.0)(embed, score, pseudo)
    got_cap = CAPLoss(tau=tau, loss_weight=1.0)(embed, affinity)
    stable = _info_nce_direct_stable
    assert got_sap.item() == pytest.approx(
        direct_sap(embed, score, pseudo, 20, 5, tau, stable), rel=1e-6)
    assert got_cap.item() == pytest.approx(
        direct_cap(embed, affinity, 5, 20, tau, stable), rel=1e-6)


def test_guides_get_no_gradient(inputs):
    embed, score, pseudo, affinity = inputs
    embed = embed.clone().requires_grad_()
    score = score.clone().requires_grad_()
    affinity = affinity.clone().requires_grad_()
    (SAPLoss()(embed, score, pseudo) + CAPLoss()(embed, affinity)).backward()
    assert embed.grad is not None and embed.grad.abs().sum() > 0
    assert score.grad is None
    assert affinity.grad is None


def test_k_larger_than_patches_is_refused(inputs):
    embed, score, pseudo, affinity = inputs
    with pytest.raises(ValueError, match='exceed'):
        SAPLoss(k_pos=100)(embed, score, pseudo)
    with pytest.raises(ValueError, match='exceed'):
        CAPLoss(k_neg=100)(embed, affinity)
