"""One dataset description for every stage of the pipeline.

A pipeline config carries ``dataset = dict(...)``::

    dataset = dict(
        type='ImageLevelSegDataset',      # or VOCClsDataset / COCOClsDataset
        data_root='data/my_data',
        classes=('background', 'cat', 'dog'),   # background first
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0]],
        label_file='cls_labels.npy',      # {image id: multi-hot vector}
        img_dir='JPEGImages', img_suffix='.jpg',
        mask_dir='SegmentationClass', seg_map_suffix='.png',
        # images that train the classifier and IRN and get seeds and masks
        train=dict(ann_file='ImageSets/Segmentation/train.txt'),
        # images whose seeds and masks are scored (a subset of train)
        eval=dict(ann_file='ImageSets/Segmentation/train.txt'),
        # images the segmentation model is validated and tested on
        val=dict(ann_file='ImageSets/Segmentation/val.txt'))

``train``/``eval``/``val`` may override ``img_dir``/``mask_dir`` (COCO keeps
``train2014``/``val2014``); ``eval`` always reads the train split's images,
since seeds and masks exist only for those. ``train=dict(..., mask_dir=None)``
declares training images without masks (weak supervision proper): the
stages then write seeds and masks for them without scoring them, and only
``eval`` (which needs masks) is scored. ``classes``/``palette`` default
to the dataset class's own (``VOCClsDataset``, ``COCOClsDataset``).

:func:`apply_description` writes the description into a stage config (every
dataset of it and every head's class count), :func:`validate_description`
checks it before any stage runs and names the file and the fix.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..datasets.dataset_tools import type_metainfo
from ..datasets.image_level_dataset import load_id_list, lookup_label
from ..utils.errors import UserError

#: keys a description may carry (anything else is a typo)
KEYS = ('type', 'data_root', 'classes', 'palette', 'label_file', 'img_dir',
        'img_suffix', 'mask_dir', 'seg_map_suffix', 'train', 'eval', 'val')
SPLIT_KEYS = ('ann_file', 'img_dir', 'mask_dir')


class DescriptionError(UserError, ValueError):
    """The pipeline config's ``dataset`` description is wrong."""


def _dataset_class_meta(type_name: str) -> dict:
    meta = type_metainfo(type_name)
    if meta is None:
        raise DescriptionError(
            f'dataset.type={type_name!r} is not a registered dataset: use '
            "'ImageLevelSegDataset' (any classes), 'VOCClsDataset' or "
            "'COCOClsDataset'")
    return meta


def normalise_description(desc: dict) -> dict:
    """Fill the defaults of a description and check its shape.

    Args:
        desc (dict): The pipeline config's ``dataset``.

    Returns:
        dict: Every key of :data:`KEYS` set; ``train``/``eval``/``val``
        each with ``ann_file``, ``img_dir`` and ``mask_dir``.
    """
    desc = dict(desc)
    unknown = sorted(set(desc) - set(KEYS))
    if unknown:
        raise DescriptionError(
            f'dataset has unknown key(s) {unknown}; known keys: '
            f'{", ".join(KEYS)}')
    desc.setdefault('type', 'ImageLevelSegDataset')
    if not desc.get('data_root'):
        raise DescriptionError('dataset.data_root is not set: the directory '
                               'that holds the images, masks and lists')
    meta = _dataset_class_meta(desc['type'])
    if desc.get('classes') is None:
        if 'classes' not in meta:
            raise DescriptionError(
                f'dataset.classes is not set and {desc["type"]} has no '
                'classes of its own: list them, background first')
        desc['classes'] = meta['classes']
    desc['classes'] = tuple(desc['classes'])
    if desc.get('palette') is None:
        desc['palette'] = meta.get('palette') if len(meta.get(
            'classes', ())) == len(desc['classes']) else None
    if desc['palette'] is not None:
        desc['palette'] = [list(map(int, c)) for c in desc['palette']]
    desc.setdefault('label_file', 'cls_labels.npy')
    desc.setdefault('img_dir', 'JPEGImages')
    desc.setdefault('img_suffix', '.jpg')
    desc.setdefault('mask_dir', 'SegmentationClassAug')
    desc.setdefault('seg_map_suffix', '.png')
    for split in ('train', 'eval', 'val'):
        s = desc.get(split)
        if isinstance(s, str):
            s = dict(ann_file=s)
        if not s or not s.get('ann_file'):
            raise DescriptionError(
                f'dataset.{split}.ann_file is not set: the image list of '
                f'the {split} split, relative to data_root')
        bad = sorted(set(s) - set(SPLIT_KEYS))
        if bad:
            raise DescriptionError(
                f'dataset.{split} has unknown key(s) {bad}; known keys: '
                f'{", ".join(SPLIT_KEYS)}')
        s = dict(s)
        s.setdefault('img_dir', desc['img_dir'])
        s.setdefault('mask_dir', desc['mask_dir'])
        desc[split] = s
    # seeds and masks exist for the train images only
    desc['eval']['img_dir'] = desc['train']['img_dir']
    return desc


