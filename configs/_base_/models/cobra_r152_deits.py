# CoBra dual-branch classifier: ResNet-152 (output stride 16) + DeiT-S/16.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet, RGB
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224))
resnet152_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet152_8xb32_in1k_20210901-4d7582fa.pth'  # noqa: E501
deit_small_ckpt = 'https://download.openmmlab.com/mmclassification/v0/deit/deit-small_pt-4xb256_in1k_20220218-9425b9bb.pth'  # noqa: E501
model = dict(
    type='CoBra',
    num_classes=20,
    cnn_channels=2048,
    proj_dim=256,  # paper Table 11: 256 is best
    data_preprocessor=data_preprocessor,
    cnn_backbone=dict(
        type='mmpretrain.ResNet',
        depth=152,
        strides=(1, 2, 2, 1),  # output stride 16: 224 -> 14x14, as DeiT-S/16
        out_indices=(3, ),
        frozen_stages=2,  # stem + stages 1-2 not trained (reference)
        norm_eval=True,  # BN statistics frozen
        init_cfg=dict(
            type='Pretrained', checkpoint=resnet152_ckpt, prefix='backbone.')),
    vit_backbone=dict(
        type='ViTWithAttention',
        arch='deit-small',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.0,  # the reference trains DeiT-S without drop path
        interpolate_mode='bicubic',
        # the reference's geometry: a stride-16 patch convolution without
        # padding (floor(H/16) x floor(W/16) grid) and DINO's scale_factor
        # interpolation of the position embedding ('size': resize to size)
        patch_cfg=dict(padding=0),
        pos_embed_resize='scale_factor',
        init_cfg=dict(
            type='Pretrained', checkpoint=deit_small_ckpt,
            prefix='backbone.')),
    loss_cls=dict(type='MultiLabelSoftMarginLoss'),
    # lambda1 = 0.1; positive_term=False reproduces the reference code
    loss_cam=dict(
        type='CAMConsistencyLoss', positive_term=True, loss_weight=0.1),
    # lambda2 = 0.1; k values from paper Table 4
    # SAP ranks patches by the raw CNN CAM logits (reference); 'prob' ranks
    # by the masked softmax
    loss_sap=dict(
        type='SAPLoss',
        k_pos=20,
        k_neg=5,
        tau=0.1,
        loss_weight=0.1,
        rank_by='logit'),
    loss_cap=dict(type='CAPLoss', k_pos=5, k_neg=20, tau=0.1, loss_weight=0.1),
    # resize='pil_bicubic': each scale is the uint8 image rescaled by PIL
    # (the reference's input); 'bilinear' resizes the normalised tensor
    test_cfg=dict(
        scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
        flip=True,
        resize='pil_bicubic',
        grid_stride=4))
