"""Half precision on the CPU: the CoBra objective, the IRN loss, seed
inference and the random walk under ``torch.autocast``, each against the
float32 value computed here. What must stay in float32 (the InfoNCE
similarities, the classification and consistency losses, the walk) is
cast explicitly in the code; these tests check that it is."""
import numpy as np
import pytest
import torch
from conftest import REPO
from conftest import build_tiny_cobra as _cobra
from conftest import label_samples as _samples
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_cobra.models.losses.patch_contrastive import (normalize_patches,
                                                         patch_info_nce)
from mmseg_cobra.models.utils import random_walk


def _cpu_autocast_dtypes():
    dtypes = [torch.bfloat16]
    try:
        with torch.autocast('cpu', dtype=torch.float16):
            torch.ones(2, 2) @ torch.ones(2, 2)
        dtypes.append(torch.float16)
    except RuntimeError:  # pragma: no cover - depends on the torch build
        pass
    return dtypes


DTYPES = _cpu_autocast_dtypes()
#: relative tolerance of a loss against float32: bfloat16 keeps 8 bits of
#: mantissa (2 significant digits), float16 11
RTOL = {torch.bfloat16: 2e-2, torch.float16: 2e-3}


@pytest.mark.parametrize('dtype', DTYPES)
def test_cobra_objective_under_autocast(dtype):
    model = _cobra().train()
    model.complementary_losses_enabled = True
    torch.manual_seed(1)
    x = torch.randn(4, 3, 128, 128)
    data = _samples([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1], [1, 0, 0, 1]])
    with torch.no_grad():
        full = model.loss(x, data)
        with torch.autocast('cpu', dtype=dtype):
            half = model.loss(x, data)
    assert set(full) == set(half)
    for key in full:
        # the losses are computed in float32 from half-precision features
        assert half[key].dtype == torch.float32, key
        assert torch.isfinite(half[key]), key
        torch.testing.assert_close(
            half[key], full[key], rtol=RTOL[dtype], atol=1e-3, msg=key)


@pytest.mark.parametrize('dtype', DTYPES)
def test_info_nce_similarities_stay_float32(dtype):
    """Under autocast the InfoNCE is the float32 one exactly (no overflow
    in the sums over negatives, no rounding of the similarities)."""
    torch.manual_seed(0)
    embed = normalize_patches(torch.randn(2, 32, 8, 8))
    pos = torch.randint(0, 64, (2, 64, 5))
    neg = torch.randint(0, 64, (2, 64, 20))
    want = patch_info_nce(embed, pos, neg, tau=0.01)
    with torch.autocast('cpu', dtype=dtype):
        got = patch_info_nce(embed, pos, neg, tau=0.01)
        from_half = patch_info_nce(embed.to(dtype), pos, neg, tau=0.01)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    # half-precision embeddings: rounded inputs, float32 arithmetic, finite
    # even at tau = 0.01 (exp(100) would overflow a float16 sum)
    assert from_half.dtype == torch.float32
    assert torch.isfinite(from_half).all()
    torch.testing.assert_close(from_half, want, rtol=RTOL[dtype], atol=0.2)


@pytest.mark.parametrize('dtype', DTYPES)
def test_irn_loss_and_walk_under_autocast(dtype):
    cfg = Config.fromfile(f'{REPO}/configs/irn/irn_r18_synthetic.py')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    from mmseg_cobra.models.utils import pair_labels
    torch.manual_seed(2)
    x = torch.randn(2, 3, 64, 64)
    label = np.zeros((16, 16), np.int64)
    label[4:12, 4:12] = 1
    label[0:2] = 255
    data = []
    for _ in range(2):
        s = SegDataSample()
        s.aff_labels = torch.from_numpy(pair_labels(label, model.train_radius))
        data.append(s)
    with torch.no_grad():
        full = model.loss(x, data)
        with torch.autocast('cpu', dtype=dtype):
            half = model.loss(x, data)
    for key in full:
        assert torch.isfinite(half[key]), key
        torch.testing.assert_close(
            half[key].float(), full[key], rtol=RTOL[dtype], atol=1e-2, msg=key)
    # the walk: float32 whatever the inputs' precision
    boundary = torch.rand(16, 16)
    cams = torch.rand(2, 16, 16)
    model.eval()
    with torch.autocast('cpu', dtype=dtype):
        got = model.propagate(None, boundary.to(dtype), grid=cams.to(dtype))
    want = random_walk(cams.to(dtype).float(), boundary.to(dtype).float())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want / want.max(), rtol=0, atol=1e-6)


@pytest.mark.parametrize('dtype', DTYPES)
def test_seed_inference_under_autocast(dtype):
    model = _cobra().eval()
    model.test_cfg = dict(scales=(0.75, 1.0), flip=True, resize='bilinear')
    torch.manual_seed(3)
    image = torch.randn(3, 96, 120)
    label = torch.tensor([1.0, 0.0, 1.0, 0.0])
    with torch.no_grad():
        full = model.multiscale_cams(image)
        with torch.autocast('cpu', dtype=dtype):
            half = model.multiscale_cams(image)
    for key in ('cam_cnn', 'cam_vit'):
        a = model.normalize_cams(full[key], label)
        b = model.normalize_cams(half[key].float(), label)
        # max-normalised maps in [0, 1]: an absolute tolerance
        assert (a - b).abs().max() < (0.06 if dtype == torch.bfloat16 else
                                      0.01), key
