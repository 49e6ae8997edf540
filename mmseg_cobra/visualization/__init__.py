from .cam_visualizer import CAMVisualizer, heat_overlay, palette_image
from .report_figures import (load_scalars, plot_ablation, plot_boundary_pr,
                             plot_class_iou, plot_loss_curves, plot_mask_sweep,
                             plot_seed_sweep)

__all__ = [
    'CAMVisualizer', 'heat_overlay', 'palette_image', 'load_scalars',
    'plot_ablation', 'plot_boundary_pr', 'plot_class_iou', 'plot_loss_curves',
    'plot_mask_sweep', 'plot_seed_sweep'
]
