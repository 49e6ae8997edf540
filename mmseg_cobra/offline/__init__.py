"""The CPU tools' work over a dataset's files, sharded over the ranks of a
CPU stage: the seed report (:mod:`.seed_report`), the mask report
(:mod:`.mask_report`), both on one frame (:mod:`.image_scorer`: skip with
reason, progress, merge), and the per-image label writers behind
``make_ir_labels.py`` / ``masks_from_walks.py`` / ``crf_masks.py``
(:mod:`.label_writers`)."""
from .image_scorer import ImageScorer, SkipImage
from .mask_report import MaskReport, format_report
from .seed_report import score_seed_files

__all__ = [
    'ImageScorer', 'MaskReport', 'SkipImage', 'format_report',
    'score_seed_files'
]
