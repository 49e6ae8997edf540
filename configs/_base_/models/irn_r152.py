# IRN boundary network on a frozen ImageNet ResNet-152 (output stride 16).
resnet152_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'  # noqa: E501
model = dict(
    type='IRNBoundary',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),  # the training crop
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=152,
        strides=(1, 2, 2, 1),
        out_indices=(0, 1, 2, 3),
        frozen_stages=4,  # IRN trains only its branches
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet152_ckpt,
            prefix='backbone.')),
    in_channels=(64, 256, 512, 1024, 2048),
    branch_channels=32,
    train_radius=10,
    test_cfg=dict(
        radius=5, beta=10.0, exp_times=8, bg_threshold=0.25, crf=False,
        crf_cfg=dict(gaussian_sxy=2, gaussian_compat=3, bilateral_sxy=45,
                     bilateral_srgb=5, bilateral_compat=4)))
