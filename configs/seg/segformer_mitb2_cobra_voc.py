# Stage 4 on PASCAL VOC 2012: SegFormer MiT-B2 on CoBra pseudo masks.
# mmseg's SegFormer recipe (AdamW 6e-5, warm-up 1500, poly power 1),
# 40k iterations (mmseg's VOC aug schedule), batch 16 (4 GPUs x 4).
_base_ = [
    '../_base_/models/segformer_mitb2.py',
    '../_base_/datasets/voc12_pseudo_seg.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/segformer_40k.py',
    '../_base_/seg_runtime.py',
]
model = dict(decode_head=dict(num_classes=21))
