# Small SegFormer (MiT: 16-channel first stage, one block per stage) for CPUs
# on the synthetic dataset, on the same pseudo masks as
# deeplabv3plus_r18_synthetic.py.
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/synthetic_pseudo_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/segformer_40k.py',
    '../_base_/seg_runtime.py',
]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(
        init_cfg=None,
        embed_dims=16,
        num_heads=[1, 2, 4, 8],
        num_layers=[1, 1, 1, 1]),
    decode_head=dict(
        in_channels=[16, 32, 64, 128], channels=64, num_classes=5))
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=50,
        end=600,
        by_epoch=False)
]
train_cfg = dict(max_iters=600, val_interval=300)
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=300))
auto_scale_lr = dict(enable=False, base_batch_size=8)
