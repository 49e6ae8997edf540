"""Reading images and masks through mmengine's file backends, and the
ground truth checked against the dataset's label count."""
import numpy as np
import pytest
from mmengine.fileio.backends import BaseStorageBackend, register_backend
from PIL import Image

from mmseg_cobra.evaluation.functional.mask_eval import label_dir_areas
from mmseg_cobra.utils.image_io import (GroundTruthError, read_ground_truth,
                                        read_image, read_label)


def _png(path, array):
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return str(path)


def test_reads_local_files(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (6, 5, 3), np.uint8)
    path = _png(tmp_path / 'a.png', rgb)
    assert np.array_equal(read_image(path), rgb)
    label = _png(tmp_path / 'l.png', [[0, 1], [255, 2]])
    assert read_label(label).tolist() == [[0, 1], [255, 2]]
    assert read_ground_truth(label, num_labels=3).shape == (2, 2)


def test_ground_truth_with_an_id_beyond_the_classes(tmp_path):
    path = _png(tmp_path / 'gt.png', [[0, 5], [255, 21]])
    with pytest.raises(GroundTruthError) as info:
        read_ground_truth(path, num_labels=3)
    message = str(info.value)
    assert path in message and 'class id(s) 5, 21' in message
    assert '3 labels (0 .. 2, 255 ignored)' in message
    assert 'tools/check_dataset.py' in message


def test_ground_truth_missing_or_not_one_channel(tmp_path):
    with pytest.raises(GroundTruthError, match='cannot be read'):
        read_ground_truth(str(tmp_path / 'nowhere.png'), 3)
    rgb = _png(tmp_path / 'rgb.png', np.zeros((2, 2, 3)))
    with pytest.raises(GroundTruthError, match=r'shape \(2, 2, 3\)'):
        read_ground_truth(rgb, 3)


def test_mask_scoring_names_a_foreign_ground_truth(tmp_path):
    """Before: a crash inside the confusion count; now the file is named."""
    (tmp_path / 'pred').mkdir()
    (tmp_path / 'gt').mkdir()
    _png(tmp_path / 'pred' / 'x.png', [[0, 1]])
    gt = _png(tmp_path / 'gt' / 'x.png', [[0, 7]])
    with pytest.raises(GroundTruthError, match=gt):
        label_dir_areas(
            str(tmp_path / 'pred'),
            str(tmp_path / 'gt'), ['x'],
            num_classes=3,
            show_progress=False)


def test_reads_through_a_file_backend(tmp_path):
    """A dataset on another storage (its config's ``backend_args``) is
    read through mmengine's backend, as mmseg's LoadImageFromFile does."""
    local = _png(tmp_path / 'img.png', np.full((3, 4, 3), 7))
    seen = []

    @register_backend('cobra_test_store', force=True)
    class Store(BaseStorageBackend):

        def get(self, filepath):
            seen.append(filepath)
            with open(filepath.replace('store://',
                                       str(tmp_path) + '/'), 'rb') as f:
                return f.read()

        def get_text(self, filepath, encoding='utf-8'):
            return self.get(filepath).decode(encoding)

    image = read_image(
        'store://img.png', backend_args=dict(backend='cobra_test_store'))
    assert seen == ['store://img.png']
    assert np.array_equal(image, np.asarray(Image.open(local)))


def _cv2_rgb(path):
    """What the training and testing stages see: mmseg's LoadImageFromFile
    decodes with mmcv (cv2)."""
    import mmcv
    with open(path, 'rb') as f:
        return mmcv.imfrombytes(f.read(), flag='color', channel_order='rgb')


def test_exif_rotated_and_16_bit_images_decode_as_in_the_gpu_stages(tmp_path):
    import cv2
    rng = np.random.default_rng(1)
    # a camera JPEG stored sideways, turned by its EXIF orientation
    image = Image.fromarray(rng.integers(0, 255, (40, 60, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    jpeg = str(tmp_path / 'turned.jpg')
    image.save(jpeg, exif=exif, quality=95)
    # 16-bit grey and 16-bit colour PNGs
    grey = str(tmp_path / 'grey16.png')
    cv2.imwrite(grey, rng.integers(0, 65535, (20, 30), np.uint16))
    colour = str(tmp_path / 'rgb16.png')
    cv2.imwrite(colour, rng.integers(0, 65535, (20, 30, 3), np.uint16))
    for path in (jpeg, grey, colour):
        ours, theirs = read_image(path), _cv2_rgb(path)
        assert ours.shape == theirs.shape, path
        assert ours.dtype == np.uint8
        assert np.array_equal(ours, theirs), path
    assert read_image(jpeg).shape == (60, 40, 3)  # turned
