# The whole pipeline on MS COCO 2014: CoBra R152+DeiT-S, IRN R152,
# DeepLabV3+ R101 (set seg_config to the SegFormer config for MiT-B2).
#   python tools/run_pipeline.py configs/pipeline/cobra_coco.py \
#       --launcher pytorch --nproc 4
# Seeds and masks are made for train2014; seed and mask mIoU are reported
# on the configs' test lists, segmentation on COCO val.
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
cobra_config = 'configs/cobra/cobra_r152_deits_coco.py'
irn_config = 'configs/irn/irn_r152_cobra_coco.py'
seg_config = 'configs/seg/deeplabv3plus_r101_cobra_coco.py'
# one dataset description for every stage (docs/user_guides/datasets.md);
# seeds and masks are made for, and scored on, train2014
dataset = dict(
    type='COCOClsDataset',  # its 81 classes and palette
    data_root='data/coco2014',
    label_file='cls_labels.npy',
    img_suffix='.jpg',
    train=dict(
        ann_file='train.txt', img_dir='train2014', mask_dir='mask/train2014'),
    eval=dict(ann_file='train.txt', mask_dir='mask/train2014'),
    val=dict(ann_file='val.txt', img_dir='val2014', mask_dir='mask/val2014'))
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
