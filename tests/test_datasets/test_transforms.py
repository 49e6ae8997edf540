"""The plugin's data transforms, in process, against values computed here."""
import numpy as np
import pytest
import torch
from mmseg.registry import TRANSFORMS

from mmseg_cobra.datasets.transforms import (AffinityLabels, LoadSeed,
                                             PackWSSSInputs, RandomCropPad,
                                             RandomLongSideResize,
                                             RandomRescale)
from mmseg_cobra.ops.pair_geometry import pair_offsets
from mmseg_cobra.structures.seed_io import SeedFileError, save_seed


def _image(h, w, c=3, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, c), np.uint8)


def test_transforms_are_registered():
    for name in ('AffinityLabels', 'LoadSeed', 'PackWSSSInputs',
                 'RandomCropPad', 'RandomLongSideResize', 'RandomRescale'):
        assert TRANSFORMS.get(name) is not None, name


def test_random_long_side_resize_hits_every_size_and_keeps_aspect():
    t = RandomLongSideResize(min_size=20, max_size=24)
    img = _image(30, 60)
    seg = np.arange(30 * 60, dtype=np.uint8).reshape(30, 60)
    seen = set()
    np.random.seed(0)
    for _ in range(200):
        out = t.transform(dict(img=img, gt_seg_map=seg))
        h, w = out['img'].shape[:2]
        assert 20 <= w <= 24 and h == round(30 * w / 60)
        assert out['gt_seg_map'].shape == (h, w)
        assert out['img_shape'] == (h, w)
        assert out['scale_factor'] == (w / 60, h / 30)
        # nearest for labels: every value comes from the input
        assert set(np.unique(out['gt_seg_map'])) <= set(np.unique(seg))
        seen.add(w)
    assert seen == set(range(20, 25))  # the whole closed range
    with pytest.raises(ValueError):
        RandomLongSideResize(min_size=30, max_size=20)


