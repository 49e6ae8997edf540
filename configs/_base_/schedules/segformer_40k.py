# mmseg's 40k-iteration schedule with mmseg's SegFormer optimiser: AdamW
# 6e-5, 10x on the head, no decay on norms/position blocks, 1500-iteration
# warm-up, then poly (power 1).
_base_ = 'mmseg::_base_/schedules/schedule_40k.py'
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=40000,
        by_epoch=False)
]
# train_dataloader.batch_size is per process; SegFormer's total batch is 16
# (8 GPUs x 2). --auto-scale-lr / tools/run_pipeline.py as for stage 1.
auto_scale_lr = dict(enable=False, base_batch_size=16)
