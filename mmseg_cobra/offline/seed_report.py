"""The seed report of ``tools/eval_seeds.py`` and the pipeline's
``seed_eval`` stage: :class:`~mmseg_cobra.evaluation.SeedMetric` over the
seed files of a folder against the ground-truth label PNGs, on this rank's
share of the images (:class:`~.image_scorer.ImageScorer`)."""
import os.path as osp
from typing import Sequence

from ..evaluation import SeedMetric
from ..structures.seed_io import SeedFileError, load_seed, seed_path
from ..utils.image_io import read_ground_truth
from ..utils.sharding import shard
from .image_scorer import ImageScorer, SkipImage


def score_seed_files(metric: SeedMetric, ids: Sequence[str], seed_dir: str,
                     gt_dir: str, classes: Sequence[str]) -> ImageScorer:
    """Add this rank's images to ``metric``, then sum every rank's.

    An image without ground truth or seed, or whose seed does not fit it,
    is skipped with the reason; every skipped image is named.

    Args:
        metric (SeedMetric): Its ``dataset_meta`` set.
        ids (Sequence[str]): Every image, in the list's order.
        seed_dir (str): The seed files.
        gt_dir (str): ``<img_id>.png`` ground-truth label maps.
        classes (Sequence[str]): Background first.

    Returns:
        ImageScorer: The images scored and skipped, every rank's.

    Raises:
        GroundTruthError: A ground-truth PNG is unreadable or holds a class
            id the dataset does not have.
    """
    images = ImageScorer(ids)

    def add(img_id: str) -> None:
        gt_path = osp.join(gt_dir, img_id + '.png')
        if not osp.isfile(gt_path):
            raise SkipImage(f'ground truth {gt_path} missing')
        gt = read_ground_truth(gt_path, len(classes))
        path = seed_path(seed_dir, img_id)
        if not osp.isfile(path):
            raise SkipImage(f'seed {path} missing')
        try:
            seed = load_seed(
                path, num_classes=len(classes) - 1, image_size=gt.shape)
        except SeedFileError as exc:
            raise SkipImage(str(exc)) from None
        metric.add(seed, gt)

    images.score(shard(ids), str, add)
    metric.merge_ranks()
    images.merge()
    return images


__all__ = ['score_seed_files']
