# Paper Table 3 (loss combinations) on PASCAL VOC 2012: ResNet-152 + DeiT-S,
# seeds scored on VOC train (1,464 images). On 4 GPUs:
#   python tools/ablate.py configs/ablation/table3_voc.py \
#       --cfg-options launcher=pytorch nproc=4
_base_ = ['./table3_synthetic.py']
cobra_config = 'configs/cobra/cobra_r152_deits_voc.py'
data_root = 'data/VOCdevkit/VOC2012'
synthetic = None
eval_list = 'ImageSets/Segmentation/train.txt'
common_threshold = 0.3
# per-process batch for 4 processes (paper: 32 in total)
classifier_options = {'train_dataloader.batch_size': 8}
seed_options = {}
