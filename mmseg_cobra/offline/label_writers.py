"""Per-image label writers behind the offline tools.

``tools/make_ir_labels.py`` (IR labels from seeds),
``tools/masks_from_walks.py``
(pseudo masks from walked maps) and ``tools/crf_masks.py`` (CRF-only masks
from seeds) do the same thing per image: skip an image whose PNG exists
(resume), read the image, read its input file, make a label map, write it
atomically as a palette PNG. :class:`LabelWriter` is that loop, run in a
process pool (mmengine's ``track_parallel_progress``), on this rank's share
of the images when the tool runs on several ranks/nodes; the three writers
differ only in :meth:`LabelWriter.make_label`.

Every tool reports the same way (:meth:`WriteSummary.report`) and exits the
same way (:meth:`WriteSummary.exit_code`): 0 when every image has its label,
1 when any was skipped (inputs missing, unreadable or for another image),
unless the caller allows skipped images (``--skip-bad-images``; the pipeline
passes it when bad images are left out on purpose, and checks what is
missing itself).
"""
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dist import get_rank
from mmengine.utils import track_parallel_progress, track_progress

from ..datasets.dataset_tools import image_tasks
from ..models.utils.mask_rules import mask_from_walk
from ..ops.crf import FINAL_CRF_CFG, crf_from_labels
from ..ops.ir_label import ir_thresholds, make_ir_label
from ..ops.seed_labels import combine_seeds, seeds_to_label, to_dataset_labels
from ..structures import IGNORE_INDEX
from ..structures.seed_io import SeedFileError, load_seed, seed_path
from ..structures.walk_io import load_walk, walk_path
from ..utils.file_io import save_label_png
from ..utils.image_io import read_image
from ..utils.sharding import (broadcast_from_rank0, close_cpu_stage,
                              first_by_index, gather_on_rank0, init_cpu_stage,
                              shard)

#: Status of an image whose label was written by this run.
WRITTEN = 'written'
#: Status of an image whose label was already there (kept: resume).
EXISTS = 'exists'
#: Status prefix of a label written without any confident foreground.
NO_FOREGROUND = 'written, no confident foreground'


class LabelWriter:
    """Write one label PNG per image; subclasses make the label.

    Picklable (module-level class, plain attributes), so it is the worker
    of a process pool as is.

    Args:
        out_dir (str): Where ``<img_id>.png`` go.
        palette (list): The dataset's palette (``metainfo['palette']``).
        kind (str): Names the output for fault injection (``ir_label``,
            ``final_mask``, ``crf_mask``).
    """

    def __init__(self, out_dir: str, palette: Sequence, kind: str) -> None:
        self.out_dir = out_dir
        self.palette = [list(c) for c in palette]
        self.kind = kind
        #: mmengine file backend of the images (the dataset's)
        self.backend_args: Optional[dict] = None

    def make_label(self, img_id: str,
                   image: np.ndarray) -> Tuple[np.ndarray, Optional[str]]:
        """The label of one image.

        Args:
            img_id (str): The image's id.
            image (np.ndarray): RGB uint8 ``[H, W, 3]``.

        Returns:
            tuple: uint8 ``[H, W]`` label map (0 background, ``k + 1`` class
            k, 255 unknown) and a note for the report (None: plain
            'written').

        Raises:
            SeedFileError: The image's input file is missing, unreadable or
                made for another image; the image is skipped with the
                message.
        """
        raise NotImplementedError

    def __call__(self, task: Tuple[str, str]) -> Tuple[str, str]:
        """``(img_id, status)`` of one ``(img_id, img_path)`` task."""
        img_id, img_path = task
        out = osp.join(self.out_dir, img_id + '.png')
        if osp.isfile(out):
            return img_id, EXISTS
        try:
            image = read_image(img_path, self.backend_args)
        except OSError as exc:
            return img_id, f'image {img_path} unreadable: {exc}'
        try:
            label, note = self.make_label(img_id, image)
        except SeedFileError as exc:
            return img_id, str(exc)
        save_label_png(label, out, self.palette, kind=self.kind)
        return img_id, note or WRITTEN

    def run_tool(self,
                 dataset,
                 nproc: int,
                 launcher: str = 'none',
                 skip_bad_images: bool = False) -> int:
        """The whole of a writer tool: every image of ``dataset`` (this
        rank's share under ``launcher``), the report, the exit status.

        Args:
            dataset: The built dataset (no pipeline), whose images get a
                label and whose ``backend_args`` read them.
            nproc (int): Processes of the CPU pool.
            launcher (str): ``none``, ``pytorch``, ``slurm`` or ``mpi``.
            skip_bad_images (bool): Succeed when only some are skipped.

        Returns:
            int: The exit status (:meth:`WriteSummary.exit_code`).
        """
        init_cpu_stage(launcher)
        summary = self.run(
            image_tasks(dataset), nproc, getattr(dataset, 'backend_args',
                                                 None))
        close_cpu_stage()
        return summary.exit_code(skip_bad_images)

    def run(self,
            tasks: List[Tuple[str, str]],
            nproc: int = 1,
            backend_args: Optional[dict] = None) -> 'WriteSummary':
        """This rank's share of ``tasks`` (image ``i`` on rank ``i %
        world``, see :mod:`mmseg_cobra.utils.sharding`) in a pool of
        ``nproc`` processes, with a progress bar on rank 0; the ranks'
        summaries are merged, rank 0 prints the report.

        Returns:
            WriteSummary: Every rank's images together (the same on every
            rank).
        """
        self.backend_args = backend_args
        mine = shard(tasks)
        # the other ranks work silently; rank 0's bar shows its share
        out = sys.stdout if get_rank() == 0 else open(os.devnull, 'w')
        if nproc > 1:
            status = dict(track_parallel_progress(self, mine, nproc, file=out))
        else:  # no pool: a plain loop (and debuggable in-process)
            status = dict(track_progress(self, mine, file=out))
        if out is not sys.stdout:
            out.close()
        order = {img_id: i for i, (img_id, _) in enumerate(tasks)}
        summary = WriteSummary.merge(
            gather_on_rank0(WriteSummary.of(status)), order)
        summary = broadcast_from_rank0(summary)
        if get_rank() == 0:
            summary.report()
        return summary


