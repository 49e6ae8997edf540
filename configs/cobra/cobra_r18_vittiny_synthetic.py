# Small CoBra for CPUs: ResNet-18 + a 2-layer ViT trained from scratch on the
# synthetic dataset (python tools/dataset_converters/synthetic.py). Same code
# path as the full model; used by the tests and `make demo`.
_base_ = ['./cobra_r152_deits_voc.py']

num_classes = 4
data_root = 'data/synthetic'
crop_size = (128, 128)
classes = ('background', 'disc', 'square', 'triangle', 'ring')
palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]

model = dict(
    num_classes=num_classes,
    cnn_channels=512,
    proj_dim=64,
    data_preprocessor=dict(size=crop_size),
    cnn_backbone=dict(
        depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    vit_backbone=dict(
        _delete_=True,
        type='ViTWithAttention',
        arch=dict(
            embed_dims=96, num_layers=2, num_heads=3,
            feedforward_channels=192),
        img_size=crop_size[0],
        patch_size=16,
        drop_path_rate=0.0,
        init_cfg=None),
    # 8x8 = 64 patches per crop: the paper's k values still fit
    test_cfg=dict(scales=(0.75, 1.0, 1.5), flip=True))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # masks only feed the guide-quality diagnostics (GuideQualityHook), never
    # a loss; drop this line for a dataset without masks
    dict(type='LoadAnnotations'),
    dict(type='RandomLongSideResize', min_size=128, max_size=192),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
# the synthetic classes are not VOC's: the generic dataset, VOC layout
synthetic_dataset = dict(
    type='ImageLevelSegDataset',
    data_root=data_root,
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    cls_label_file='cls_labels.npy',
    metainfo=dict(classes=classes, palette=palette))
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        **synthetic_dataset,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9))
max_epochs = 10
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5))
custom_hooks = [
    dict(type='ComplementaryLossSwitchHook', start_epoch=2),
    dict(type='SeedWriterHook', out_dir=None),
    # per-epoch CAP/SAP guide quality (needs LoadAnnotations in training)
    dict(type='GuideQualityHook'),
    # random generators saved with each checkpoint: exact resume
    dict(type='RandomStateHook'),
]
test_dataloader = dict(
    dataset=dict(
        **synthetic_dataset, ann_file='ImageSets/Segmentation/train.txt'))
auto_scale_lr = dict(enable=False, base_batch_size=16)
