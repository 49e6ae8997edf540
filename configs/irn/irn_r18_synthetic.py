# Small IRN for CPUs on the synthetic dataset (tests and `make demo`): a
# ResNet-18 trained with the boundary branch (no ImageNet weights here).
_base_ = ['./irn_r152_cobra_voc.py']
data_root = 'data/synthetic'
cobra_work_dir = 'work_dirs/cobra_r18_vittiny_synthetic'
seed_dir = cobra_work_dir + '/seeds'
ir_label_dir = cobra_work_dir + '/ir_labels'
crop_size = (96, 96)
classes = ('background', 'disc', 'square', 'triangle', 'ring')
palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]]

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    in_channels=(64, 64, 128, 256, 512),
    train_radius=5,
    with_displacement=False,
    # images of ~160 px, crops of 96: IRN's 512 canvas (VOC) would be mostly
    # padding for the GroupNorm and 10x the CPU time; pad to the stride only
    test_cfg=dict(pad_size=None))

synthetic_dataset = dict(
    type='ImageLevelSegDataset',
    data_root=data_root,
    cls_label_file='cls_labels.npy',
    metainfo=dict(classes=classes, palette=palette))
ir_label_cfg = dict(seed_dir=seed_dir, out_dir=ir_label_dir)
ir_label_dataset = dict(
    _delete_=True,
    **synthetic_dataset,
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages'),
    pipeline=[])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.7, 1.3)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropPad', crop_size=crop_size),  # mean-colour pad
    dict(type='AffinityLabels', radius=5, stride=4),
    dict(type='PackWSSSInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        _delete_=True,
        **synthetic_dataset,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path=ir_label_dir),
        seg_map_required=True,
        pipeline=train_pipeline))
test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        **synthetic_dataset,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        seed_dir=seed_dir,
        pipeline={{_base_.test_pipeline}}))
# Trained from scratch on 200 images. IRN's loss weighting halves the
# gradient of the earlier unweighted sum, so lr 0.02 (twice the 0.01 of the
# other from-scratch demo configs). Sized for `make demo` on 2 CPU cores:
# 96 px crops, no displacement branch (IRN's instance cue, unused by the
# semantic masks) and 24 epochs (600 iterations, about 2 minutes; the
# 128 px, 40-epoch recipe with the displacement branch took 7.5). What each
# choice costs in mask mIoU is in docs/results.md.
optim_wrapper = dict(optimizer=dict(lr=0.02, momentum=0.9))
max_epochs = 24
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
auto_scale_lr = dict(enable=False, base_batch_size=8)
