from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ...ops.seed_labels import combine_grid_seeds, combine_seeds
from ...structures.seed_io import load_seed


@TRANSFORMS.register_module()
class LoadSeed(BaseTransform):
    """Load an image's seed file (``results['seed_path']``).

    Adds ``seed_cams`` (float32 ``[K, H, W]``, the chosen source),
    ``seed_keys`` (``[K]``, 0-based classes) and, where the file has them,
    ``seed_cams_grid`` (``[K, ceil(H/4), ceil(W/4)]``, the source's maps
    summed over scales on the walk's grid). The seed must have the image's
    size (load the image first) and the dataset's class count; otherwise a
    :class:`~mmseg_cobra.structures.seed_io.SeedFileError` names the file.

    Args:
        source (str): ``fuse`` (CoBra's M_fuse, default), ``cnn``, ``vit``,
            ``mean`` or ``max`` (paper Table 5).
        num_classes (int, optional): Foreground classes expected.
    """

    def __init__(self, source: str = 'fuse', num_classes: int = None) -> None:
        self.source = source
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        size = results['img'].shape[:2] if 'img' in results else None
        seed = load_seed(results['seed_path'], self.num_classes, size)
        results['seed_cams'] = combine_seeds(seed, self.source)
        results['seed_keys'] = seed['keys']
        grid = combine_grid_seeds(seed, self.source)
        if grid is not None:
            results['seed_cams_grid'] = grid
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(source={self.source!r})'
