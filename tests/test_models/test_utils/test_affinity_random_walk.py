import numpy as np
import pytest
import torch

from mmseg_cobra.models.utils import (boundary_to_affinity, pair_labels,
                                      pair_offsets, random_walk,
                                      sparse_transition)


def test_offsets_cover_each_pair_once():
    offsets = pair_offsets(3)
    assert (0, 1) in offsets and (1, -2) in offsets
    assert (0, -1) not in offsets and (0, 0) not in offsets
    assert len(offsets) == len(set(offsets))
    for dy, dx in offsets:
        assert (-dy, -dx) not in offsets
        assert dy * dy + dx * dx < 9


def test_pair_labels_on_hand_made_map():
    label = np.array([[0, 0, 1, 1], [0, 255, 1, 2]], np.uint8)
    out = pair_labels(label, radius=2)
    offsets = pair_offsets(2)
    right = offsets.index((0, 1))
    down = offsets.index((1, 0))
    bg, fg, neg = out[:, right]
    assert bg[0, 0] == 1  # (0,0)-(0,1): both background
    assert neg[0, 1] == 1  # (0,1)-(0,2): 0 vs 1
    assert fg[0, 2] == 1  # (0,2)-(0,3): both class 1
    assert neg[1, 2] == 1  # (1,2)-(1,3): 1 vs 2
    assert out[:, right, 1, 0].sum() == 0  # touches 255: no label
    assert out[:, right, :, 3].sum() == 0  # leaves the image
    bg, fg, neg = out[:, down]
    assert bg[0, 0] == 1 and fg[0, 2] == 1 and neg[0, 3] == 1
    assert out[:, down, 0, 1].sum() == 0  # below is 255


def test_affinity_is_one_minus_max_boundary_on_path():
    boundary = torch.zeros(1, 5, 5)
    boundary[0, :, 2] = 0.9  # a vertical wall
    aff = boundary_to_affinity(boundary, radius=3)
    offsets = pair_offsets(3)
    right2 = offsets.index((0, 2))
    down1 = offsets.index((1, 0))
    assert torch.isclose(aff[0, right2, 0, 0], torch.tensor(0.1))  # crosses
    assert aff[0, down1, 0, 0] == 1.0  # along column 0
    assert aff[0, right2, 0, 4] == 0.0  # leaves the image


def test_transition_matrix_columns_sum_to_one():
    src, dst, weight = sparse_transition(torch.rand(6, 7), radius=3, beta=2)
    sums = torch.zeros(42).index_add_(0, dst, weight)
    assert torch.allclose(sums, torch.ones(42), atol=1e-5)


def test_random_walk_spreads_inside_and_not_across_a_boundary():
    h, w = 12, 12
    boundary = torch.zeros(h, w)
    boundary[:, 6] = 1.0  # wall between the left and the right half
    cams = torch.zeros(1, h, w)
    cams[0, 5, 1] = 1.0  # a seed in the left half only
    out = random_walk(cams, boundary, radius=3, beta=10, exp_times=6)[0]
    left, right = out[:, :6], out[:, 7:]
    assert (left > 1e-3).float().mean() > 0.9  # spread over its region
    assert right.max() < 1e-6  # nothing crossed the wall
    # without the wall it does cross
    free = random_walk(
        cams, torch.zeros(h, w), radius=3, beta=10, exp_times=6)[0]
    assert free[:, 7:].min() > 1e-3


def _irn_path(dy, dx):
    """IRN's path, written out: cells of the bounding box within distance 1
    of the line from (0, 0) to (dy, dx)."""
    cells = set()
    for y in range(min(0, dy), max(0, dy) + 1):
        for x in range(min(0, dx), max(0, dx) + 1):
            if (dy * x - dx * y)**2 / (dy * dy + dx * dx) < 1:
                cells.add((y, x))
    return cells


