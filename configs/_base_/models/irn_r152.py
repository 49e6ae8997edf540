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
        type='ResNetWithStem',  # mmpretrain ResNet + its stem output
        depth=152,
        strides=(1, 2, 2, 1),
        frozen_stages=4,  # IRN trains only its branches
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet152_ckpt, prefix='backbone.')),
    in_channels=(64, 256, 512, 1024, 2048),
    branch_channels=32,
    train_radius=10,
    # IRN's total: (bg_pos/2 + fg_pos/2 + neg)/2 + (disp_fg + disp_bg)/2
    aff_loss_weight=0.5,
    disp_loss_weight=0.5,
    test_cfg=dict(
        # image and flip padded to IRN's 512 x 512 test canvas (the boundary
        # branch's GroupNorm sees it all); None pads to the output stride
        pad_size=512,
        # the walk starts from the seed stage's maps summed over scales on
        # the stride-4 grid ('from_image': image-size seeds put on the grid)
        seed_grid='per_scale',
        # random walk (IRN)
        radius=5,
        beta=10.0,
        exp_times=8,
        # walked maps resized straight to the image ('stride': IRN's x4 +
        # crop)
        walk_upsample='resize',
        # final mask: the reference's rule (per class >= theta*max + min,
        # background 0, argmax, denseCRF); mask_rule='irn' gives IRN's
        # (walk / global max, background score bg_threshold, argmax)
        mask_rule='reference',
        theta=0.31,
        bg_threshold=0.25,
        crf=True,
        crf_cfg=dict(
            iterations=10,
            gt_prob=0.7,
            gaussian_sxy=2,
            gaussian_compat=3,
            bilateral_sxy=45,
            bilateral_srgb=5,
            bilateral_compat=4,
            bgr=True),  # BGR: reference (cv2)
        keep_walk=True))  # walked maps for WalkWriterHook / mask_report
