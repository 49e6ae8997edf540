"""The frame of the offline reports (``offline.image_scorer``) and the seed
report on it (``offline.seed_report``), on one rank (the same on several:
tests/test_tools/test_seeds.py and test_masks.py run the tools sharded)."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_cobra.evaluation import SeedMetric
from mmseg_cobra.offline import ImageScorer, SkipImage, score_seed_files
from mmseg_cobra.structures import save_seed


def test_skipped_images_keep_their_reason_and_the_dataset_order():
    ids = ['a', 'b', 'c', 'd', 'e']
    images = ImageScorer(ids, keep_skipped=2)
    seen = []

    def add(img_id):
        if img_id in ('b', 'd', 'e'):
            raise SkipImage(f'no file for {img_id}')
        seen.append(img_id)

    images.score(ids, str, add)
    counts = images.merge([np.array([3, 4], np.int64)])
    assert seen == ['a', 'c']
    assert (images.num_scored, images.num_skipped) == (2, 3)
    # the first two skipped are named, the third counted
    assert images.skipped == {'b': 'no file for b', 'd': 'no file for d'}
    assert counts[0].tolist() == [3, 4]
    every = ImageScorer(ids)  # all named, in the dataset's order
    for img_id in reversed(ids):
        every.skip(img_id, 'why')
    every.merge()
    assert list(every.skipped) == ids


def test_an_error_other_than_skip_stops_the_report():
    images = ImageScorer(['a'])

    def add(img_id):
        raise OSError('disk gone')

    with pytest.raises(OSError, match='disk gone'):
        images.score(['a'], str, add)


def test_seed_report_skips_missing_and_mismatched_seeds(tmp_path):
    seed_dir, gt_dir = str(tmp_path / 'seeds'), str(tmp_path / 'gt')
    classes = ('background', 'cat', 'dog')
    gt = np.zeros((8, 8), np.uint8)
    gt[2:6, 2:6] = 1
    os.makedirs(gt_dir)
    for img_id, size in (('good', (8, 8)), ('small', (4, 4)), ('no_seed',
                                                               None)):
        Image.fromarray(gt).save(osp.join(gt_dir, img_id + '.png'))
        if size is None:
            continue
        cam = np.zeros((1, *size), np.float32)
        cam[0, size[0] // 4:3 * size[0] // 4,
            size[1] // 4:3 * size[1] // 4] = 1
        maps = {k: cam for k in ('cam_cnn', 'cam_vit', 'cam_fuse')}
        save_seed(
            seed_dir,
            img_id,
            np.array([0]),
            maps,
            np.ones(size, np.float32),
            num_classes=2)
    metric = SeedMetric(sources=['fuse'])
    metric.dataset_meta = dict(classes=classes)
    images = score_seed_files(metric, ['good', 'small', 'no_seed', 'no_gt'],
                              seed_dir, gt_dir, classes)
    assert metric.num_images == 1 and images.num_scored == 1
    assert list(images.skipped) == ['small', 'no_seed', 'no_gt']
    assert 'missing' in images.skipped['no_seed']
    assert 'ground truth' in images.skipped['no_gt']
    assert images.skipped['small']  # the seed's size is not the image's
