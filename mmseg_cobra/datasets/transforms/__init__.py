from .pack_wsss_inputs import PackWSSSInputs
from .random_long_side_resize import RandomLongSideResize

__all__ = ['PackWSSSInputs', 'RandomLongSideResize']