def _input_file(path: str, what: str) -> str:
    if not osp.isfile(path):
        raise SeedFileError(f'{what} {path} missing')
    return path


class IRLabelWriter(LabelWriter):
    """IR labels (stage 3a): the fused seed split into confident
    foreground, confident background and unknown by two thresholds, each
    confident part refined by a dense CRF (:func:`make_ir_label`).

    Args:
        ir_label_cfg (dict): The IRN config's ``ir_label_cfg`` (``seed_dir``,
            ``out_dir``, ``source``, ``percentile``, ``fg_offset``,
            ``grid``, ``fixed_thresholds``, ``attention_scale``, ``crf``).
        num_classes (int): Foreground classes of the dataset.
        palette (list): The dataset's palette.
    """

    def __init__(self, ir_label_cfg: dict, num_classes: int,
                 palette: Sequence) -> None:
        super().__init__(ir_label_cfg['out_dir'], palette, 'ir_label')
        self.cfg = dict(ir_label_cfg)
        self.num_classes = num_classes

    def make_label(self, img_id: str, image: np.ndarray):
        cfg = self.cfg
        path = _input_file(seed_path(cfg['seed_dir'], img_id), 'seed')
        seed = load_seed(path, self.num_classes, image.shape[:2])
        bg, fg = ir_thresholds(seed['attn'], cfg['percentile'],
                               cfg['fg_offset'], cfg['grid'],
                               cfg.get('fixed_thresholds'),
                               cfg.get('attention_scale', 'max'))
        label = make_ir_label(image, combine_seeds(seed, cfg['source']),
                              seed['keys'], bg, fg, cfg['crf'])
        if len(seed['keys']) and not ((label > 0) &
                                      (label != IGNORE_INDEX)).any():
            # still a valid label (background and unknown pixels): say so
            return label, f'{NO_FOREGROUND} (thresholds {bg:.2f}/{fg:.2f})'
        return label, None


class WalkMaskWriter(LabelWriter):
    """Pseudo masks from the walked maps of the mask stage with a chosen
    rule and value, optionally refined by the final dense CRF, as
    ``IRNBoundary.predict`` makes them (:func:`mask_from_walk`).

    Args:
        walk_dir (str): The mask stage's walk files.
        out_dir (str): Where the masks go.
        rule (str): ``'reference'`` or ``'irn'``.
        value (float): theta (reference) or background score (irn).
        crf_cfg (dict, optional): Dense CRF arguments; None: no CRF.
        palette (list): The dataset's palette.
        upsample (str): ``model.test_cfg.walk_upsample``.
    """

    def __init__(self,
                 walk_dir: str,
                 out_dir: str,
                 rule: str,
                 value: float,
                 crf_cfg: Optional[dict],
                 palette: Sequence,
                 upsample: str = 'resize') -> None:
        super().__init__(out_dir, palette, 'final_mask')
        self.walk_dir = walk_dir
        self.rule, self.value = rule, value
        self.crf_cfg = crf_cfg
        self.upsample = upsample

    def make_label(self, img_id: str, image: np.ndarray):
        path = _input_file(walk_path(self.walk_dir, img_id), 'walk file')
        walk = load_walk(path, image.shape[:2])
        label = mask_from_walk(walk, self.rule, self.value,
                               image if self.crf_cfg is not None else None,
                               self.crf_cfg, self.upsample)
        return label, None


