# MS COCO 2014 (80 classes) with image-level labels.
# Layout: docs/user_guides/datasets.md (tools/dataset_converters/coco2014.py).
dataset_type = 'COCOClsDataset'
data_root = 'data/coco2014'
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
        ann_file='train.txt',
        data_prefix=dict(img_path='train2014', seg_map_path='mask/train2014'),
        cls_label_file='cls_labels.npy',
        pipeline=train_pipeline))

# Seeds (stage 2): multi-scale CAMs of every val image at full resolution,
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
        ann_file='val.txt',
        data_prefix=dict(img_path='val2014', seg_map_path='mask/val2014'),
        cls_label_file='cls_labels.npy',
        pipeline=test_pipeline))
test_evaluator = dict(type='SeedMetric')
test_cfg = dict(type='ResumableTestLoop')
