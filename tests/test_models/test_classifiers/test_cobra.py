import numpy as np
import pytest
import torch
from conftest import build_tiny_cobra as build_tiny
from conftest import label_samples as samples

from mmseg_cobra.models import CoBra


@pytest.mark.parametrize('size,grid', [((128, 128), (8, 8)),
                                       ((160, 224), (10, 14))])
def test_output_shapes(size, grid):
    model = build_tiny().eval()
    with torch.no_grad():
        out = model.extract(torch.randn(2, 3, *size))
    n = grid[0] * grid[1]
    assert out['cam_cnn'].shape == (2, 5, *grid)
    assert out['cam_vit'].shape == (2, 5, *grid)
    assert out['proj_cnn'].shape == (2, 64, *grid)
    assert out['proj_vit'].shape == (2, 64, *grid)
    assert out['patch_affinity'].shape == (2, n, n)
    assert out['attn_cls2patch'].shape == (2, *grid)


def test_attention_rows_are_distributions():
    model = build_tiny().eval()
    with torch.no_grad():
        _, attn, _ = model.vit(torch.randn(1, 3, 64, 64))
    assert attn.shape == (1, 2, 17, 17)  # 2 layers, 1 + 4x4 tokens
    assert torch.allclose(attn.sum(-1), torch.ones(1, 2, 17), atol=1e-5)


def test_attention_matches_mmpretrain_forward():
    """The explicit attention reproduces the backbone's own tokens."""
    model = build_tiny().eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        tokens, _, _ = model.vit(x)
        model.vit.out_type = 'raw'
        reference = super(type(model.vit), model.vit).forward(x)[-1]
    assert torch.allclose(tokens, reference, atol=1e-5)


def test_pseudo_labels_never_name_an_absent_class():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 4, 4, generator=g) - 5.0
    logits[:, 2] += 20.0  # class index 2 (fg class 1) dominates everywhere
    labels = torch.tensor([[1., 0., 0., 0.], [0., 0., 1., 1.],
                           [0., 0., 0., 0.]])
    score, pseudo = CoBra.pseudo_labels(logits, labels)
    allowed = [{0, 1}, {0, 3, 4}, {0}]
    for b in range(3):
        assert set(pseudo[b].unique().tolist()) <= allowed[b]
    assert torch.allclose(score.sum(1), torch.ones(3, 16))
    assert (score[1, [1, 2]] == 0).all()


def _grads(model):
    return {
        name: p.grad is not None and p.grad.abs().sum().item() > 0
        for name, p in model.named_parameters() if p.requires_grad
    }


def _only(grads, prefixes):
    got = {n for n, g in grads.items() if g}
    return got and all(n.startswith(prefixes) for n in got)


def test_sap_gradient_reaches_only_vit_projection_path():
    model = build_tiny()
    x = torch.randn(2, 3, 128, 128)
    labels = torch.tensor([[1., 0., 1., 0.], [0., 1., 0., 0.]])
    out = model.extract(x)
    score, pseudo = model.pseudo_labels(out['cam_cnn'], labels)
    from mmseg_cobra.models.losses import normalize_patches
    model.loss_sap(normalize_patches(out['proj_vit']), score,
                   pseudo).backward()
    grads = _grads(model)
    assert grads['vit_proj_head.weight']
    assert _only(grads, ('vit.', 'vit_proj_head.'))
    assert not grads['vit_cam_head.weight']


def test_cap_gradient_reaches_only_cnn_projection_path():
    model = build_tiny()
    x = torch.randn(2, 3, 128, 128)
    out = model.extract(x)
    from mmseg_cobra.models.losses import normalize_patches
    model.loss_cap(normalize_patches(out['proj_cnn']),
                   out['patch_affinity']).backward()
    grads = _grads(model)
    assert grads['cnn_proj_head.weight']
    assert _only(grads, ('cnn.', 'cnn_proj_head.'))
    assert not grads['cnn_cam_head.weight']


def test_loss_terms_and_switch():
    model = build_tiny()
    x = torch.randn(2, 3, 128, 128)
    data = samples([[1, 0, 1, 0], [0, 1, 0, 0]])
    model.complementary_losses_enabled = False
    assert set(model.loss(x, data)) == {'loss_cls_cnn', 'loss_cls_vit'}
    model.complementary_losses_enabled = True
    losses = model.loss(x, data)
    assert set(losses) == {
        'loss_cls_cnn', 'loss_cls_vit', 'loss_cam', 'loss_sap', 'loss_cap'
    }
    sum(losses.values()).backward()
    grads = _grads(model)
    for head in ('cnn_cam_head', 'cnn_proj_head', 'vit_cam_head',
                 'vit_proj_head'):
        assert grads[f'{head}.weight'], head


def test_wrong_label_length_is_refused():
    model = build_tiny()
    with pytest.raises(ValueError, match='num_classes=4'):
        model.loss(torch.randn(1, 3, 128, 128), samples([[1, 0, 1]]))