class SeedCRFMaskWriter(LabelWriter):
    """CRF-only masks (no IRN): the seed thresholded (background where no
    class map exceeds ``threshold``), then refined by the final dense CRF.

    Args:
        seed_dir (str): The seed stage's files.
        out_dir (str): Where the masks go.
        threshold (float): Background score.
        source (str): Seed source (``fuse``, ``cnn``, ...).
        num_classes (int): Foreground classes of the dataset.
        palette (list): The dataset's palette.
        crf_cfg (dict, optional): Dense CRF arguments (default: the
            reference's final CRF).
    """

    def __init__(self,
                 seed_dir: str,
                 out_dir: str,
                 threshold: float,
                 source: str,
                 num_classes: int,
                 palette: Sequence,
                 crf_cfg: Optional[dict] = None) -> None:
        super().__init__(out_dir, palette, 'crf_mask')
        self.seed_dir = seed_dir
        self.threshold, self.source = threshold, source
        self.num_classes = num_classes
        self.crf_cfg = dict(crf_cfg or FINAL_CRF_CFG)

    def make_label(self, img_id: str, image: np.ndarray):
        path = _input_file(seed_path(self.seed_dir, img_id), 'seed')
        seed = load_seed(path, self.num_classes, image.shape[:2])
        keys = seed['keys']
        local = seeds_to_label(
            combine_seeds(seed, self.source), np.arange(len(keys)),
            self.threshold)
        if len(keys):
            local = crf_from_labels(
                image,
                local.astype(np.int64),
                n_labels=len(keys) + 1,
                **self.crf_cfg)
        return to_dataset_labels(local, keys), None


def _skipped(status: Dict[str, str]) -> Dict[str, str]:
    """The images that got no label, with the reason."""
    return {
        k: v
        for k, v in status.items()
        if v not in (WRITTEN, EXISTS) and not v.startswith(NO_FOREGROUND)
    }


@dataclass
class WriteSummary:
    """What a label writer did, counted; the first reasons kept by name.

    Small whatever the number of images, so the ranks of a sharded run
    send theirs to rank 0 (:meth:`merge`).
    """
    total: int = 0
    written: int = 0
    existing: int = 0
    skipped: int = 0
    no_foreground: int = 0
    #: the first :data:`EXAMPLES` skipped images, ``{id: reason}``
    skipped_ids: Dict[str, str] = field(default_factory=dict)
    #: the first :data:`EXAMPLES` labels without confident foreground
    no_foreground_ids: Dict[str, str] = field(default_factory=dict)

    EXAMPLES: ClassVar[int] = 20

    @classmethod
    def of(cls, status: Dict[str, str]) -> 'WriteSummary':
        """The summary of ``{img_id: status}`` (one rank's images)."""
        no_fg = {
            k: v
            for k, v in status.items() if v.startswith(NO_FOREGROUND)
        }
        skipped = _skipped(status)
        return cls(
            total=len(status),
            written=sum(v == WRITTEN for v in status.values()) + len(no_fg),
            existing=sum(v == EXISTS for v in status.values()),
            skipped=len(skipped),
            no_foreground=len(no_fg),
            skipped_ids=dict(list(skipped.items())[:cls.EXAMPLES]),
            no_foreground_ids=dict(list(no_fg.items())[:cls.EXAMPLES]))

    @classmethod
    def merge(cls, parts: Optional[List['WriteSummary']],
              order: Dict[str, int]) -> Optional['WriteSummary']:
        """The ranks' summaries as one; examples in the dataset's order
        (``order``: ``{img_id: index}``), as a one-process run lists
        them. None (not rank 0) stays None."""
        if parts is None:
            return None
        counts = {
            name: sum(getattr(p, name) for p in parts)
            for name in ('total', 'written', 'existing', 'skipped',
                         'no_foreground')
        }
        return cls(
            **counts,
            skipped_ids=first_by_index([p.skipped_ids for p in parts], order,
                                       cls.EXAMPLES),
            no_foreground_ids=first_by_index(
                [p.no_foreground_ids for p in parts], order, cls.EXAMPLES))

    def report(self) -> None:
        """Print how many images were written / already there / skipped
        (with the first reasons) and how many labels got no confident
        foreground."""
        print(f'\nwritten {self.written}, already there {self.existing}, '
              f'skipped {self.skipped}')
        if self.total and self.existing == self.total:
            print(f'nothing left to do: all {self.existing} outputs already '
                  'exist (delete them to recompute)')
        for img_id, why in self.skipped_ids.items():
            print(f'  skipped {img_id}: {why}')
        if self.no_foreground:
            print(f'{self.no_foreground} of {self.total} images got no '
                  'confident foreground (their foreground threshold is '
                  'above every seed value): their labels hold only '
                  'background and unknown. With the attention-percentile '
                  'rule, lower ir_label_cfg.percentile or fg_offset, or set '
                  'ir_label_cfg.fixed_thresholds.')
            for img_id, why in self.no_foreground_ids.items():
                print(f'  {img_id}: {why}')

    def exit_code(self, skip_bad_images: bool = False) -> int:
        """The tools' one exit convention: 0 when every image has its
        label (or skipped images are allowed and at least one label
        exists), 1 otherwise."""
        if not self.skipped:
            return 0
        return 0 if skip_bad_images and self.skipped < self.total else 1


__all__ = [
    'EXISTS', 'IRLabelWriter', 'LabelWriter', 'NO_FOREGROUND',
    'SeedCRFMaskWriter', 'WRITTEN', 'WalkMaskWriter', 'WriteSummary'
]
