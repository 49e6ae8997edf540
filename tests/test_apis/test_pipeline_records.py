"""Stage records written by an older version of the pipeline are redone,
not trusted (in process: no stage runs)."""
import json
import os.path as osp

from mmengine.config import Config

from mmseg_cobra.apis import CoBraPipeline
from mmseg_cobra.apis.pipeline import RECORD_KEYS, STAGES


def _pipeline(tmp_path):
    cfg = Config(dict(data_root=str(tmp_path), train_list='train.txt'))
    return CoBraPipeline(cfg, str(tmp_path / 'work'))


def _record(pipeline, stage, record):
    with open(osp.join(pipeline.state_dir, stage + '.json'), 'w') as f:
        json.dump(record, f)


def test_old_mask_eval_record_is_outdated_and_redone(tmp_path, capsys):
    pipeline = _pipeline(tmp_path)
    # the mask evaluation's record before rows were keyed by identifier
    old = {
        'mask_miou': 60.0,
        'chosen': dict(rule='reference', value=0.3, mIoU=70.0),
        'walk, IRN rule': dict(best=0.5, mIoU=70.0, at_default=50.0),
        'boundary_F': 40.0
    }
    _record(pipeline, 'mask_eval', old)
    assert pipeline._outdated('mask_eval') == ['rows']
    ran = []

    def fake_mask_eval():
        ran.append('mask_eval')
        return dict(old, rows={})

    pipeline.mask_eval = fake_mask_eval
    pipeline.run(stages=('mask_eval', ))
    out = capsys.readouterr().out
    assert ran == ['mask_eval']
    assert 'was written by an older version (no rows): running it again' \
        in out
    assert pipeline._outdated('mask_eval') == []
    # a current record is skipped
    pipeline.run(stages=('mask_eval', ))
    assert ran == ['mask_eval']
    assert 'mask_eval: done before, skipped' in capsys.readouterr().out


def test_every_record_key_is_a_stage():
    assert set(RECORD_KEYS) <= set(STAGES)
