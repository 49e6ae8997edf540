"""The stage table's commands: what each stage config is written with."""
import os
import os.path as osp

from conftest import REPO
from mmengine.config import Config, DictAction

from mmseg_cobra.pipeline import (STAGE_TABLE, CoBraPipeline, load_run_config,
                                  resolve_pipeline_dataset)
from mmseg_cobra.utils.file_io import dump_json

CONFIG = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')


def _prepared(work, *options):
    keys = ('cobra_config', 'irn_config', 'seg_config')
    # values as run_pipeline.py's --cfg-options reads them
    opts = {
        k: DictAction._parse_iterable(v)
        for k, v in (o.split('=', 1) for o in options)
    }
    cfg = load_run_config(CONFIG, opts, keys, keys)
    resolve_pipeline_dataset(cfg)
    pipeline = CoBraPipeline(cfg, work)
    pipeline.prepare()
    return pipeline


def test_segmentation_options_reach_its_test(tmp_path):
    """``cfg_options.seg`` is the segmentation model's and its test-time
    settings': the test stage builds the model the training made, so a
    model option (here the backbone's depth) and a test option (the
    inference mode, the test scale) are in seg_eval's written config, and
    part of its fingerprint; the per-class metric stays as it was."""
    work = str(tmp_path / 'work')
    pipeline = _prepared(
        work, f'dataset.data_root={tmp_path / "data"}',
        'cfg_options.seg.model.backbone.depth=50',
        'cfg_options.seg.model.test_cfg.mode=slide',
        'cfg_options.seg.test_dataloader.dataset.pipeline.1.scale=(256,128)')
    ckpt = str(tmp_path / 'iter_1.pth')
    os.makedirs(osp.dirname(pipeline.layout.record('seg')), exist_ok=True)
    dump_json(dict(checkpoint=ckpt), pipeline.layout.record('seg'))
    stage = {s.name: s for s in STAGE_TABLE}['seg_eval']
    (command, ) = stage.commands(pipeline.ctx)
    written = Config.fromfile(
        next(a for a in command.argv if a.endswith('seg_eval.py')))
    assert ckpt in command.argv
    assert written.model.backbone.depth == 50
    assert written.model.test_cfg.mode == 'slide'
    assert written.test_dataloader.dataset.pipeline[1].scale == (256, 128)
    assert written.test_evaluator.type == 'ClassIoUMetric'
    inputs = pipeline.ctx.stage_inputs(stage)
    assert inputs['config.model.backbone.depth'] == '50'
