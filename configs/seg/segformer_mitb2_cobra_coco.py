# Stage 4 on MS COCO 2014: SegFormer MiT-B2 on CoBra pseudo masks.
# mmseg's SegFormer recipe (AdamW 6e-5, warm-up 1500, poly power 1),
# 80k iterations, batch 16 (4 GPUs x 4); validated on COCO val.
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/coco14_pseudo_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/segformer_40k.py',
    '../_base_/seg_runtime.py',
]
crop_size = (512, 512)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b2_20220624-66e8bf70.pth'  # noqa
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint),
        embed_dims=64,
        num_heads=[1, 2, 5, 8],
        num_layers=[3, 4, 6, 3]),
    decode_head=dict(in_channels=[64, 128, 320, 512], num_classes=81))
train_cfg = dict(max_iters=80000, val_interval=8000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=80000,
        by_epoch=False)
]
