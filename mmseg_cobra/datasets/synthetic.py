"""A deterministic synthetic WSSS dataset in PASCAL VOC layout.

Each image holds one to three objects drawn from ``num_classes`` classes on a
cluttered background. A class is defined by a shape *and* a texture (stripe
orientation and colour pair); the background carries the same colours in
random blobs and stripes, so colour alone does not classify a pixel and a
classifier tends to fire on the most textured part of an object rather than
the whole of it. Every object gets a per-pixel ground-truth mask, so seeds and
masks can be scored.

Layout written under ``root`` (the same as VOC 2012 + SBD after
``tools/dataset_converters/voc_aug.py``)::

    JPEGImages/<id>.jpg
    SegmentationClassAug/<id>.png      palette PNG, 0 = background
    ImageSets/Segmentation/{train_aug,train,val}.txt
    cls_labels.npy                     {id: float32[num_classes]} (IRN style)
"""
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image

from ..utils.file_io import save_image, save_label_png, save_npy, write_text
from .voc_cls import VOC_PALETTE

SHAPES = ('disc', 'square', 'triangle', 'ring', 'cross', 'diamond', 'bar',
          'ellipse')


def _shape_mask(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of ``shape`` in a ``size`` x ``size`` box."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2.0
    r = size / 2.0
    dx, dy = (xx - c) / r, (yy - c) / r
    if shape == 'disc':
        m = dx**2 + dy**2 <= 1.0
    elif shape == 'square':
        m = (np.abs(dx) <= 0.85) & (np.abs(dy) <= 0.85)
    elif shape == 'triangle':
        m = (dy <= 0.9) & (dy >= -0.9 + 1.8 * np.abs(dx))
    elif shape == 'ring':
        d = dx**2 + dy**2
        m = (d <= 1.0) & (d >= 0.3)
    elif shape == 'cross':
        m = ((np.abs(dx) <= 0.3) | (np.abs(dy) <= 0.3)) & \
            (np.abs(dx) <= 0.95) & (np.abs(dy) <= 0.95)
    elif shape == 'diamond':
        m = np.abs(dx) + np.abs(dy) <= 1.0
    elif shape == 'bar':
        m = (np.abs(dx) <= 0.95) & (np.abs(dy) <= 0.4)
    else:  # ellipse
        m = (dx / 1.0)**2 + (dy / 0.6)**2 <= 1.0
    if rng.random() < 0.5:
        m = m.T
    return m


def _class_style(num_classes: int) -> List[Dict]:
    """Fixed texture (angle, period, colour pair) and shape per class."""
    style_rng = np.random.default_rng(12345)
    styles = []
    for k in range(num_classes):
        styles.append(
            dict(
                shape=SHAPES[k % len(SHAPES)],
                angle=np.pi * k / num_classes,
                period=4.0 + 2.0 * (k % 3),
                colors=style_rng.integers(40, 230,
                                          size=(2, 3)).astype(np.float32)))
    return styles


def _stripes(h: int, w: int, angle: float, period: float,
             phase: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    return 0.5 + 0.5 * np.sin(2 * np.pi * t / period + phase)


def _background(h: int, w: int, styles: Sequence[Dict],
                rng: np.random.Generator) -> np.ndarray:
    """Smooth noise plus distractor blobs in the classes' colours."""
    low = rng.random((h // 16 + 2, w // 16 + 2, 3)).astype(np.float32)
    img = np.asarray(
        Image.fromarray((low * 255).astype(np.uint8)).resize(
            (w, h), Image.BILINEAR),
        dtype=np.float32) * 0.6 + 50
    for _ in range(rng.integers(3, 7)):
        st = styles[rng.integers(len(styles))]
        bh, bw = rng.integers(h // 10, h // 4), rng.integers(w // 10, w // 4)
        y0, x0 = rng.integers(0, h - bh), rng.integers(0, w - bw)
        # distractors share colours but not the class's stripe angle
        tex = _stripes(bh, bw, rng.uniform(0, np.pi), rng.uniform(3, 9),
                       rng.uniform(0, 6))[..., None]
        col = st['colors'][0] * tex + st['colors'][1] * (1 - tex)
        img[y0:y0 + bh, x0:x0 + bw] = 0.5 * img[y0:y0 + bh, x0:x0 + bw] + \
            0.5 * col
    return img


def make_sample(rng: np.random.Generator,
                styles: Sequence[Dict],
                image_size: Tuple[int, int],
                max_objects: int = 3) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one image and its mask.

    Returns:
        tuple: ``image`` uint8 [H, W, 3] (RGB) and ``mask`` uint8 [H, W]
        (0 background, k+1 for class k).
    """
    h, w = image_size
    img = _background(h, w, styles, rng)
    mask = np.zeros((h, w), np.uint8)
    n_obj = int(rng.integers(1, max_objects + 1))
    classes = rng.choice(len(styles), size=n_obj, replace=True)
    for k in classes:
        st = styles[k]
        size = int(rng.integers(min(h, w) // 4, min(h, w) // 2))
        y0, x0 = rng.integers(0, h - size), rng.integers(0, w - size)
        shape = _shape_mask(st['shape'], size, rng)
        tex = _stripes(size, size, st['angle'] + rng.normal(0, 0.08),
                       st['period'], rng.uniform(0, 6))[..., None]
        col = st['colors'][0] * tex + st['colors'][1] * (1 - tex)
        # shading makes parts of an object less typical than others
        shade = np.linspace(
            rng.uniform(0.6, 1.0),
            rng.uniform(0.6, 1.0),
            size,
            dtype=np.float32)[None, :, None]
        col = col * shade
        region = img[y0:y0 + size, x0:x0 + size]
        region[shape] = col[shape]
        mask[y0:y0 + size, x0:x0 + size][shape] = k + 1
    img += rng.normal(0, 8, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8), mask


def generate_synthetic_voc(root: str,
                           num_train: int = 200,
                           num_val: int = 50,
                           num_classes: int = 4,
                           image_size: Tuple[int, int] = (160, 160),
                           seed: int = 0) -> Dict[str, List[str]]:
    """Write the synthetic dataset under ``root`` (see the module doc).

    Args:
        root (str): Output directory (created).
        num_train (int): Images in ``train_aug`` (also listed as ``train``,
            where seeds and masks are scored, as on VOC).
        num_val (int): Images in ``val``.
        num_classes (int): Foreground classes (at most 20, VOC palette).
        image_size (tuple): ``(H, W)`` of every image.
        seed (int): Everything is a function of this seed.

    Returns:
        dict: ``{'train_aug': ids, 'train': ids, 'val': ids}``.
    """
    if not 1 <= num_classes <= 20:
        raise ValueError(f'num_classes must be in 1..20, got {num_classes}')
    rng = np.random.default_rng(seed)
    styles = _class_style(num_classes)
    for sub in ('JPEGImages', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    ids = {'train_aug': [], 'val': []}
    labels = {}
    for split, n in (('train_aug', num_train), ('val', num_val)):
        for i in range(n):
            img_id = f'syn_{split}_{i:05d}'
            img, mask = make_sample(rng, styles, image_size)
            save_image(
                img, osp.join(root, 'JPEGImages', img_id + '.jpg'), quality=95)
            save_label_png(
                mask, osp.join(root, 'SegmentationClassAug', img_id + '.png'),
                VOC_PALETTE)
            present = np.unique(mask)
            vec = np.zeros(num_classes, np.float32)
            vec[present[present > 0] - 1] = 1.0
            labels[img_id] = vec
            ids[split].append(img_id)
    ids['train'] = list(ids['train_aug'])
    for split, names in ids.items():
        write_text('\n'.join(names) + '\n',
                   osp.join(root, 'ImageSets/Segmentation', split + '.txt'))
    save_npy(labels, osp.join(root, 'cls_labels.npy'))
    return ids
