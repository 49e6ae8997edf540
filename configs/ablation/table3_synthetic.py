# Paper Table 3 (loss combinations) on the synthetic dataset with the small
# CPU models (`make demo`'s classifier): 5 variants x 2 seeds.
#   python tools/ablate.py configs/ablation/table3_synthetic.py --jobs 2
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
cobra_config = 'configs/cobra/cobra_r18_vittiny_synthetic.py'
data_root = 'data/synthetic'
# generated when data_root has no data yet (as the demo's)
synthetic = dict(
    num_train=200, num_val=50, num_classes=4, size=(160, 160), seed=0)
# seeds are made for and scored on the images with masks (the CoBra
# config's test list)
eval_list = 'ImageSets/Segmentation/train.txt'
seeds = (0, 1)
common_threshold = 0.5  # every run also scored at this one threshold
classifier_options = {'train_dataloader.num_workers': 2}
seed_options = {'test_dataloader.num_workers': 2}
_off = 0.0  # a loss weight of 0: computed and logged, no gradient
variants = dict(
    # classification only: the complementary losses never switch on
    cls_only={'custom_hooks.ComplementaryLossSwitchHook.start_epoch': 10000},
    cam={
        'model.loss_sap.loss_weight': _off,
        'model.loss_cap.loss_weight': _off
    },
    cam_sap={'model.loss_cap.loss_weight': _off},
    cam_cap={'model.loss_sap.loss_weight': _off},
    all={},
)
