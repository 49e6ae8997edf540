"""Segmentation datasets that also carry image-level (multi-hot) labels."""
import io
import logging
import os.path as osp
from typing import List, Optional

import mmengine
import numpy as np
from mmengine.fileio import get
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from ..structures import IGNORE_INDEX
from ..utils.errors import UserError
from ..utils.image_io import dir_exists, file_exists, read_label


class DatasetError(UserError, RuntimeError):
    """The files of a dataset are missing or do not fit its config."""


@DATASETS.register_module()
class ImageLevelSegDataset(BaseSegDataset):
    """An mmseg dataset whose samples carry an image-level label vector.

    Each sample gets ``gt_label``: ``float32[num_fg]`` (one entry per
    foreground class, background excluded), read from an IRN-style label file
    (``np.save``-ed dict ``{image id: vector}``) or, without one, derived from
    the segmentation masks (every non-background, non-ignored class present).
    The label file may key images by their id (``'2007_000032'``) or, as
    IRN's and the reference's ``cls_labels.npy`` do, by an integer
    (``2007000032``; COCO ``COCO_train2014_000000000009`` -> ``9``), see
    :func:`integer_image_key`.

    Args:
        cls_label_file (str, optional): Label dict file, relative to
            ``data_root``. ``None`` derives labels from ``seg_map_path``.
        check_files (bool): Check that every listed image (and mask, where
            masks are read) exists when the dataset is built, so a missing file
            fails at start-up with its name instead of hours into a run.
        seed_dir (str, optional): Directory of seed files
            (``<img_id>.npz``). Each sample gets ``seed_path``; images
            without a seed are dropped, and their number and names are
            reported.
        image_labels (bool): Attach ``gt_label`` (False for plain
            segmentation training on pseudo masks).
        seg_map_required (bool): With ``check_files``, also require every
            mask (e.g. the IR labels or pseudo masks a model trains on); a
            missing one fails at start-up with the count and names.
        exclude_file (str, optional): A text file of image ids to leave out
            (one per line), e.g. the bad images found by
            ``tools/check_dataset.py`` / ``tools/train.py
            --skip-bad-images``; their number is logged.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments;
            ``data_prefix.seg_map_path=None`` declares images without masks
            (every sample gets ``seg_map_path=None``).
    """

    def __init__(self,
                 cls_label_file: Optional[str] = None,
                 check_files: bool = True,
                 seed_dir: Optional[str] = None,
                 image_labels: bool = True,
                 seg_map_required: bool = False,
                 exclude_file: Optional[str] = None,
                 **kwargs) -> None:
        self.image_labels = image_labels
        self.cls_label_file = cls_label_file
        self.check_files = check_files
        self.seed_dir = seed_dir
        self.seg_map_required = seg_map_required
        self.exclude_file = exclude_file
        # data_prefix.seg_map_path=None: images without masks (a dataset's
        # training images in weak supervision); samples get
        # seg_map_path=None
        prefix = dict(kwargs.get('data_prefix') or {})
        self.has_masks = 'seg_map_path' not in prefix or \
            prefix['seg_map_path'] is not None
        if not self.has_masks:
            if seg_map_required:
                raise DatasetError('seg_map_required=True but '
                                   'data_prefix.seg_map_path is None')
            prefix['seg_map_path'] = ''
            kwargs['data_prefix'] = prefix
        super().__init__(**kwargs)

    @property
    def num_fg_classes(self) -> int:
        """Number of foreground classes (the label vector's length)."""
        return len(self._metainfo['classes']) - 1

    def _resolve(self, path: Optional[str]) -> Optional[str]:
        if path is None or self.data_root is None or osp.isabs(path):
            return path
        return osp.join(self.data_root, path)

    def load_data_list(self) -> List[dict]:
        """Read the id list, attach labels and check every file.

        Returns:
            list[dict]: mmseg data infos with an extra ``gt_label`` and
            ``img_id``.
        """
        self._check_locations()
        data_list = [  # blank lines of the list are not images
            i for i in super().load_data_list()
            if osp.basename(i['img_path']) != self.img_suffix
        ]
        if not self.has_masks:
            for info in data_list:
                info['seg_map_path'] = None
        if not data_list:
            raise DatasetError(
                f'the image list {self.ann_file or self.data_prefix} is '
                'empty: nothing to train on or generate; check ann_file')
        if self.exclude_file:
            data_list = self._exclude(data_list)
        self._attach_labels(data_list)
        if self.check_files and self.seg_map_required:
            self._check_label_maps(data_list)
        if self.seed_dir is not None:
            data_list = self._attach_seeds(data_list)
        print_log(
            f'{type(self).__name__}: {len(data_list)} images from '
            f'{self.ann_file or self.data_prefix.get("img_path")}',
            logger='current')
        return data_list

    def _check_locations(self) -> None:
        """The data root and the image list exist."""
        if self.data_root is not None and not dir_exists(
                self.data_root, self.backend_args):
            raise DatasetError(
                f'dataset not found at {self.data_root}: set data_root in the '
                'config (or --cfg-options data_root=...) to the directory '
                'that holds the images; see docs/user_guides/datasets.md')
        # mmseg reads the list from the local disk (even with backend_args)
        if self.ann_file and not osp.isfile(self.ann_file):
            raise DatasetError(
                f'image list {self.ann_file} does not exist: generate it with '
                'tools/dataset_converters (see docs/user_guides/datasets.md)')

    def _attach_labels(self, data_list: List[dict]) -> None:
        """``img_id`` and (image-level datasets) ``gt_label`` of every
        image, which must exist when ``check_files``."""
        labels = self._load_label_file() if self.image_labels else None
        missing = []
        for info in data_list:
            img_id = osp.splitext(osp.basename(info['img_path']))[0]
            info['img_id'] = img_id
            if self.check_files and not file_exists(info['img_path'],
                                                    self.backend_args):
                missing.append(info['img_path'])
                continue
            if not self.image_labels:
                continue
            if labels is not None:
                info['gt_label'] = self._label_from_dict(labels, img_id)
            else:
                info['gt_label'] = self._label_from_mask(info)
        if missing:
            raise DatasetError(
                f'{len(missing)} image(s) listed in {self.ann_file} are '
                f'missing, e.g. {missing[0]}; fix the list or the data_root')

    def _check_label_maps(self, data_list: List[dict]) -> None:
        """Every image has its label map (a previous stage's output)."""
        lacking = [
            i['seg_map_path'] for i in data_list
            if not file_exists(i['seg_map_path'], self.backend_args)
        ]
        if lacking:
            raise DatasetError(
                f'{len(lacking)} of {len(data_list)} label maps are '
                f'missing, e.g. {", ".join(lacking[:3])}: the previous '
                'stage did not finish (run it again; it resumes)')

    def _exclude(self, data_list: List[dict]) -> List[dict]:
        path = self._resolve(self.exclude_file)
        if not osp.isfile(path):
            raise DatasetError(f'exclude_file {path} does not exist')
        excluded = set(load_id_list(path))
        kept = [
            i for i in data_list
            if osp.splitext(osp.basename(i['img_path']))[0] not in excluded
        ]
        print_log(
            f'{len(data_list) - len(kept)} of {len(data_list)} images '
            f'left out (listed in {path})',
            logger='current',
            level=logging.WARNING)
        if not kept:
            raise DatasetError(f'every image is listed in {path}: nothing '
                               'left to train on')
        return kept

    def _attach_seeds(self, data_list: List[dict]) -> List[dict]:
        seed_dir = self._resolve(self.seed_dir)
        kept, lacking = [], []
        for info in data_list:
            path = osp.join(seed_dir, info['img_id'] + '.npz')
            if osp.isfile(path):
                info['seed_path'] = path
                kept.append(info)
            else:
                lacking.append(info['img_id'])
        if lacking:
            print_log(
                f'WARNING: {len(lacking)} of {len(data_list)} images have no '
                f'seed in {seed_dir} and are skipped: '
                f'{", ".join(lacking[:10])}'
                f'{" ..." if len(lacking) > 10 else ""}',
                logger='current',
                level=logging.WARNING)
        if not kept:
            raise DatasetError(f'no seed file found in {seed_dir}: run the '
                               'seed stage (tools/test.py on the CoBra '
                               'config) first')
        return kept

    def _load_label_file(self) -> Optional[dict]:
        path = self._resolve(self.cls_label_file)
        if path is None:
            return None
        if not file_exists(path, self.backend_args):
            raise DatasetError(
                f'image-level label file {path} does not exist: write it with '
                'tools/dataset_converters/voc_aug.py (or coco2014.py), or set '
                'cls_label_file=None to derive labels from the masks')
        try:
            labels = np.load(
                io.BytesIO(get(path, backend_args=self.backend_args)),
                allow_pickle=True).item()
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(
                f'image-level label file {path} is not an np.save-d dict '
                f'{{image id: vector}}: {exc}') from exc
        return labels

    def _label_from_dict(self, labels: dict, img_id: str) -> np.ndarray:
        vec = lookup_label(labels, img_id)
        if vec is None:
            raise DatasetError(
                f'image {img_id} (listed in {self.ann_file}) has no entry in '
                f'the label file {self._resolve(self.cls_label_file)}; '
                'regenerate the label file for this image list')
        if vec.shape[0] != self.num_fg_classes:
            raise DatasetError(
                f'label of image {img_id} in '
                f'{self._resolve(self.cls_label_file)} has {vec.shape[0]} '
                f'entries but the dataset has {self.num_fg_classes} '
                'foreground classes: the label file belongs to another '
                'dataset, or metainfo.classes is wrong')
        if not np.isin(vec, (0.0, 1.0)).all():
            bad = sorted({float(v) for v in vec if v not in (0.0, 1.0)})
            raise DatasetError(
                f'label of image {img_id} in '
                f'{self._resolve(self.cls_label_file)} holds '
                f'{", ".join(f"{v:g}" for v in bad[:5])}: an image-level '
                'label is multi-hot, 1 for each class in the image and 0 '
                'otherwise (some label files mark unknown or difficult '
                'classes -1, or hold scores): write 0/1 vectors')
        return vec

    def _label_from_mask(self, info: dict) -> np.ndarray:
        seg_path = info.get('seg_map_path')
        if seg_path is None:
            raise DatasetError(
                'no cls_label_file and no seg_map_path: image-level labels '
                'need one of them')
        if not file_exists(seg_path, self.backend_args):
            raise DatasetError(
                f'mask {seg_path} is missing: it is needed to derive the '
                'image-level label (or give cls_label_file)')
        present = foreground_classes(
            read_label(seg_path, self.backend_args), self.ignore_index)
        if present.size and present.max() > self.num_fg_classes:
            raise DatasetError(
                f'mask {seg_path} contains class {int(present.max())} but '
                f'the dataset has {self.num_fg_classes} foreground classes')
        return multi_hot(present, self.num_fg_classes)


