from .cam_visualization_hook import CAMVisualizationHook
from .checkpoint_fit_hook import CheckpointFitHook
from .complementary_loss_switch_hook import ComplementaryLossSwitchHook
from .guide_quality_hook import GuideQualityHook
from .mask_writer_hook import MaskWriterHook
from .output_writer_hook import OutputWriterHook
from .preemption_checkpoint_hook import PreemptionCheckpointHook
from .random_state_hook import RandomStateHook
from .seed_writer_hook import SeedWriterHook
from .walk_writer_hook import WalkWriterHook

__all__ = [
    'CAMVisualizationHook', 'CheckpointFitHook', 'ComplementaryLossSwitchHook',
    'GuideQualityHook', 'MaskWriterHook', 'OutputWriterHook',
    'PreemptionCheckpointHook', 'RandomStateHook', 'SeedWriterHook',
    'WalkWriterHook'
]