def test_wrong_cnn_channels_is_refused():
    model = build_tiny(cnn_channels=2048)
    with pytest.raises(ValueError, match='cnn_channels'):
        model.extract(torch.randn(1, 3, 64, 64))


def test_multiscale_flip_aggregation_with_known_cams(monkeypatch):
    import torch.nn.functional as F
    model = build_tiny().eval()
    # the tensor pyramid: a ramp of normalised values stays a ramp
    model.test_cfg = dict(scales=(0.5, 1.0, 2.0), flip=True, resize='bilinear')

    def known_cams(x):  # pixelwise in the input: equivariant to flip/scale
        cam = F.relu(x[:, :1]).repeat(1, 4, 1, 1)
        return dict(cam_cnn=cam, cam_vit=2 * cam, attn_cls2patch=x[:, 0])

    monkeypatch.setattr(model, 'cams', known_cams)
    ramp = torch.linspace(0, 1, 64)[None, None, :].expand(3, 48, 64)
    total = model.multiscale_cams(ramp.clone())
    want = 6 * ramp[0]  # 3 scales x (image + flipped image)
    inner = (slice(None), slice(4, -4), slice(4, -4))
    assert total['cam_cnn'].shape == (4, 48, 64)
    assert torch.allclose(
        total['cam_cnn'][inner],
        want[None].expand(4, -1, -1)[inner],
        atol=1e-2)
    assert torch.allclose(total['cam_vit'], 2 * total['cam_cnn'])
    assert torch.allclose(
        total['attn_cls2patch'][4:-4, 4:-4], want[4:-4, 4:-4], atol=1e-2)

    data = samples([[0, 1, 0, 1]])
    out = model.predict(ramp[None].clone(), data)[0]
    assert out.cam_keys.tolist() == [1, 3]
    assert out.cam_cnn.data.shape == (2, 48, 64)
    assert torch.allclose(
        out.cam_cnn.data.flatten(1).max(1).values, torch.ones(2))
    assert torch.allclose(
        out.cam_fuse.data,
        torch.maximum((out.cam_cnn.data + out.cam_vit.data) / 2,
                      out.cam_vit.data))


def test_real_multiscale_cams_shapes():
    model = build_tiny().eval()
    model.test_cfg = dict(scales=(0.5, 1.25), flip=True)
    with torch.no_grad():
        out = model.predict(
            torch.randn(1, 3, 100, 75), samples([[1, 0, 0, 0]]))[0]
    assert out.cam_cnn.data.shape == (1, 100, 75)
    assert out.cam_vit.data.shape == (1, 100, 75)
    assert out.attn_cls2patch.data.shape == (1, 100, 75)


def _direct_sap_by_logits(embed, logits, labels, k_pos, k_neg, tau):
    """Paper Eq. 2 as the reference evaluates it: pseudo class = argmax of
    the masked logits, positives/negatives = top/bottom raw logits of that
    class, in plain Python."""
    import math
    b_size, n, _ = embed.shape
    losses = []
    for b in range(b_size):
        keep = [0] + [c + 1 for c, v in enumerate(labels[b]) if v > 0]
        v = embed[b].tolist()
        for i in range(n):
            c = max(keep, key=lambda k: float(logits[b, k, i]))
            row = logits[b, c].tolist()
            order = sorted(range(n), key=lambda j: row[j], reverse=True)
            pos, neg = order[:k_pos], order[::-1][:k_neg]

            def dot(p, q):
                return sum(x * y for x, y in zip(v[p], v[q]))

            neg_sum = sum(math.exp(dot(i, k) / tau) for k in neg)
            losses.append(
                sum(-math.log(
                    math.exp(dot(i, j) / tau) /
                    (math.exp(dot(i, j) / tau) + neg_sum))
                    for j in pos) / len(pos))
    return sum(losses) / len(losses)


def test_sap_ranks_by_raw_cnn_logits_even_when_softmax_saturates(monkeypatch):
    import torch.nn.functional as F
    model = build_tiny()
    b, h, w = 2, 8, 8
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([[1., 0., 1., 0.], [0., 1., 0., 0.]])
    # class 1 leads every other logit by > 17 everywhere: its softmax is
    # exactly 1.0 in float32 at every patch, but its logits are all distinct
    cam_cnn = torch.randn(b, 5, h, w, generator=g)
    cam_cnn[:, 1] = 40 + torch.rand(b, h, w, generator=g) * 10
    cam_cnn[1, 2] = 40 + torch.rand(h, w, generator=g) * 10
    prob, _ = model.pseudo_labels(cam_cnn, labels)
    assert (prob.max(dim=1).values == 1.0).float().mean() > 0.9  # saturated
    fake = dict(
        cam_cnn=cam_cnn,
        cam_vit=torch.randn(b, 5, h, w, generator=g),
        proj_cnn=torch.randn(b, 16, h, w, generator=g),
        proj_vit=torch.randn(b, 16, h, w, generator=g),
        patch_affinity=torch.rand(b, h * w, h * w, generator=g),
        attn_cls2patch=torch.rand(b, h, w, generator=g))
    monkeypatch.setattr(model, 'extract', lambda x: fake)
    model.complementary_losses_enabled = True
    sap = model.loss_sap
    got = model.loss(torch.zeros(b, 3, 128, 128),
                     samples(labels.tolist()))['loss_sap'].item()
    embed = F.normalize(fake['proj_vit'].flatten(2).transpose(1, 2), dim=2)
    want = sap.loss_weight * _direct_sap_by_logits(embed.double(),
                                                   cam_cnn.flatten(2).double(),
                                                   labels.tolist(), sap.k_pos,
                                                   sap.k_neg, sap.tau)
    assert got == pytest.approx(want, rel=1e-4)
    # ranking by the saturated probabilities picks other patches
    model.loss_sap.rank_by = 'prob'
    by_prob = model.loss(
        torch.zeros(b, 3, 128, 128),
        samples(labels.tolist()))['loss_sap'].item()
    assert by_prob != pytest.approx(want, rel=1e-4)


