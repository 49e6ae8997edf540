# The whole pipeline on MS COCO 2014: CoBra R152+DeiT-S, IRN R152,
# DeepLabV3+ R101 (set seg_config to the SegFormer config for MiT-B2).
#   python tools/run_pipeline.py configs/pipeline/cobra_coco.py \
#       --launcher pytorch --nproc 4
# Seeds and masks are made for train2014; seed and mask mIoU are reported
# on the configs' test lists, segmentation on COCO val.
custom_imports = dict(imports=['mmseg_cobra'], allow_failed_imports=False)
cobra_config = 'configs/cobra/cobra_r152_deits_coco.py'
irn_config = 'configs/irn/irn_r152_cobra_coco.py'
seg_config = 'configs/seg/deeplabv3plus_r101_cobra_coco.py'
data_root = 'data/coco2014'
train_list = 'train.txt'
nproc_cpu = 8
seg_test_flags = ['--tta', '--crf']
# per-process batch sizes for 4 processes (paper: 32 total for stages 1, 3)
# seeds for the training images (the CoBra config tests on val2014)
seed_eval_args = ['--ann-file', 'train.txt', '--gt-dir', 'mask/train2014']
cfg_options = dict(
    classifier={'train_dataloader.batch_size': 8},
    seeds={
        'test_dataloader.dataset.data_prefix.img_path': 'train2014',
        'test_dataloader.dataset.data_prefix.seg_map_path': 'mask/train2014'
    },
    irn={'train_dataloader.batch_size': 8},
    seg={})
