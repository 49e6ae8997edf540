# Stage 3 on PASCAL VOC 2012: IR labels -> IRN -> pseudo masks.
#   python tools/make_ir_labels.py configs/irn/irn_r152_cobra_voc.py
#   python tools/train.py configs/irn/irn_r152_cobra_voc.py
#   python tools/test.py configs/irn/irn_r152_cobra_voc.py CKPT   # masks
_base_ = [
    '../_base_/models/irn_r152.py',
    '../_base_/schedules/irn_4e.py',
    '../_base_/default_runtime.py',
]
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
# outputs of stages 1-2 (seeds of train_aug: docs/user_guides/train_stages.md)
cobra_work_dir = 'work_dirs/cobra_r152_deits_voc'
seed_dir = cobra_work_dir + '/seeds'
ir_label_dir = cobra_work_dir + '/ir_labels'
crop_size = (512, 512)

# IR labels (tools/make_ir_labels.py)
ir_label_cfg = dict(
    seed_dir=seed_dir,
    out_dir=ir_label_dir,
    source='fuse',  # the paper feeds M_fuse; the reference used the ViT CAM
    percentile=93,  # background threshold from the attention map
    # 'max': percentile of the max-normalised attention; 'raw' (reference):
    # of the attention as summed over layers, scales and flips
    attention_scale='max',
    fg_offset=0.5,
    grid=0.05,
    fixed_thresholds=None,  # or (bg, fg), e.g. (0.05, 0.30) as IRN
    crf=dict(
        iterations=10,
        gt_prob=0.7,
        gaussian_sxy=3,
        gaussian_compat=3,
        bilateral_sxy=50,
        bilateral_srgb=5,
        bilateral_compat=10))
ir_label_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='ImageSets/Segmentation/train_aug.txt',
    pipeline=[])

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the IR label
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropPad', crop_size=crop_size),  # mean-colour pad
    dict(type='AffinityLabels', radius=10, stride=4),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    batch_size=32,  # per process: 32 // N under dist_train.sh N
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=ir_label_dir),
        seg_map_required=True,
        pipeline=train_pipeline))

# masks: random walk of the seeds over the boundary map, scored on VOC train
# (set test_dataloader.dataset.ann_file to train_aug.txt for stage 4)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='LoadSeed', source='fuse'),
    dict(type='PackWSSSInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        seed_dir=seed_dir,
        pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='ResumableTestLoop')
# masks (<work_dir>/masks) and walked maps + boundary maps
# (<work_dir>/walks, for tools/mask_report.py's threshold sweeps)
custom_hooks = [
    dict(type='MaskWriterHook', out_dir=None),
    dict(type='WalkWriterHook', out_dir=None),
    # random generators saved with each checkpoint: exact resume
    dict(type='RandomStateHook'),
]