def _missing(ids: List[str], folder: str, suffix: str) -> List[str]:
    """File names (``id + suffix``) of ``ids`` not in ``folder``."""
    return [
        i + suffix for i in ids
        if not osp.isfile(osp.join(folder, i + suffix))
    ]


def validate_description(desc: dict, max_named: int = 5) -> Dict[str, int]:
    """Check a normalised description against the files on disk.

    Checks, each failing with the file and the fix: classes (background
    first, no duplicates), palette (one RGB triple per class), the image
    lists (exist, not empty, every listed image exists, eval within train),
    the masks of eval and val (exist), the label file (exists, covers every
    train image, vectors of ``len(classes) - 1`` entries).

    Args:
        desc (dict): Output of :func:`normalise_description`.
        max_named (int): File names quoted per error.

    Returns:
        dict[str, int]: Number of images per split.

    Raises:
        DescriptionError: On the first problem found.
    """
    _check_classes(desc['classes'], desc['palette'])
    root = desc['data_root']
    if not osp.isdir(root):
        raise DescriptionError(
            f'dataset.data_root {root} does not exist: set it to the '
            'directory that holds the images and lists')
    ids = {
        split: _check_image_list(desc, split, max_named)
        for split in ('train', 'eval', 'val')
    }
    outside = sorted(set(ids['eval']) - set(ids['train']))
    if outside:
        raise DescriptionError(
            f'{len(outside)} image(s) of dataset.eval '
            f'({desc["eval"]["ann_file"]}) are not in dataset.train '
            f'({desc["train"]["ann_file"]}), e.g. {outside[:max_named]}: '
            'seeds and masks are made for the train images only')
    for split in ('eval', 'val'):
        _check_masks(desc, split, ids[split], max_named)
    _check_label_file(desc, ids['train'], max_named)
    return {split: len(split_ids) for split, split_ids in ids.items()}


def _check_classes(classes: Sequence[str], palette) -> None:
    """Background first, no duplicates, one RGB colour per class."""
    if len(classes) < 2:
        raise DescriptionError(
            f'dataset.classes={classes!r}: needs the background and at least '
            'one foreground class')
    if str(classes[0]).lower() not in ('background', 'bg', '_background_'):
        raise DescriptionError(
            f'dataset.classes starts with {classes[0]!r}: list the '
            "background first ('background', then the foreground classes); "
            'masks use 0 for background')
    dup = sorted({c for c in classes if list(classes).count(c) > 1})
    if dup:
        raise DescriptionError(f'dataset.classes names {dup} twice')
    if palette is None:
        raise DescriptionError(
            f'dataset.palette is not set for {len(classes)} classes: give '
            'one [R, G, B] per class (it colours the masks written)')
    if len(palette) < len(classes) or any(
            len(c) != 3 or min(c) < 0 or max(c) > 255 for c in palette):
        raise DescriptionError(
            f'dataset.palette has {len(palette)} colour(s) for '
            f'{len(classes)} classes: give one [R, G, B] (0-255) per class, '
            'background first')


