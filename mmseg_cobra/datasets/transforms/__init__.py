from .affinity_labels import AffinityLabels
from .load_seed import LoadSeed
from .pack_wsss_inputs import PackWSSSInputs
from .random_crop_pad import RandomCropPad
from .random_long_side_resize import RandomLongSideResize
from .random_rescale import RandomRescale

__all__ = [
    'AffinityLabels', 'LoadSeed', 'PackWSSSInputs', 'RandomCropPad',
    'RandomLongSideResize', 'RandomRescale'
]