def test_guide_quality_against_direct_count():
    model = build_tiny()
    g = torch.Generator().manual_seed(3)
    b, h, w, c1 = 2, 4, 4, 5
    n = h * w
    gt = torch.randint(0, c1, (b, h * 16, w * 16), generator=g)
    gt[0, :16, :16] = 255  # an unknown patch
    affinity = torch.rand(b, n, n, generator=g)
    score = torch.randn(b, c1, n, generator=g)
    pseudo = torch.randint(0, c1, (b, n), generator=g)
    model.loss_cap.k_pos, model.loss_sap.k_pos = 3, 4
    model.loss_cap.k_neg, model.loss_sap.k_neg = 2, 2
    got = model.guide_quality(gt, affinity, score, pseudo, (h, w))
    patch = gt[:, 8::16, 8::16].reshape(b, n)  # label at each patch centre
    cap_hit = cap_all = sap_hit = sap_all = 0
    cap_ch = sap_ch = known_n = 0.0
    for i in range(b):
        labels = patch[i].tolist()
        known = [j for j in range(n) if labels[j] != 255]
        for p in known:
            top = sorted(range(n), key=lambda j: -float(affinity[i, p, j]))[:3]
            top = [j for j in top if labels[j] != 255]
            cap_all += len(top)
            cap_hit += sum(labels[j] == labels[p] for j in top)
            cls = int(pseudo[i, p])
            top = sorted(range(n), key=lambda j: -float(score[i, cls, j]))[:4]
            top = [j for j in top if labels[j] != 255]
            sap_all += len(top)
            sap_hit += sum(labels[j] == cls for j in top)
            cap_ch += sum(labels[j] == labels[p] for j in known) / len(known)
            sap_ch += sum(labels[j] == cls for j in known) / len(known)
            known_n += 1
    assert got['guide_cap_prec'].item() == pytest.approx(cap_hit / cap_all)
    assert got['guide_sap_prec'].item() == pytest.approx(sap_hit / sap_all)
    assert got['guide_cap_chance'].item() == pytest.approx(cap_ch / known_n)
    assert got['guide_sap_chance'].item() == pytest.approx(sap_ch / known_n)


def test_pil_pyramid_is_the_reference_input():
    """Each scale is the uint8 image rescaled by PIL (bicubic, antialiased
    when shrinking; IRN's pil_rescale sizes), normalised afterwards."""
    from PIL import Image
    model = build_tiny().eval()
    model.test_cfg = dict(
        scales=(0.5, 1.0, 1.25), flip=True, resize='pil_bicubic')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)
    pre = model.data_preprocessor
    x = (torch.from_numpy(rgb).permute(2, 0, 1).float() - pre.mean) / pre.std
    levels = model.pyramid(x)
    assert [tuple(v.shape[-2:]) for v in levels] == [(18, 25), (37, 50),
                                                     (46, 62)]
    for level, scale in zip(levels, (0.5, 1.0, 1.25)):
        size = (int(np.round(37 * scale)), int(np.round(50 * scale)))
        want = np.asarray(
            Image.fromarray(rgb).resize(size[::-1], Image.BICUBIC))
        got = (level[0] * pre.std + pre.mean).round().permute(1, 2, 0)
        assert np.array_equal(got.numpy().astype(np.uint8), want)
    # without a normalising preprocessor the PIL pyramid cannot be made
    plain = build_tiny(
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=None, std=None))
    with pytest.raises(ValueError, match="resize='bilinear'"):
        plain.pyramid(x)
    with pytest.raises(ValueError, match='test_cfg.resize'):
        build_tiny(test_cfg=dict(resize='nearest'))


def test_cam_normalisation_divides_by_max_plus_eps():
    cams = torch.tensor([[[2.0, 1.0]], [[0.0, 0.0]], [[5.0, 4.0]]])
    out = CoBra.normalize_cams(cams, torch.tensor([1.0, 1.0, 0.0]))
    assert torch.equal(out,
                       torch.stack([cams[0] / (2.0 + 1e-5), cams[1] / 1e-5]))
