from .report_figures import (load_scalars, plot_ablation, plot_boundary_pr,
                             plot_class_iou, plot_loss_curves, plot_mask_sweep,
                             plot_seed_sweep)

__all__ = [
    'load_scalars', 'plot_ablation', 'plot_boundary_pr', 'plot_class_iou',
    'plot_loss_curves', 'plot_mask_sweep', 'plot_seed_sweep'
]