def test_random_rescale_factor_within_range_and_nearest_labels():
    t = RandomRescale(ratio_range=(0.5, 1.5))
    img = _image(40, 20)
    seg = (np.arange(40)[:, None] // 10 * np.ones((1, 20))).astype(np.uint8)
    np.random.seed(1)
    ratios = []
    for _ in range(50):
        out = t.transform(dict(img=img, gt_seg_map=seg))
        h, w = out['img'].shape[:2]
        fx, fy = out['scale_factor']
        assert (w, h) == (round(20 * fx), round(40 * fy))
        assert 0.5 - 0.05 <= fx <= 1.5 + 0.05
        assert set(np.unique(out['gt_seg_map'])) <= {0, 1, 2, 3}
        ratios.append(fx)
    assert min(ratios) < 0.75 and max(ratios) > 1.25


def test_random_crop_pad_places_the_image_inside_a_padded_canvas():
    t = RandomCropPad(crop_size=(8, 12), pad_val=(1, 2, 3), seg_pad_val=255)
    img = _image(5, 16, seed=2)
    seg = np.random.RandomState(3).randint(0, 4, (5, 16)).astype(np.uint8)
    np.random.seed(4)
    for _ in range(20):
        out = t.transform(dict(img=img.copy(), gt_seg_map=seg.copy()))
        canvas, label = out['img'], out['gt_seg_map']
        assert canvas.shape == (8, 12, 3) and label.shape == (8, 12)
        assert out['img_shape'] == (8, 12)
        # rows: the 5 image rows at some offset, the rest padding
        inside = label != 255
        rows = np.flatnonzero(inside.any(1))
        assert len(rows) == 5 and np.all(np.diff(rows) == 1)
        y0 = rows[0]
        # columns: a 12-wide window of the 16 image columns
        matches = [
            x0 for x0 in range(16 - 12 + 1)
            if np.array_equal(label[y0:y0 + 5], seg[:, x0:x0 + 12])
        ]
        assert matches
        x0 = matches[0]
        assert np.array_equal(canvas[y0:y0 + 5], img[:, x0:x0 + 12])
        pad = np.ones(8, bool)
        pad[y0:y0 + 5] = False
        assert np.all(canvas[pad] == (1, 2, 3))
        assert np.all(label[pad] == 255)


def test_affinity_labels_match_a_direct_pair_loop():
    rng = np.random.RandomState(5)
    label = rng.choice([0, 1, 2, 255], size=(16, 20)).astype(np.uint8)
    out = AffinityLabels(
        radius=3, stride=4).transform(dict(gt_seg_map=label))['aff_labels']
    small = label[2::4, 2::4]
    offsets = pair_offsets(3)
    assert out.shape == (3, len(offsets), 4, 5)
    for d, (dy, dx) in enumerate(offsets):
        for y in range(4):
            for x in range(5):
                a = small[y, x]
                inside = 0 <= y + dy < 4 and 0 <= x + dx < 5
                b = small[y + dy, x + dx] if inside else 255
                known = a != 255 and b != 255
                want = (known and a == b == 0, known and a == b != 0, known
                        and a != b)
                assert tuple(out[:, d, y, x].astype(bool)) == want
    with pytest.raises(ValueError, match='multiple of the stride'):
        AffinityLabels(stride=4).transform(
            dict(gt_seg_map=np.zeros((10, 12), np.uint8)))


def _write_seed(tmp_path, h=9, w=10, keys=(1, 3), num_classes=4, grid=True):
    rng = np.random.RandomState(6)
    k = len(keys)
    maps = {
        'cam_cnn': rng.rand(k, h, w),
        'cam_vit': rng.rand(k, h, w),
        'cam_fuse': rng.rand(k, h, w)
    }
    if grid:
        for key in list(maps):
            maps[key + '_grid'] = rng.rand(k, -(-h // 4), -(-w // 4))
    path = save_seed(
        str(tmp_path), 'img0', np.asarray(keys), maps, rng.rand(h, w),
        num_classes)
    return path, maps


def test_load_seed_combines_the_chosen_source(tmp_path):
    path, maps = _write_seed(tmp_path)
    f16 = {k: v.astype(np.float16).astype(np.float32) for k, v in maps.items()}
    for source, want in (('cnn', f16['cam_cnn']),
                         ('max', np.maximum(f16['cam_cnn'], f16['cam_vit'])),
                         ('mean', (f16['cam_cnn'] + f16['cam_vit']) / 2),
                         ('fuse', f16['cam_fuse'])):
        out = LoadSeed(
            source=source, num_classes=4).transform(
                dict(img=np.zeros((9, 10, 3), np.uint8), seed_path=path))
        np.testing.assert_allclose(out['seed_cams'], want, rtol=1e-6)
        assert out['seed_keys'].tolist() == [1, 3]
        assert out['seed_cams_grid'].shape == (2, 3, 3)
    # wrong class count or image size: the file is named
    with pytest.raises(SeedFileError, match='made for 4 classes'):
        LoadSeed(num_classes=20).transform(dict(seed_path=path))
    with pytest.raises(SeedFileError, match='9x10 but its image is 8x10'):
        LoadSeed().transform(
            dict(img=np.zeros((8, 10, 3), np.uint8), seed_path=path))


def test_load_seed_without_grid_maps(tmp_path):
    path, _ = _write_seed(tmp_path, grid=False)
    out = LoadSeed().transform(dict(seed_path=path))
    assert 'seed_cams_grid' not in out


def test_pack_wsss_inputs_packs_label_and_data_keys():
    img = _image(6, 7)
    results = dict(
        img=img,
        img_id='a',
        img_path='a.jpg',
        ori_shape=(6, 7),
        img_shape=(6, 7),
        gt_seg_map=np.ones((6, 7), np.uint8),
        gt_label=np.array([0, 1, 1], np.int64),
        seed_keys=np.array([1, 2]),
        aff_labels=np.zeros((3, 4, 2, 2), np.uint8))
    packed = PackWSSSInputs().transform(results)
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 6, 7)
    assert torch.equal(packed['inputs'][0], torch.from_numpy(img[...,
                                                                 0].copy()))
    assert sample.gt_label.dtype == torch.float32
    assert sample.gt_label.tolist() == [0.0, 1.0, 1.0]
    assert sample.seed_keys.tolist() == [1, 2]
    assert sample.aff_labels.shape == (3, 4, 2, 2)
    assert sample.metainfo['img_id'] == 'a'
    assert torch.equal(sample.gt_sem_seg.data,
                       torch.ones((1, 6, 7), dtype=torch.uint8).long())