def lookup_label(labels: dict, img_id: str) -> Optional[np.ndarray]:
    """An image's vector (``float32``, flat) in a label dict keyed by image
    id or, as IRN's files, by :func:`integer_image_key`; ``None`` if absent.
    """
    vec = labels.get(img_id)
    if vec is None:
        vec = labels.get(integer_image_key(img_id))
    return None if vec is None else np.asarray(vec, np.float32).reshape(-1)


def foreground_classes(mask: np.ndarray,
                       ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Sorted class ids in a label map, without background (0) and the
    ignore index."""
    present = np.unique(mask)
    return present[(present > 0) & (present != ignore_index)]


def multi_hot(class_ids: np.ndarray, num_fg: int) -> np.ndarray:
    """``float32[num_fg]`` with 1 at each id (ids 1..num_fg)."""
    vec = np.zeros(num_fg, np.float32)
    vec[np.asarray(class_ids, np.int64) - 1] = 1.0
    return vec


def integer_image_key(img_id: str) -> Optional[int]:
    """The integer IRN-style label files use for an image id.

    VOC ids drop the underscore (``'2007_000032'`` -> ``2007000032``, IRN's
    ``decode_int_filename`` inverse); COCO-style ids keep the number after
    the last underscore (``'COCO_train2014_000000000009'`` -> ``9``).
    Returns ``None`` for an id without such a number.
    """
    joined = img_id.replace('_', '')
    if joined.isdigit():
        return int(joined)
    tail = img_id.rsplit('_', 1)[-1]
    return int(tail) if tail.isdigit() else None


def load_id_list(path: str) -> List[str]:
    """Read an image-id list (one id per line, blank lines ignored)."""
    return [x.strip() for x in mmengine.list_from_file(path) if x.strip()]
