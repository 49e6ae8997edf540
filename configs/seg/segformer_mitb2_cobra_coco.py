# Stage 4 on MS COCO 2014: SegFormer MiT-B2 on CoBra pseudo masks.
# mmseg's SegFormer recipe (AdamW 6e-5, warm-up 1500, poly power 1),
# 80k iterations, batch 16 (4 GPUs x 4); validated on COCO val.
_base_ = [
    '../_base_/models/segformer_mitb2.py',
    '../_base_/datasets/coco14_pseudo_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/segformer_40k.py',
    '../_base_/seg_runtime.py',
]
model = dict(decode_head=dict(num_classes=81))
train_cfg = dict(max_iters=80000, val_interval=8000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=80000,
        by_epoch=False)
]
