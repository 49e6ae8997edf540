"""Check every file of a dataset before a long job reads it.

Every listed image must decode completely (a truncated JPEG is an error:
PIL's full decode is used, as OpenCV silently returns a partial image); every
mask that exists (or is required) must decode, hold only the dataset's class
ids or the ignore index, and have its image's size. Problems that stop the
dataset from being built at all (a missing image, an image without a label
vector, a label vector of the wrong length, an empty list) are
:class:`~mmseg_cobra.datasets.DatasetError` already; the check reports them
the same way.

Samples found good are remembered (:class:`CheckCache`, one small JSON file
per image folder under ``~/.cache/mmseg_cobra/dataset_check``, or
``$MMSEG_COBRA_CACHE_DIR``), keyed by the image's and mask's path, size and
modification time and by the class count: a rerun decodes only what is new
or changed. Bad samples are never remembered.
"""
import hashlib
import json
import os
import os.path as osp
from functools import partial
from typing import Dict, List, Optional, Set, Tuple

import numpy as np
from mmengine.utils import track_parallel_progress

from ..structures import IGNORE_INDEX
from ..utils.file_io import dump_json
from ..utils.image_io import file_exists, is_local, open_image


def check_sample(task: Tuple[str, str, Optional[str], bool],
                 num_classes: int,
                 ignore_index: int = IGNORE_INDEX,
                 backend_args: Optional[dict] = None) -> Tuple[str, List[str]]:
    """Problems of one sample.

    Args:
        task (tuple): ``(img_id, img_path, seg_map_path, mask_required)``.
        num_classes (int): Classes including background.
        ignore_index (int): The ignore label.
        backend_args (dict, optional): mmengine file backend arguments
            (the dataset's ``backend_args``): files are read through it.

    Returns:
        tuple: ``img_id`` and its problems (empty if the sample is fine).
    """
    img_id, img_path, seg_path, mask_required = task
    problems, size = [], None
    if not file_exists(img_path, backend_args):
        problems.append(f'image {img_path} is missing')
    else:
        try:  # full decode: raises on a truncated file
            size = open_image(img_path, backend_args).size[::-1]
        except Exception as exc:  # noqa: BLE001 - any decoder failure
            problems.append(f'image {img_path} does not decode ({exc})')
    if not file_exists(seg_path, backend_args):
        if mask_required:
            problems.append(f'mask {seg_path} is missing')
        return img_id, problems
    try:
        mask = np.asarray(open_image(seg_path, backend_args))
    except Exception as exc:  # noqa: BLE001
        problems.append(f'mask {seg_path} does not decode ({exc})')
        return img_id, problems
    if mask.ndim != 2:
        problems.append(f'mask {seg_path} has shape {mask.shape}: a label '
                        'map must be one channel (palette or grey PNG)')
        return img_id, problems
    values = np.unique(mask)
    unknown = values[(values >= num_classes) & (values != ignore_index)]
    if unknown.size:
        problems.append(
            f'mask {seg_path} holds class id(s) '
            f'{", ".join(str(int(v)) for v in unknown[:5])} but the dataset '
            f'has {num_classes} classes (0..{num_classes - 1}, '
            f'{ignore_index} ignored)')
    if size is not None and mask.shape != tuple(size):
        problems.append(f'mask {seg_path} is {mask.shape[0]}x{mask.shape[1]}'
                        f' but its image is {size[0]}x{size[1]}')
    return img_id, problems


def _stat(path: Optional[str]) -> str:
    if path is None or not osp.isfile(path):
        return f'{path}:absent'
    st = os.stat(path)
    return f'{osp.abspath(path)}:{st.st_size}:{st.st_mtime_ns}'


