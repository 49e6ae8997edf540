# Stage 3 on MS COCO 2014: IR labels -> IRN -> pseudo masks. The VOC recipe
# with COCO's data: images of train2014, seeds of the COCO CoBra run.
#   python tools/make_ir_labels.py configs/irn/irn_r152_cobra_coco.py
#   python tools/train.py configs/irn/irn_r152_cobra_coco.py
#   python tools/test.py configs/irn/irn_r152_cobra_coco.py CKPT   # masks
_base_ = ['./irn_r152_cobra_voc.py']
dataset_type = 'COCOClsDataset'
data_root = 'data/coco2014'
cobra_work_dir = 'work_dirs/cobra_r152_deits_coco'
seed_dir = cobra_work_dir + '/seeds'
ir_label_dir = cobra_work_dir + '/ir_labels'
train_prefix = dict(img_path='train2014', seg_map_path='mask/train2014')

ir_label_cfg = dict(seed_dir=seed_dir, out_dir=ir_label_dir)
ir_label_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file='train.txt',
    data_prefix=train_prefix)
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(img_path='train2014', seg_map_path=ir_label_dir)))
# masks of all train images (they feed stage 4), scored on COCO train
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=train_prefix,
        seed_dir=seed_dir))