def _check_image_list(desc: dict, split: str, max_named: int) -> List[str]:
    """The ids of ``split``'s list; the list exists, is not empty and every
    image it names exists."""
    s = desc[split]
    path = osp.join(desc['data_root'], s['ann_file'])
    if not osp.isfile(path):
        raise DescriptionError(
            f'dataset.{split}.ann_file: image list {path} does not '
            'exist; write one image id per line')
    ids = load_id_list(path)
    if not ids:
        raise DescriptionError(
            f'dataset.{split}.ann_file: image list {path} is empty')
    img_dir = osp.join(desc['data_root'], s['img_dir'])
    missing = _missing(ids, img_dir, desc['img_suffix'])
    if missing:
        raise DescriptionError(
            f'{len(missing)} of {len(ids)} images listed in {path} '
            f'are not in {img_dir} (e.g. '
            f'{", ".join(missing[:max_named])}): fix the list, '
            'dataset.img_dir or dataset.img_suffix')
    return ids


def _check_masks(desc: dict, split: str, ids: List[str],
                 max_named: int) -> None:
    """A scored split (eval, val) has a mask for every image."""
    if desc[split]['mask_dir'] is None:
        raise DescriptionError(
            f'dataset.{split}.mask_dir is None: the {split} images are '
            'scored, so they need masks (only dataset.train may go '
            'without)')
    mask_dir = osp.join(desc['data_root'], desc[split]['mask_dir'])
    missing = _missing(ids, mask_dir, desc['seg_map_suffix'])
    if missing:
        raise DescriptionError(
            f'{len(missing)} of {len(ids)} masks of dataset.'
            f'{split} are not in {mask_dir} (e.g. '
            f'{", ".join(missing[:max_named])}): the {split} images are '
            f'scored against them; fix dataset.{split}.mask_dir or '
            'dataset.seg_map_suffix')


def _check_label_file(desc: dict, train_ids: List[str],
                      max_named: int) -> None:
    path = osp.join(desc['data_root'], desc['label_file'])
    if not osp.isfile(path):
        raise DescriptionError(
            f'dataset.label_file {path} does not exist: write the '
            'image-level labels ({image id: multi-hot vector}, np.save) with '
            'tools/dataset_converters/labels_from_masks.py or your own '
            'script')
    try:
        labels = np.load(path, allow_pickle=True).item()
    except Exception as exc:  # noqa: BLE001
        raise DescriptionError(
            f'dataset.label_file {path} is not an np.save-d dict '
            f'{{image id: vector}}: {exc}') from exc
    num_fg = len(desc['classes']) - 1
    absent, lengths = [], {}
    for img_id in train_ids:
        vec = lookup_label(labels, img_id)
        if vec is None:
            absent.append(img_id)
            continue
        lengths.setdefault(vec.size, img_id)
    if absent:
        raise DescriptionError(
            f'{len(absent)} of {len(train_ids)} train images have no label '
            f'in {path} (e.g. {absent[:max_named]}): regenerate the label '
            'file for dataset.train')
    wrong = {n: i for n, i in lengths.items() if n != num_fg}
    if wrong:
        n, img_id = next(iter(wrong.items()))
        raise DescriptionError(
            f'{path} holds {n}-class label vectors (e.g. {img_id}) but '
            f'dataset.classes names {num_fg} foreground classes: the label '
            'file belongs to another dataset, or dataset.classes is wrong '
            '(list the background first, then one name per label entry)')


# ----------------------------------------------------------------- configs
def _dataset_cfg(desc: dict,
                 split: str,
                 ds: dict,
                 keep_masks: bool = False) -> dict:
    """``ds`` (a stage config's dataset dict) rewritten for ``split``;
    ``keep_masks`` keeps its mask folder (the previous stage's outputs a
    model trains on, never the ground truth)."""
    s = desc[split]
    ds = dict(ds)
    ds['type'] = desc['type']
    ds['data_root'] = desc['data_root']
    ds['ann_file'] = s['ann_file']
    ds['img_suffix'] = desc['img_suffix']
    ds['seg_map_suffix'] = desc['seg_map_suffix']
    ds['metainfo'] = dict(
        classes=tuple(desc['classes']),
        palette=[list(c) for c in desc['palette']])
    prefix = dict(ds.get('data_prefix') or {})
    prefix['img_path'] = s['img_dir']
    if not keep_masks or not prefix.get('seg_map_path'):
        prefix['seg_map_path'] = s['mask_dir']
    ds['data_prefix'] = prefix
    if ds.get('image_labels', True):
        ds['cls_label_file'] = desc['label_file']
    return ds