class CheckCache:
    """The samples of one image folder already checked and found good.

    Args:
        img_dir (str): The dataset's image folder (one cache file per
            folder and class count).
        num_classes (int): Classes including background.
        cache_dir (str, optional): Where the cache files live; default
            ``$MMSEG_COBRA_CACHE_DIR`` or ``~/.cache/mmseg_cobra``, plus
            ``dataset_check/``.
    """

    def __init__(self,
                 img_dir: str,
                 num_classes: int,
                 cache_dir: Optional[str] = None) -> None:
        root = cache_dir or os.environ.get('MMSEG_COBRA_CACHE_DIR') or \
            osp.join(osp.expanduser('~'), '.cache', 'mmseg_cobra')
        digest = hashlib.sha1(
            f'{osp.abspath(img_dir)}|{num_classes}'.encode()).hexdigest()
        self.path = osp.join(root, 'dataset_check', digest[:16] + '.json')
        self.good: Set[str] = set()
        try:
            with open(self.path) as f:
                self.good = set(json.load(f))
        except (OSError, ValueError):
            self.good = set()  # no cache yet, or an unreadable one

    @staticmethod
    def key(task: Tuple[str, str, Optional[str], bool]) -> str:
        """What a sample's result depends on (paths, sizes, mtimes)."""
        _, img_path, seg_path, mask_required = task
        return f'{_stat(img_path)}|{_stat(seg_path)}|{int(mask_required)}'

    def remember(self, good_keys: Set[str]) -> None:
        """Remember ``good_keys`` (atomic; a failure to write is ignored:
        the cache only saves time)."""
        self.good |= good_keys
        try:
            dump_json(sorted(self.good), self.path, indent=None)
        except OSError:
            pass


def check_dataset(dataset,
                  nproc: int = 1,
                  mask_required: Optional[bool] = None,
                  use_cache: bool = True,
                  stats: Optional[dict] = None) -> Dict[str, List[str]]:
    """Check every sample of a built dataset.

    Args:
        dataset: An mmseg dataset (``get_data_info`` with ``img_path`` and
            ``seg_map_path``), e.g. :class:`ImageLevelSegDataset`.
        nproc (int): Worker processes.
        mask_required (bool, optional): Whether every mask must exist;
            default: the dataset's ``seg_map_required``.
        use_cache (bool): Skip samples unchanged since they were last found
            good (:class:`CheckCache`), and remember the good ones (local
            files only: a remote backend has no modification times here).
        stats (dict, optional): Filled with ``checked`` and ``cached``
            (samples decoded now / skipped as unchanged).

    Returns:
        dict: ``img_id -> problems`` for the bad samples only.
    """
    if mask_required is None:
        mask_required = bool(getattr(dataset, 'seg_map_required', False))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    tasks = [(info.get('img_id')
              or osp.splitext(osp.basename(info['img_path']))[0],
              info['img_path'], info.get('seg_map_path'), mask_required)
             for info in infos]
    num_classes = len(dataset.metainfo['classes'])
    backend_args = getattr(dataset, 'backend_args', None)
    cache = None
    if use_cache and tasks and is_local(tasks[0][1], backend_args):
        cache = CheckCache(osp.dirname(tasks[0][1]), num_classes)
        keys = {t[0]: CheckCache.key(t) for t in tasks}
        todo = [t for t in tasks if keys[t[0]] not in cache.good]
    else:
        todo = tasks
    if stats is not None:
        stats.update(checked=len(todo), cached=len(tasks) - len(todo))
    worker = partial(
        check_sample,
        num_classes=num_classes,
        ignore_index=getattr(dataset, 'ignore_index', IGNORE_INDEX),
        backend_args=backend_args)
    if nproc > 1 and len(todo) > 1:
        results = track_parallel_progress(worker, todo, nproc)
    else:
        results = [worker(t) for t in todo]
    bad = {img_id: problems for img_id, problems in results if problems}
    if cache is not None and todo:
        cache.remember({keys[i] for i, _ in results if i not in bad})
    return bad


def format_ok(total: int, stats: dict) -> str:
    """The line for a dataset without problems (with the cache's share)."""
    cached = (f' ({stats["cached"]} unchanged since they were last found '
              'good, not decoded again)' if stats.get('cached') else '')
    return f'{total} images, all readable{cached}'


def format_report(bad: Dict[str, List[str]],
                  total: int,
                  limit: int = 50) -> str:
    """The bad files, one line each (the first ``limit``), and the count."""
    lines = [f'{len(bad)} of {total} images have problems:']
    shown = 0
    for problems in bad.values():
        for problem in problems:
            if shown < limit:
                lines.append(f'  {problem}')
            shown += 1
    if shown > limit:
        lines.append(f'  ... and {shown - limit} more')
    return '\n'.join(lines)
