# Paper Table 3 (loss combinations) on MS COCO 2014: seeds scored on the
# COCO CoBra config's test list. On 4 GPUs:
#   python tools/ablate.py configs/ablation/table3_coco.py \
#       --cfg-options launcher=pytorch nproc=4
_base_ = ['./table3_voc.py']
cobra_config = 'configs/cobra/cobra_r152_deits_coco.py'
data_root = 'data/coco2014'
eval_list = 'val.txt'
