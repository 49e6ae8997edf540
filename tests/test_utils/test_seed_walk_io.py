"""Seed and walk files: round trips, validation, atomic writes."""
import os
import os.path as osp

import numpy as np
import pytest

from mmseg_cobra.structures.seed_io import (SeedFileError, load_seed,
                                            save_seed, seed_path)
from mmseg_cobra.structures.walk_io import load_walk, save_walk, walk_path
from mmseg_cobra.utils.file_io import atomic_write, dump_json


def _seed_maps(rng, k, h, w):
    maps = {
        key: rng.rand(k, h, w)
        for key in ('cam_cnn', 'cam_vit', 'cam_fuse')
    }
    for key in list(maps):
        maps[key + '_grid'] = rng.rand(k, -(-h // 4), -(-w // 4))
    return maps


def test_seed_round_trip_in_float16(tmp_path):
    rng = np.random.RandomState(0)
    maps = _seed_maps(rng, 2, 13, 9)
    attn = rng.rand(13, 9) * 40  # summed attention, not normalised
    path = save_seed(str(tmp_path), 'a', np.array([0, 5]), maps, attn, 20)
    assert path == seed_path(str(tmp_path), 'a')
    seed = load_seed(path, num_classes=20, image_size=(13, 9))
    assert seed['img_id'] == 'a' and seed['keys'].tolist() == [0, 5]
    for key, value in maps.items():
        assert seed[key].dtype == np.float32
        np.testing.assert_array_equal(
            seed[key],
            value.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(seed['attn'],
                                  attn.astype(np.float16).astype(np.float32))
    assert sorted(os.listdir(tmp_path)) == ['a.npz']  # no temporary left


def test_seed_validation_names_the_file_and_the_fix(tmp_path):
    rng = np.random.RandomState(1)
    maps = _seed_maps(rng, 1, 8, 8)
    path = save_seed(
        str(tmp_path), 'a', np.array([3]), maps, rng.rand(8, 8), 4)
    with pytest.raises(SeedFileError, match='made for 4 classes'):
        load_seed(path, num_classes=20)
    with pytest.raises(SeedFileError, match='8x8 but its image is 8x9'):
        load_seed(path, image_size=(8, 9))
    bad = save_seed(str(tmp_path), 'b', np.array([7]), maps, rng.rand(8, 8), 4)
    with pytest.raises(SeedFileError, match='outside 0..3'):
        load_seed(bad)
    with open(path, 'r+b') as f:
        f.truncate(50)
    with pytest.raises(SeedFileError, match='unreadable.*regenerate'):
        load_seed(path)


def test_walk_round_trip_and_grid_check(tmp_path):
    rng = np.random.RandomState(2)
    walk, boundary = rng.rand(2, 4, 3), rng.rand(4, 3)
    path = save_walk(
        str(tmp_path), 'x', np.array([1, 2]), walk, boundary, (13, 10))
    assert path == walk_path(str(tmp_path), 'x')
    out = load_walk(path, image_size=(13, 10))
    assert out['image_size'] == (13, 10) and out['keys'].tolist() == [1, 2]
    np.testing.assert_array_equal(out['walk'],
                                  walk.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(
        out['boundary'],
        boundary.astype(np.float16).astype(np.float32))
    with pytest.raises(SeedFileError, match='for a 13x10 image'):
        load_walk(path, image_size=(12, 10))
    wrong = save_walk(
        str(tmp_path), 'y', np.array([1]), rng.rand(1, 5, 3), rng.rand(5, 3),
        (13, 10))
    with pytest.raises(SeedFileError, match='do not fit a 13x10 image'):
        load_walk(wrong)


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = str(tmp_path / 'out.json')
    dump_json(dict(a=np.float32(1.5), b=np.arange(2)), path)
    with open(path) as f:
        assert f.read().replace(' ', '').replace('\n', '') == \
            '{"a":1.5,"b":[0,1]}'
    with pytest.raises(RuntimeError):
        with atomic_write(path) as tmp:
            assert tmp.endswith('.json') and tmp != path
            assert osp.basename(tmp).startswith('.')  # out of globs
            with open(tmp, 'w') as f:
                f.write('half')
            raise RuntimeError('killed')
    with open(path) as f:  # the previous content, no temporary left
        assert '1.5' in f.read()
    assert os.listdir(tmp_path) == ['out.json']
