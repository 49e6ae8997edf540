# Stage 1 on PASCAL VOC 2012: train the CoBra classifier.
#   python tools/train.py configs/cobra/cobra_r152_deits_voc.py
#   bash tools/dist_train.sh configs/cobra/cobra_r152_deits_voc.py 4 \
#       --cfg-options train_dataloader.batch_size=8
_base_ = [
    '../_base_/models/cobra_r152_deits.py',
    '../_base_/datasets/voc12_cls.py',
    '../_base_/schedules/cobra_20e.py',
    '../_base_/default_runtime.py',
]
# modules without gradient while the complementary losses are off
find_unused_parameters = True
model_wrapper_cfg = dict(
    type='DeviceAwareDistributedDataParallel', find_unused_parameters=True)
# L_cam, L_sap, L_cap from epoch index 5 (reference; the paper says 1).
# Stage 2: tools/test.py writes seeds to <work_dir>/seeds (resumable)
custom_hooks = [
    dict(type='ComplementaryLossSwitchHook', start_epoch=5),
    dict(type='SeedWriterHook', out_dir=None),
    # per-epoch CAP/SAP guide quality (needs LoadAnnotations in training)
    dict(type='GuideQualityHook'),
    # random generators saved with each checkpoint: exact resume
    dict(type='RandomStateHook'),
]
