"""The small pipeline run of the pipeline tests (test_pipeline.py,
test_pipeline_killed.py, test_pipeline_cluster.py)."""
import os.path as osp

from conftest import REPO

CONFIG = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')
# 3 classes, renamed: the configs say 4; the pipeline's one dataset
# description has to reach every stage (heads, metrics, label vectors)
CLASSES = ('background', 'apple', 'brick', 'cone')
#: Every stage a finished pipeline run has recorded, written out here (not
#: imported from the package) so that a dropped stage fails the tests.
STAGES = ('classifier', 'seeds', 'seed_eval', 'ir_labels', 'irn', 'masks',
          'mask_eval', 'final_masks', 'seg', 'seg_eval')


def reduced(root):
    return [
        '--cfg-options',
        f'dataset.data_root={root}',
        'nproc_cpu=1',
        'dataset.classes=[' + ','.join(CLASSES) + ']',
        'dataset.palette=[[0,0,0],[128,0,0],[0,128,0],[128,128,0]]',
        'cfg_options.classifier.train_cfg.max_epochs=4',
        'cfg_options.classifier.custom_hooks.ComplementaryLossSwitchHook.start_epoch=2',  # noqa: E501
        'cfg_options.classifier.train_dataloader.batch_size=8',
        'cfg_options.classifier.train_dataloader.num_workers=0',
        'cfg_options.classifier.train_dataloader.persistent_workers=False',
        'cfg_options.seeds.test_dataloader.num_workers=0',
        'cfg_options.irn.train_cfg.max_epochs=10',
        'cfg_options.irn.train_dataloader.num_workers=0',
        'cfg_options.irn.train_dataloader.persistent_workers=False',
        'cfg_options.irn.test_dataloader.num_workers=0',
        'cfg_options.seg.train_cfg.max_iters=100',
        'cfg_options.seg.train_cfg.val_interval=100',
        'cfg_options.seg.default_hooks.checkpoint.interval=50',
        'cfg_options.seg.train_dataloader.num_workers=0',
        'cfg_options.seg.val_dataloader.num_workers=0',
    ]
