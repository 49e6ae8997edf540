import numpy as np
import pytest
from PIL import Image

from mmseg_cobra.ops.crf import crf_from_labels, crf_from_probs
from mmseg_cobra.ops.ir_label import ir_thresholds, make_ir_label
from mmseg_cobra.utils.file_io import save_label_png


def _two_tone_image(h=40, w=40, edge=20):
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :edge] = (200, 40, 40)
    image[:, edge:] = (30, 30, 160)
    return image


def test_crf_sharpens_a_blurred_mask_along_an_image_edge():
    image = _two_tone_image()
    truth = np.zeros((40, 40), np.int64)
    truth[:, :20] = 1
    blurred = np.zeros((40, 40), np.int64)
    blurred[:, :26] = 1  # the mask bleeds 6 pixels past the colour edge
    refined = crf_from_labels(image, blurred, n_labels=2)
    assert (refined != truth).sum() < 0.3 * (blurred != truth).sum()

    probs = np.zeros((2, 40, 40), np.float32)
    x = np.arange(40)
    probs[1] = np.clip((36 - x) / 20, 0.05, 0.95)[None]  # edge at x=26
    probs[0] = 1 - probs[1]
    hard = probs.argmax(0)
    soft = crf_from_probs(image, probs).argmax(0)
    assert (soft != truth).sum() < (hard != truth).sum()


def test_ir_thresholds_from_attention():
    attn = np.arange(100, dtype=np.float32).reshape(10, 10)
    bg, fg = ir_thresholds(attn, percentile=93, fg_offset=0.5, grid=0.05)
    # 93rd percentile of attn / 99 = 0.9307 -> snapped down to 0.90
    assert bg == pytest.approx(0.90)
    assert fg == pytest.approx(1.40)
    assert ir_thresholds(attn, fixed=(0.05, 0.3)) == (0.05, 0.3)
    # the reference's step: the percentile of the map as saved, not
    # normalised (93rd percentile of 0..99 = 92.07 -> 92.05 on the grid)
    bg, fg = ir_thresholds(attn / 50, percentile=93, attention_scale='raw')
    assert bg == pytest.approx(1.80)  # 1.8414 snapped down
    assert fg == pytest.approx(2.30)
    with pytest.raises(ValueError, match='attention_scale'):
        ir_thresholds(attn, attention_scale='mean')


def test_crf_bgr_order_feeds_the_channels_reversed():
    """bgr=True (the reference's final CRF reads the image with OpenCV) is
    the CRF of the channel-reversed image."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, (30, 40))
    np.testing.assert_array_equal(
        crf_from_labels(image, labels, n_labels=3, bgr=True),
        crf_from_labels(
            np.ascontiguousarray(image[..., ::-1]), labels, n_labels=3))


def test_ir_label_confident_regions_and_unknown():
    image = np.zeros((30, 30, 3), np.uint8)
    image[...] = (30, 30, 160)
    image[5:15, 5:15] = (200, 40, 40)  # the object
    image[15:20, 5:15] = (40, 180, 40)  # something else, weakly activated
    cam = np.zeros((1, 30, 30), np.float32)
    cam[0, 5:15, 5:15] = 0.9  # confident object
    cam[0, 15:20, 5:15] = 0.2  # weak, uncertain
    label = make_ir_label(
        image, cam, np.array([6]), bg_threshold=0.1, fg_threshold=0.5)
    assert (label[7:13, 7:13] == 7).all()  # class 6 -> label 7
    assert (label[16:19, 7:13] == 255).all()  # between the thresholds
    assert (label[25:, :] == 0).all()
    assert set(np.unique(label)) <= {0, 7, 255}


def test_label_png_is_a_palette_image_with_ignore(tmp_path):
    label = np.array([[0, 1], [255, 2]], np.uint8)
    path = str(tmp_path / 'sub' / 'x.png')
    save_label_png(label, path, [[0, 0, 0], [128, 0, 0], [0, 128, 0]])
    png = Image.open(path)
    assert png.mode == 'P'
    np.testing.assert_array_equal(np.asarray(png), label)
    assert png.getpalette()[255 * 3:255 * 3 + 3] == [224, 224, 192]
    assert not list((tmp_path / 'sub').glob('*.tmp*'))