def _set_dataset(cfg,
                 key: str,
                 desc: dict,
                 split: str,
                 keep_masks: bool = False) -> None:
    node = cfg.get(key)
    if node is None:
        return
    if 'dataset' in node:
        node['dataset'] = _dataset_cfg(desc, split, node['dataset'],
                                       keep_masks)
    else:
        cfg[key] = _dataset_cfg(desc, split, node, keep_masks)


def _drop_load_annotations(ds) -> None:
    """Remove ``LoadAnnotations`` from a dataset's pipeline."""
    ds['pipeline'] = [
        t for t in ds.get('pipeline', []) if t.get('type') != 'LoadAnnotations'
    ]


def _set_head_classes(head, num_classes: int) -> None:
    heads = head if isinstance(head, (list, tuple)) else [head]
    for h in heads:
        if h is not None and 'num_classes' in h:
            h['num_classes'] = num_classes


def apply_description(cfg, desc: dict, role: str) -> None:
    """Write a normalised description into a stage config, in place.

    Args:
        cfg (Config): A CoBra (``role='cobra'``), IRN (``'irn'``) or
            segmentation (``'seg'``) config.
        desc (dict): Output of :func:`normalise_description`.
        role (str): Which stage the config is.

    The CoBra config trains on ``train`` and tests (seeds, scored) on
    ``eval``; IRN makes IR labels of and trains on ``train``, tests on
    ``eval``; segmentation trains on ``train`` and validates/tests on
    ``val``. The pipeline points the seed and mask generation at ``train``
    and the training masks at the previous stage's outputs.
    """
    num_classes = len(desc['classes'])
    no_train_masks = desc['train']['mask_dir'] is None
    if role == 'cobra':
        _set_dataset(cfg, 'train_dataloader', desc, 'train')
        _set_dataset(cfg, 'test_dataloader', desc, 'eval')
        cfg.model['num_classes'] = num_classes - 1
        if no_train_masks:  # guide-quality diagnostics off; seeds unscored
            _drop_load_annotations(cfg.train_dataloader.dataset)
            _drop_load_annotations(cfg.test_dataloader.dataset)
    elif role == 'irn':
        _set_dataset(cfg, 'ir_label_dataset', desc, 'train')
        _set_dataset(cfg, 'train_dataloader', desc, 'train', keep_masks=True)
        _set_dataset(cfg, 'test_dataloader', desc, 'eval')
        if no_train_masks:  # masks of the train images: written, unscored
            _drop_load_annotations(cfg.test_dataloader.dataset)
    elif role == 'seg':
        _set_dataset(cfg, 'train_dataloader', desc, 'train', keep_masks=True)
        _set_dataset(cfg, 'val_dataloader', desc, 'val')
        _set_dataset(cfg, 'test_dataloader', desc, 'val')
        _set_head_classes(cfg.model.get('decode_head'), num_classes)
        _set_head_classes(cfg.model.get('auxiliary_head'), num_classes)
    else:
        raise ValueError(f'role must be cobra, irn or seg, not {role!r}')
    cfg['data_root'] = desc['data_root']


def description_summary(desc: dict,
                        counts: Optional[Dict[str, int]] = None) -> str:
    """One line: root, class count, images per split."""
    n = len(desc['classes']) - 1
    parts = [f'{desc["data_root"]}: {n} foreground classes']
    for split in ('train', 'eval', 'val'):
        c = f'{counts[split]} images, ' if counts else ''
        parts.append(f'{split} {c}{desc[split]["ann_file"]}')
    return '; '.join(parts)


__all__ = [
    'DescriptionError', 'normalise_description', 'validate_description',
    'apply_description', 'description_summary'
]
