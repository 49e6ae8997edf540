# Stage 4 on PASCAL VOC 2012: DeepLabV3+ R101 on CoBra pseudo masks.
# mmseg's model and its VOC aug schedule (40k iterations, batch 16 = 4 GPUs x
# 4, SGD lr 0.01 poly); validated on VOC val.
#   bash tools/dist_train.sh configs/seg/deeplabv3plus_r101_cobra_voc.py 4
#   python tools/test.py configs/seg/deeplabv3plus_r101_cobra_voc.py CKPT \
#       --tta --crf
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    '../_base_/datasets/voc12_pseudo_seg.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    '../_base_/seg_runtime.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
# train_dataloader.batch_size is per process (4); the total batch is 16
# (4 GPUs x 4). --auto-scale-lr / tools/run_pipeline.py as for stage 1.
auto_scale_lr = dict(enable=False, base_batch_size=16)
