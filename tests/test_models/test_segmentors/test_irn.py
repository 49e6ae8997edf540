import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_cobra.models.utils import (pair_differences, pair_labels,
                                      pair_offsets)


def test_pair_differences():
    field = torch.arange(12.).view(1, 1, 3, 4)
    diff = pair_differences(field, radius=2)
    right = pair_offsets(2).index((0, 1))
    down = pair_offsets(2).index((1, 0))
    assert diff[0, 0, right, 0, 0] == -1  # f(0,0) - f(0,1)
    assert diff[0, 0, down, 0, 0] == -4  # f(0,0) - f(1,0)


def test_irn_losses_and_gradients():
    cfg = Config.fromfile(f'{REPO}/configs/irn/irn_r18_synthetic.py')
    cfg.model.with_displacement = True  # the demo config leaves it out
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    label = np.zeros((16, 16), np.uint8)
    label[4:12, 4:12] = 2
    label[0, :] = 255
    sample = SegDataSample()
    sample.aff_labels = torch.from_numpy(pair_labels(label, radius=5))
    losses = model.loss(torch.randn(1, 3, 64, 64), [sample])
    assert set(losses) == {
        'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg', 'loss_disp_fg',
        'loss_disp_bg'
    }
    sum(losses.values()).backward()
    for name in ('boundary_head.weight', 'disp_head.1.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    boundary, disp = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert boundary.shape == (1, 1, 16, 16) and disp.shape == (1, 2, 16, 16)


def _tiny_irn(with_displacement=True, **test_cfg):
    cfg = Config.fromfile(f'{REPO}/configs/irn/irn_r18_synthetic.py')
    cfg.model.test_cfg.update(test_cfg)
    cfg.model.with_displacement = with_displacement
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _direct_irn_total(boundary, disp, label, radius):
    """IRN's train_irn.py total, evaluated pair by pair in plain Python:
    (bg_pos/2 + fg_pos/2 + neg)/2 + (dp_fg + dp_bg)/2, with IRN's paths."""
    import math
    h, w = label.shape
    sums = dict(
        bg=[0.0, 0], fg=[0.0, 0], neg=[0.0, 0], dfg=[0.0, 0], dbg=[0.0, 0])
    offsets = [(0, x) for x in range(1, radius)] + [
        (y, x) for y in range(1, radius)
        for x in range(-radius + 1, radius) if x * x + y * y < radius * radius
    ]
    for dy, dx in offsets:
        path = [(y, x) for y in range(min(0, dy),
                                      max(0, dy) + 1)
                for x in range(min(0, dx),
                               max(0, dx) + 1)
                if (dy * x - dx * y)**2 / (dy * dy + dx * dx) < 1]
        for y in range(h):
            for x in range(w):
                ty, tx = y + dy, x + dx
                if not (0 <= ty < h and 0 <= tx < w):
                    continue
                a, b = int(label[y, x]), int(label[ty, tx])
                if a == 255 or b == 255:
                    continue
                aff = 1 - max(
                    float(boundary[y + py, x + px]) for py, px in path)
                if a == b:
                    key = 'bg' if a == 0 else 'fg'
                    sums[key][0] += -math.log(aff + 1e-5)
                    sums[key][1] += 1
                    ddy = float(disp[0, y, x] - disp[0, ty, tx])
                    ddx = float(disp[1, y, x] - disp[1, ty, tx])
                    if a == 0:
                        err = (abs(ddy) + abs(ddx)) / 2
                        sums['dbg'][0] += err
                        sums['dbg'][1] += 1
                    else:
                        err = (abs(ddy - dy) + abs(ddx - dx)) / 2
                        sums['dfg'][0] += err
                        sums['dfg'][1] += 1
                else:
                    sums['neg'][0] += -math.log(1 + 1e-5 - aff)
                    sums['neg'][1] += 1
    m = {k: s / (n + 1e-5) for k, (s, n) in sums.items()}
    return (m['bg'] / 2 + m['fg'] / 2 + m['neg']) / 2 + (m['dfg'] +
                                                         m['dbg']) / 2


def test_irn_total_loss_is_irns_weighting():
    model = _tiny_irn()
    model.eval()  # same features for both evaluations
    label = np.zeros((16, 16), np.uint8)
    label[3:10, 4:12] = 2
    label[11:, 2:6] = 1
    label[0, :] = 255
    sample = SegDataSample()
    sample.aff_labels = torch.from_numpy(pair_labels(label, radius=5))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        losses = model.loss(x, [sample])
        logits, disp = model(x, mode='tensor')
    want = _direct_irn_total(
        torch.sigmoid(logits[0, 0]).double(),
        disp[0].double(),
        label,
        radius=5)
    assert sum(losses.values()).item() == pytest.approx(want, rel=1e-4)


def test_boundary_branch_upsamples_before_relu():
    import torch.nn as nn
    import torch.nn.functional as F
    model = _tiny_irn()
    factors = [s // 4 for s in model.feature_strides]
    assert factors == [1, 1, 2, 4, 4]  # strides (1, 2, 2, 1) as IRN
    for block, factor in zip(model.boundary_convs, factors):
        kinds = [type(m) for m in block]
        want = [nn.Conv2d, nn.GroupNorm
                ] + ([nn.Upsample] if factor > 1 else []) + [nn.ReLU]
        assert kinds == want
    # numerically: conv, GN, exact x4 bilinear, then ReLU
    block = model.boundary_convs[3]
    feat = torch.randn(1, block[0].in_channels, 4, 4)
    with torch.no_grad():
        want = F.relu(
            F.interpolate(
                block[1](block[0](feat)),
                scale_factor=4,
                mode='bilinear',
                align_corners=False))
        assert torch.allclose(block(feat), want)


def test_predict_geometry_pads_to_output_stride_and_crops():
    model = _tiny_irn(crf=False, keep_walk=True, seed_grid='from_image').eval()
    image = torch.randn(3, 50, 70)
    sample = SegDataSample()
    cams = torch.zeros(1, 50, 70)
    cams[0, 10:40, 20:60] = 1.0
    sample.seed_cams = cams
    sample.seed_keys = torch.tensor([2])
    with torch.no_grad():
        boundary = model.boundary_map(image)
        out = model.predict(image[None], [sample])[0]
    assert boundary.shape == (13, 18)  # ceil(50/4), ceil(70/4)
    assert out.pred_sem_seg.shape == (50, 70)
    assert out.walk_cams.shape == (1, 13, 18)
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 3}
    # the same as padding the image and its flip by hand (bottom/right,
    # to 64 x 80), cropping the logits to the grid, flipping one back
    pad = torch.nn.functional.pad
    batch = torch.stack(
        [pad(image, (0, 10, 0, 14)),
         pad(image.flip(-1), (0, 10, 0, 14))])
    with torch.no_grad():
        logits = model.boundary_logits(batch)[:, 0, :13, :18]
    hand = torch.sigmoid((logits[0] + logits[1].flip(-1)) / 2)
    assert torch.allclose(boundary, hand, atol=1e-5)


def test_seed_grid_round_trip_keeps_edges_in_place():
    from mmseg_cobra.models.utils import grid_to_image, seeds_to_grid
    cams = torch.zeros(1, 50, 70)
    cams[0, :, :40] = 1.0  # a step between columns 39 and 40
    grid = seeds_to_grid(cams)
    assert grid.shape == (1, 13, 18)
    # cell j samples the centre of pixels 4j..4j+3 (4j + 1.5)
    assert grid[0, 0, :10].min() == 1.0 and grid[0, 0, 10:].max() == 0.0
    # IRN's exact x4 + crop: the step does not move
    back = grid_to_image(grid, (50, 70), mode='stride')[0, 0]
    assert back.shape == (70, )
    assert back[39] > 0.5 > back[40]
    assert back[39] == pytest.approx(0.625) and back[40] == pytest.approx(
        0.375)
    # the reference's straight resize (72 -> 70 columns): it moves by under
    # a pixel here, up to 3 at the bottom/right edge
    back = grid_to_image(grid, (50, 70))[0, 0]
    step = int((back > 0.5).sum())
    assert abs(step - 40) <= 1


def test_mask_rules_against_direct_evaluation():
    from mmseg_cobra.models.utils import irn_mask_rule, reference_mask_rule
    g = torch.Generator().manual_seed(0)
    walked = torch.rand(
        3, 6, 7, generator=g) * torch.tensor([1.0, 0.5, 2.0])[:, None, None]
    got_ref = reference_mask_rule(walked, 0.31)
    got_irn = irn_mask_rule(walked, 0.25)
    peak = float(walked.max())
    for y in range(6):
        for x in range(7):
            kept = []
            for c in range(3):
                v = float(walked[c, y, x])
                thr = 0.31 * float(walked[c].max()) + float(walked[c].min())
                kept.append(v if v >= thr else 0.0)
            scores = [0.0] + kept
            assert got_ref[y, x] == max(
                range(4), key=lambda i: (scores[i], -i))
            scores = [0.25] + [float(walked[c, y, x]) / peak for c in range(3)]
            assert got_irn[y, x] == max(
                range(4), key=lambda i: (scores[i], -i))


def test_random_crop_pad_places_small_images_on_mean_colour():
    from mmseg_cobra.datasets.transforms import RandomCropPad
    np.random.seed(0)
    img = np.full((20, 50, 3), 7, np.uint8)
    seg = np.ones((20, 50), np.uint8)
    offsets = set()
    for _ in range(20):
        out = RandomCropPad(crop_size=(32, 32)).transform(
            dict(img=img.copy(), gt_seg_map=seg.copy()))
        im, lb = out['img'], out['gt_seg_map']
        assert im.shape == (32, 32, 3) and lb.shape == (32, 32)
        rows = np.where((im == 7).all(axis=(1, 2)))[0]
        assert len(rows) == 20  # the whole height, somewhere
        offsets.add(int(rows[0]))
        pad = im[(lb == 255)]
        assert (pad == np.array([104, 116, 124], np.uint8)).all()  # BGR mean
        assert ((lb == 1) == (im == 7).all(axis=2)).all()
    assert len(offsets) > 3  # a random offset, not always the top


@pytest.mark.parametrize('size,canvas', [((50, 70), (512, 512)),
                                         ((530, 70), (544, 512))])
def test_boundary_map_on_irns_512_canvas(size, canvas):
    """pad_size=512 (IRN's EdgeDisplacement): image and flip padded to a
    512 x 512 canvas (larger images: to the output stride); the boundary
    branch's GroupNorm sees the whole canvas, so the map differs from the
    one padded to the output stride only."""
    model = _tiny_irn(pad_size=512).eval()
    height, width = size
    image = torch.randn(3, height, width)
    pad = (0, canvas[1] - width, 0, canvas[0] - height)
    batch = torch.stack([
        torch.nn.functional.pad(image, pad),
        torch.nn.functional.pad(image.flip(-1), pad)
    ])
    grid = (-(-height // 4), -(-width // 4))
    with torch.no_grad():
        boundary = model.boundary_map(image)
        logits = model.boundary_logits(batch)[:, 0, :grid[0], :grid[1]]
        stride_only = _tiny_irn(pad_size=None).eval()
        stride_only.load_state_dict(model.state_dict())
        other = stride_only.boundary_map(image)
    hand = torch.sigmoid((logits[0] + logits[1].flip(-1)) / 2)
    assert boundary.shape == grid
    torch.testing.assert_close(boundary, hand, atol=1e-5, rtol=0)
    assert (boundary - other).abs().max() > 1e-3


def test_walk_starts_from_the_seed_stage_grid_maps():
    """seed_grid='per_scale' walks the seed file's grid maps; a file
    without them is refused with the fix; 'from_image' puts the image-size
    seeds on the grid itself."""
    from mmseg_cobra.models.utils import random_walk, seeds_to_grid
    image = torch.randn(3, 50, 70)
    cams = torch.zeros(1, 50, 70)
    cams[0, 10:40, 20:60] = 1.0
    grid = torch.rand(1, 13, 18)
    sample = SegDataSample(metainfo=dict(img_path='x.jpg'))
    sample.seed_cams = cams
    sample.seed_keys = torch.tensor([2])
    model = _tiny_irn(crf=False, keep_walk=True).eval()
    with pytest.raises(
            ValueError, match="x.jpg has no grid maps.*"
            "seed_grid='from_image'"):
        model.predict(image[None], [sample])
    sample.seed_cams_grid = grid
    with torch.no_grad():
        out = model.predict(image[None], [sample])[0]
        boundary = model.boundary_map(image)
        want = random_walk(grid, boundary)
        torch.testing.assert_close(out.walk_cams, want / want.max())
        model.test_cfg['seed_grid'] = 'from_image'
        out = model.predict(image[None], [sample])[0]
        want = random_walk(seeds_to_grid(cams), boundary)
        torch.testing.assert_close(out.walk_cams, want / want.max())
    with pytest.raises(ValueError, match='test_cfg.seed_grid'):
        _tiny_irn(seed_grid='nearest')


def test_walk_upsampling_resize_and_stride():
    from mmseg_cobra.models.utils import grid_to_image
    maps = torch.rand(2, 13, 18)
    resized = grid_to_image(maps, (50, 70))
    want = torch.nn.functional.interpolate(
        maps[None], size=(50, 70), mode='bilinear', align_corners=False)[0]
    torch.testing.assert_close(resized, want)
    strided = grid_to_image(maps, (50, 70), mode='stride')
    want = torch.nn.functional.interpolate(
        maps[None], scale_factor=4, mode='bilinear',
        align_corners=False)[0, :, :50, :70]
    torch.testing.assert_close(strided, want)
    with pytest.raises(ValueError, match='walk upsampling'):
        grid_to_image(maps, (50, 70), mode='nearest')


@pytest.mark.parametrize('rule', ['irn', 'reference'])
def test_mask_rule_sweep_equals_the_rule_at_every_value(rule):
    """The report's all-values-at-once sweep gives each value's labels
    exactly, ties included (quantised maps, a map of zeros, equal maps)."""
    from mmseg_cobra.models.utils import apply_mask_rule, mask_rule_sweep
    g = torch.Generator().manual_seed(1)
    walked = (torch.rand(4, 9, 11, generator=g) * 8).round() / 8
    walked[1] = walked[0]  # equal maps: ties go to the lower index
    walked[3] = 0  # a class the walk never reached
    values = [i / 20 for i in range(1, 20)] + [0.31]
    swept = mask_rule_sweep(walked, rule, values)
    assert len(swept) == len(values)
    for v, label in zip(values, swept):
        assert torch.equal(label, apply_mask_rule(walked, rule, v)), v
    # one class: the single-map case of most images
    for v, label in zip(values, mask_rule_sweep(walked[2:3], rule, values)):
        assert torch.equal(label, apply_mask_rule(walked[2:3], rule, v)), v
    with pytest.raises(ValueError, match='unknown mask rule'):
        mask_rule_sweep(walked, 'otsu', values)
