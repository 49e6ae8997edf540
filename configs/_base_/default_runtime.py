# Shared runtime settings of every mmseg-cobra config.
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # gloo is used automatically on CPU
)
# DDP wrapper that also works for CPU processes (gloo); same as
# MMDistributedDataParallel on GPUs.
model_wrapper_cfg = dict(type='DeviceAwareDistributedDataParallel')
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
