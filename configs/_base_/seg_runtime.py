# What every stage-4 config adds to mmseg's own runtime.
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
model_wrapper_cfg = dict(type='DeviceAwareDistributedDataParallel')
# a fixed seed and the random generators saved with each checkpoint: a
# resumed training continues exactly as the uninterrupted one
randomness = dict(seed=2022)
custom_hooks = [dict(type='RandomStateHook')]
# Test-time dense CRF on the (TTA-averaged) probabilities: tools/test.py
# --crf, or use_crf=True here.
use_crf = False
crf_model = dict(
    type='DenseCRFPostProcessor',
    crf_cfg=dict(
        iterations=10,
        gaussian_sxy=2,
        gaussian_compat=3,
        bilateral_sxy=45,
        bilateral_srgb=5,
        bilateral_compat=4))