def test_pair_paths_are_irns_at_radius_5_and_10():
    from mmseg_cobra.models.utils import pair_paths
    for radius in (5, 10):
        offsets = pair_offsets(radius)
        paths = pair_paths(radius)
        assert len(paths) == len(offsets)
        for (dy, dx), path in zip(offsets, paths):
            assert set(path) == _irn_path(dy, dx), (radius, dy, dx)
            assert len(set(path)) == len(path)
    # IRN's paths are wider than a rasterised line: 7.1 cells on average
    mean_len = np.mean([len(p) for p in pair_paths(5)])
    assert 7.0 < mean_len < 7.2
    assert set(pair_paths(5)[pair_offsets(5).index(
        (1, 1))]) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_one_pixel_diagonal_wall_separates_diagonal_pairs():
    h = w = 10
    boundary = torch.zeros(1, h, w)
    ys, xs = np.indices((h, w))
    boundary[0][torch.from_numpy(ys + xs == 9)] = 1.0  # anti-diagonal wall
    aff = boundary_to_affinity(boundary, radius=5)[0]
    d = pair_offsets(5).index((1, 1))
    for y in range(h - 1):
        for x in range(w - 1):
            if y + x < 9 and y + 1 + x + 1 > 9:  # p and p + (1, 1) straddle
                assert aff[d, y, x] == 0.0, (y, x)
    # and the walk does not leak through it
    cams = torch.zeros(1, h, w)
    cams[0, 1, 1] = 1.0
    out = random_walk(cams, boundary[0], radius=5, beta=10, exp_times=6)[0]
    assert out[torch.from_numpy(ys + xs > 9)].max() < 1e-6
    assert out[torch.from_numpy(ys + xs < 9)].min() > 1e-4


def _dense_irn_walk(cams, boundary, radius, beta, exp_times):
    """IRN's propagate_to_edge written densely: A = aff ** beta with a unit
    diagonal, column-normalised, squared exp_times times, x (1 - b) T."""
    h, w = boundary.shape
    n = h * w
    paths = {}
    a = torch.eye(n, dtype=torch.float64)
    for y in range(h):
        for x in range(w):
            for dy in range(-radius + 1, radius):
                for dx in range(-radius + 1, radius):
                    if (dy, dx) == (0, 0) or dy * dy + dx * dx >= radius**2:
                        continue
                    ty, tx = y + dy, x + dx
                    if not (0 <= ty < h and 0 <= tx < w):
                        continue
                    if (dy, dx) not in paths:
                        paths[(dy, dx)] = [
                            (py, px)
                            for py in range(min(0, dy),
                                            max(0, dy) + 1)
                            for px in range(min(0, dx),
                                            max(0, dx) + 1)
                            if (dy * px - dx * py)**2 / (dy * dy + dx * dx) < 1
                        ]
                    peak = max(
                        float(boundary[y + py, x + px])
                        for py, px in paths[(dy, dx)])
                    a[y * w + x, ty * w + tx] = (1 - peak)**beta
    t = a / a.sum(dim=0, keepdim=True)
    for _ in range(exp_times):
        t = t @ t
    x = (cams.double() * (1 - boundary.double())).reshape(cams.shape[0], n)
    return (x @ t).reshape(cams.shape)


@pytest.mark.parametrize('wall', [False, True])
def test_stencil_walk_equals_dense_irn_formula(wall):
    from mmseg_cobra.models.utils import random_walk_sparse
    g = torch.Generator().manual_seed(0)
    h, w = 9, 11
    boundary = torch.rand(h, w, generator=g) * 0.3
    if wall:
        boundary[:, 5] = 0.95
        boundary[4, 2:5] = 0.9
    cams = torch.rand(2, h, w, generator=g)
    want = _dense_irn_walk(cams, boundary, radius=5, beta=10, exp_times=4)
    got = random_walk(
        cams.double(), boundary.double(), radius=5, beta=10, exp_times=4)
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-12)
    old = random_walk_sparse(
        cams.double(), boundary.double(), radius=5, beta=10, exp_times=4)
    assert torch.allclose(old, want, rtol=1e-9, atol=1e-12)
    # float32 stays within 1e-5 relative
    got32 = random_walk(cams, boundary, radius=5, beta=10, exp_times=4)
    assert ((got32 - want).abs().max() / want.abs().max()) < 1e-5


def test_batched_walk_equals_one_image_at_a_time():
    from mmseg_cobra.models.utils import random_walk
    torch.manual_seed(0)
    boundary = torch.rand(3, 12, 15)
    cams = torch.rand(3, 2, 12, 15)
    batched = random_walk(cams, boundary, exp_times=4)
    assert batched.shape == (3, 2, 12, 15)
    for b in range(3):
        torch.testing.assert_close(
            batched[b],
            random_walk(cams[b], boundary[b], exp_times=4),
            rtol=0,
            atol=1e-6)
    with pytest.raises(ValueError, match=r'\[B, K, H, W\] with \[B, H, W\]'):
        random_walk(cams, boundary[0])
