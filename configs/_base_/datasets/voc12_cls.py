# PASCAL VOC 2012 + SBD (train_aug, 10,582 images) with image-level labels.
# Layout: docs/user_guides/datasets.md (tools/dataset_converters/voc_aug.py).
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (224, 224)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    # masks only feed the guide-quality diagnostics (GuideQualityHook), never
    # a loss; drop this line for a dataset without masks
    dict(type='LoadAnnotations'),
    dict(type='RandomLongSideResize', min_size=320, max_size=640),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    batch_size=32,  # per process: use 32 // N under dist_train.sh N
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        cls_label_file='cls_labels.npy',
        pipeline=train_pipeline))

# Seeds (stage 2): multi-scale CAMs of every train image at full resolution,
# scored against the ground-truth masks. tools/test.py CONFIG CKPT
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=False,
    # round_up=False: under dist_test.sh no image goes to two ranks
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        cls_label_file='cls_labels.npy',
        pipeline=test_pipeline))
test_evaluator = dict(type='SeedMetric')
test_cfg = dict(type='ResumableTestLoop')
