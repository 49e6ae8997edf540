# CoBra classifier schedule: 20 epochs, SGD + poly decay (power 0.9).
# Weight decay 1e-4 as in the reference's parameter groups. momentum=0: the
# reference (like IRN) passes its weight decay positionally to the optimizer
# as well, where it lands on the momentum argument, so it trained with a
# momentum of 1e-4, i.e. effectively none.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4),
    # the four new heads (cnn/vit cam and projection heads) learn 10x faster
    paramwise_cfg=dict(custom_keys={'_head': dict(lr_mult=10.0)}))
max_epochs = 20
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
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=2022)
# train_dataloader.batch_size is per process; the paper's total batch is 32.
# tools/train.py --auto-scale-lr (or enable=True) scales lr by the total
# batch over it; tools/run_pipeline.py splits it over the world size.
auto_scale_lr = dict(enable=False, base_batch_size=32)
