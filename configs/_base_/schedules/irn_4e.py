# IRN schedule: 4 epochs, SGD + poly (power 0.9), lr 0.1, weight decay 1e-4;
# the displacement branch learns 10x faster than the boundary branch (IRN's
# two parameter groups). momentum=0: IRN's PolyOptimizer passes its weight
# decay positionally, where it lands on the momentum (1e-4, i.e. none).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.0, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'disp_': dict(lr_mult=10.0)}))
max_epochs = 4
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
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=2022)
# train_dataloader.batch_size is per process; IRN's total batch is 32.
# tools/train.py --auto-scale-lr (or enable=True) scales lr by the total
# batch over it; tools/run_pipeline.py splits it over the world size.
auto_scale_lr = dict(enable=False, base_batch_size=32)
