# The whole pipeline on PASCAL VOC 2012 (+SBD): CoBra R152+DeiT-S, IRN R152,
# DeepLabV3+ R101 (set seg_config to the SegFormer config for MiT-B2).
#   python tools/run_pipeline.py configs/pipeline/cobra_voc.py \
#       --launcher pytorch --nproc 4
# Seeds and masks are made for train_aug; seed and mask mIoU are reported
# on VOC train (the configs' test lists), segmentation on VOC val.
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
cobra_config = 'configs/cobra/cobra_r152_deits_voc.py'
irn_config = 'configs/irn/irn_r152_cobra_voc.py'
seg_config = 'configs/seg/deeplabv3plus_r101_cobra_voc.py'
# one dataset description for every stage (docs/user_guides/datasets.md)
dataset = dict(
    type='VOCClsDataset',  # its 21 classes and palette
    data_root='data/VOCdevkit/VOC2012',
    label_file='cls_labels.npy',
    img_dir='JPEGImages',
    mask_dir='SegmentationClassAug',
    train=dict(ann_file='ImageSets/Segmentation/train_aug.txt'),
    eval=dict(ann_file='ImageSets/Segmentation/train.txt'),
    val=dict(
        ann_file='ImageSets/Segmentation/val.txt',
        mask_dir='SegmentationClass'))
nproc_cpu = 8
seg_test_flags = ['--tta', '--crf']
# The total batch of each training stage (default: the stage config's
# auto_scale_lr.base_batch_size, the paper's) is split over the world size:
# 8 per process on 4 GPUs, 4 on 8. Set a stage's per-process batch in
# cfg_options instead to keep it whatever the world size.
total_batch_size = dict(classifier=32, irn=32, seg=16)
# Options merged into the stage configs: classifier (its training), seeds
# (the seed inference), irn (IR labels, IRN training and masks), seg (the
# segmentation training and its test, which builds the same model).
cfg_options = dict(classifier={}, seeds={}, irn={}, seg={})
