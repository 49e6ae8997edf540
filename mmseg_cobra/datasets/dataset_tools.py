"""Helpers shared by the offline tools that walk a config's dataset."""
import os
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from ..utils.file_io import write_text
from .dataset_check import check_dataset, format_ok, format_report
from .image_level_dataset import DatasetError


def dataset_from_config(cfg: Config,
                        key: str = 'test_dataloader',
                        data_root: Optional[str] = None):
    """Build the dataset of ``cfg[key]`` (or ``cfg[key]`` itself if it is a
    dataset config) without its pipeline and seed check, for offline tools.

    Raises:
        DatasetError: The dataset cannot be built (its message names the
            file, e.g. "dataset not found at ...").
    """
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg[key]
    ds_cfg = ds_cfg.dataset if 'dataset' in ds_cfg else ds_cfg
    ds_cfg = ds_cfg.copy()
    ds_cfg.pipeline = []
    ds_cfg.pop('seed_dir', None)
    if data_root:
        ds_cfg.data_root = data_root
    return DATASETS.build(ds_cfg)


def image_tasks(dataset) -> List[Tuple[str, str]]:
    """``(img_id, img_path)`` of every sample."""
    infos = (dataset.get_data_info(i) for i in range(len(dataset)))
    return [(info['img_id'], info['img_path']) for info in infos]


def type_metainfo(type_name: str) -> Optional[dict]:
    """The ``METAINFO`` (classes, palette) of the dataset type registered
    as ``type_name``, ``{}`` if it has none; None if no dataset of that
    name is registered."""
    dataset_type = DATASETS.get(type_name or '')
    if dataset_type is None:
        return None
    return dict(getattr(dataset_type, 'METAINFO', {}) or {})


def dataset_metainfo(ds_cfg) -> dict:
    """The classes (background first) and palette of a dataset config (a
    wrapper's inner dataset): each from its ``metainfo``, else from its
    type's ``METAINFO``; a key neither has is left out. The one reading of
    a config's classes (the seed report, the inferencer, the class-count
    check)."""
    while ds_cfg is not None and 'dataset' in ds_cfg:  # dataset wrappers
        ds_cfg = ds_cfg['dataset']
    if ds_cfg is None:
        return {}
    given = dict(ds_cfg.get('metainfo') or {})
    defaults = type_metainfo(ds_cfg.get('type', '')) or {}
    out = {}
    for key in ('classes', 'palette'):
        value = given.get(key) or defaults.get(key)
        if value:
            out[key] = value
    return out


def dataset_classes(cfg: Config, key: str) -> Optional[Tuple[str, ...]]:
    """The classes (background first) of the dataset of ``cfg[key]``
    (:func:`dataset_metainfo`); None if unknown."""
    if cfg.get(key) is None:
        return None
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    classes = dataset_metainfo(cfg.get(key)).get('classes')
    return tuple(classes) if classes else None


def check_class_count(cfg: Config, config_path: str) -> None:
    """The model's class count against its datasets', before anything is
    built (otherwise a classifier fails at its first iteration, a
    segmentation head trains with the wrong number of outputs).

    A CoBra classifier's ``model.num_classes`` counts the foreground
    classes; a segmentation head's ``num_classes`` counts them with the
    background.

    Raises:
        DatasetError: The counts differ; the message names the config, both
            counts and the fix.
    """
    model = cfg.get('model') or {}
    heads = []
    if 'num_classes' in model:
        heads.append(('model.num_classes', model['num_classes'], 1))
    for head in ('decode_head', 'auxiliary_head'):
        head_cfg = model.get(head)
        if isinstance(head_cfg, dict) and 'num_classes' in head_cfg:
            heads.append(
                (f'model.{head}.num_classes', head_cfg['num_classes'], 0))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        classes = dataset_classes(cfg, key)
        if classes is None:
            continue
        for name, value, background in heads:
            expected = len(classes) - background
            if value != expected:
                what = 'foreground classes' if background else \
                    'classes with the background'
                raise DatasetError(
                    f'{config_path}: {name} = {value} but the dataset of '
                    f'{key} has {expected} {what} ({", ".join(classes[:4])}'
                    f'{", ..." if len(classes) > 4 else ""}): set {name}='
                    f'{expected}, or give the dataset its metainfo.classes')


def check_before_run(cfg: Config,
                     keys: Tuple[str, ...],
                     work_dir: str,
                     skip_bad: bool = False,
                     nproc: int = 2,
                     use_cache: bool = True) -> int:
    """Check the datasets of ``cfg[key]`` for each key before a long job.

    Bad images stop the job with every bad file named (a
    :class:`~mmseg_cobra.datasets.DatasetError`), unless ``skip_bad``: then
    their ids go to ``<work_dir>/bad_images_<key>.txt``, the dataset config
    gets ``exclude_file`` pointing to it, and the count is returned (and
    logged by the dataset when it is built).

    Returns:
        int: Images left out.
    """
    left_out = 0
    for key in keys:
        if key not in cfg or cfg[key] is None:
            continue
        dataset = dataset_from_config(cfg, key)
        stats = {}
        bad = check_dataset(
            dataset, nproc=nproc, use_cache=use_cache, stats=stats)
        if not bad:
            print_log(
                f'dataset check ({key}): '
                f'{format_ok(len(dataset), stats)}',
                logger='current')
            continue
        report = format_report(bad, len(dataset))
        if not skip_bad:
            raise DatasetError(
                f'dataset check ({key}) failed. {report}\nFix or remove '
                'these files, or pass --skip-bad-images to leave them out '
                '(they are then counted in the log)')
        os.makedirs(work_dir, exist_ok=True)
        path = osp.join(osp.abspath(work_dir), f'bad_images_{key}.txt')
        write_text('\n'.join(sorted(bad)) + '\n', path)
        _dataset_cfg(cfg, key).exclude_file = path
        left_out += len(bad)
        print_log(
            f'dataset check ({key}): skipping {len(bad)} bad images '
            f'(listed in {path}). {report}',
            logger='current',
            level=30)
    return left_out


def check_on_rank0(cfg: Config,
                   keys: Tuple[str, ...],
                   work_dir: str,
                   skip_bad: bool = False,
                   use_cache: bool = True) -> int:
    """:func:`check_before_run` on rank 0 only (after the process group is
    up); every rank gets its verdict: the same :class:`DatasetError`, or
    the same ``exclude_file`` of the bad images left out.

    Returns:
        int: Images left out.
    """
    from mmengine.dist import get_rank

    from ..utils.sharding import broadcast_from_rank0
    verdict = None
    if get_rank() == 0:
        try:
            left_out = check_before_run(
                cfg, keys, work_dir, skip_bad=skip_bad, use_cache=use_cache)
            verdict = dict(
                left_out=left_out,
                exclude={
                    key: _dataset_cfg(cfg, key).get('exclude_file')
                    for key in keys if cfg.get(key) is not None
                })
        except DatasetError as exc:
            verdict = dict(error=str(exc))
    verdict = broadcast_from_rank0(verdict)
    if 'error' in verdict:
        raise DatasetError(verdict['error'])
    for key, path in verdict['exclude'].items():
        if path:
            _dataset_cfg(cfg, key).exclude_file = path
    return verdict['left_out']


def _dataset_cfg(cfg: Config, key: str):
    return cfg[key].dataset if 'dataset' in cfg[key] else cfg[key]
