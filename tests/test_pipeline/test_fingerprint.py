"""Stage fingerprints: a finished or interrupted stage made with other
settings is refused with the changed keys named, or redone with its old
records and outputs moved aside (never deleted); a change reaches the
stages that read the changed one, and only those."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO

from mmseg_cobra.pipeline import (STAGE_TABLE, STAGES, CoBraPipeline,
                                  StaleStageError, WorkDirLayout,
                                  load_run_config, resolve_pipeline_dataset)
from mmseg_cobra.pipeline.fingerprint import (StageInputs, StagePlan,
                                              downstream, fingerprint, flatten,
                                              upstream)

CONFIG = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')
SEGFORMER = 'configs/seg/segformer_mit_tiny_synthetic.py'


def test_flatten_keeps_types_and_empty_containers():
    flat = flatten(dict(a=dict(b=[1, '1'], c={}), d=[], e=None))
    assert flat == {
        'a.b.0': '1',
        'a.b.1': '"1"',
        'a.c': '{}',
        'd': '[]',
        'e': 'null'
    }


def test_needs_order_and_closures():
    assert downstream(['seeds'], STAGE_TABLE) == [
        'seeds', 'seed_eval', 'ir_labels', 'irn', 'masks', 'mask_eval',
        'final_masks', 'seg', 'seg_eval'
    ]
    assert downstream(['seed_eval'], STAGE_TABLE) == ['seed_eval']
    assert downstream(['seg'], STAGE_TABLE) == ['seg', 'seg_eval']
    assert upstream(['masks'], STAGE_TABLE) == [
        'classifier', 'seeds', 'ir_labels', 'irn', 'masks'
    ]


def _plan(tmp_path, values):
    """A StagePlan whose stage inputs are ``{'x': values[stage]}``."""
    return StagePlan(
        WorkDirLayout(str(tmp_path)), STAGE_TABLE,
        lambda stage: {'x': str(values.get(stage.name, 0))})


def _finish(tmp_path, plan, stages):
    """Record ``stages`` as finished with the plan's inputs, with an
    output file each."""
    fps = plan.fingerprints(stages)
    inputs = StageInputs(WorkDirLayout(str(tmp_path)))
    for stage in stages:
        inputs.write(stage, *fps[stage])
        (tmp_path / '.stages' / f'{stage}.json').write_text('{}')
    (tmp_path / 'seeds').mkdir(exist_ok=True)
    (tmp_path / 'seeds' / 'a.npz').write_text('seed')
    (tmp_path / 'seed_eval.json').write_text('{}')


def test_changed_stage_refused_naming_the_key(tmp_path):
    (tmp_path / '.stages').mkdir()
    stages = ('classifier', 'seeds', 'seed_eval')
    _finish(tmp_path, _plan(tmp_path, {}), stages)
    _plan(tmp_path, {}).check(stages, (), False)  # unchanged: fine
    with pytest.raises(StaleStageError) as err:
        _plan(tmp_path, {'seeds': 1}).check(stages, (), False)
    msg = str(err.value)
    assert 'stage seeds' in msg and 'x: 0 -> 1' in msg
    assert '(seed_eval, ir_labels, irn' in msg  # what reads it
    assert '--rerun-from seeds' in msg and '--rerun-changed' in msg
    # nothing moved, nothing deleted
    assert (tmp_path / 'seeds' / 'a.npz').read_text() == 'seed'


def test_upstream_change_reaches_the_stages_below(tmp_path):
    (tmp_path / '.stages').mkdir()
    stages = ('classifier', 'seeds', 'seed_eval')
    _finish(tmp_path, _plan(tmp_path, {}), stages)
    plan = _plan(tmp_path, {'classifier': 1})
    stale = plan.stale(plan.fingerprints(stages))
    assert list(stale) == list(stages)
    assert stale['seeds'] == ['its input stage classifier has other settings']


def test_rerun_moves_records_and_outputs_aside(tmp_path, capsys):
    (tmp_path / '.stages').mkdir()
    stages = ('classifier', 'seeds', 'seed_eval')
    _finish(tmp_path, _plan(tmp_path, {}), stages)
    plan = _plan(tmp_path, {'seeds': 1})
    plan.check(stages, (), rerun_changed=True)
    assert (tmp_path / '.stages' / 'classifier.json').is_file()  # kept
    for gone in ('.stages/seeds.json', '.stages/seed_eval.json', 'seeds',
                 'seed_eval.json'):
        assert not (tmp_path / gone).exists(), gone
    (moved, ) = os.listdir(tmp_path / 'superseded')
    old = tmp_path / 'superseded' / moved
    assert (old / 'seeds' / 'a.npz').read_text() == 'seed'
    assert (old / '.stages' / 'seeds.inputs.json').is_file()
    assert 'redoing seeds, seed_eval' in capsys.readouterr().out
    # --rerun-from an unchanged stage: it and what reads it
    plan.check(stages, downstream(['classifier'], STAGE_TABLE), False)
    assert not (tmp_path / '.stages' / 'classifier.json').exists()


def test_interrupted_stage_with_outputs_is_stale_without_is_not(tmp_path):
    (tmp_path / '.stages').mkdir()
    inputs = StageInputs(WorkDirLayout(str(tmp_path)))
    inputs.write('classifier', {'x': '0'}, {})  # started, no record
    _plan(tmp_path, {'classifier': 1}).check(['classifier'], (), False)
    inputs.write('classifier', {'x': '0'}, {})
    (tmp_path / 'cobra').mkdir()
    (tmp_path / 'cobra' / 'epoch_1.pth').write_text('w')
    with pytest.raises(StaleStageError, match='interrupted: it would resume'):
        _plan(tmp_path, {'classifier': 1}).check(['classifier'], (), False)


def test_record_from_before_fingerprints_is_adopted(tmp_path):
    (tmp_path / '.stages').mkdir()
    (tmp_path / '.stages' / 'classifier.json').write_text('{}')
    _plan(tmp_path, {}).check(['classifier'], (), False)
    written = json.load(open(tmp_path / '.stages' / 'classifier.inputs.json'))
    assert written['fingerprint'] == fingerprint({'x': '0'}, {})


def _pipeline(work, *options):
    keys = ('cobra_config', 'irn_config', 'seg_config')
    opts = dict(o.split('=', 1) for o in options)
    cfg = load_run_config(CONFIG, opts, keys, keys)
    resolve_pipeline_dataset(cfg)
    pipeline = CoBraPipeline(cfg, work)
    pipeline.prepare()
    return pipeline.plan


def test_real_configs_a_change_reaches_its_stage_and_below(tmp_path):
    """With the shipped configs: another segmentation config changes seg
    and seg_eval only; a classifier option changes every stage; the work
    dir's own path is not part of any fingerprint."""
    data = str(tmp_path / 'data')

    def fps(work, *options):
        plan = _pipeline(
            str(tmp_path / work), f'dataset.data_root={data}', *options)
        return {
            s: fingerprint(*v)
            for s, v in plan.fingerprints(STAGES).items()
        }

    base = fps('a')
    assert fps('b') == base  # another work dir, same settings
    seg = fps('c', f'seg_config={SEGFORMER}')
    assert [s for s in STAGES if seg[s] != base[s]] == ['seg', 'seg_eval']
    lr = fps('d', 'cfg_options.classifier.optim_wrapper.optimizer.lr=0.5')
    assert all(lr[s] != base[s] for s in STAGES)
    crf = fps('e', 'mask_eval_crf=True')
    assert [s for s in STAGES if crf[s] != base[s]
            ] == ['mask_eval', 'final_masks', 'seg', 'seg_eval']


def test_pipeline_refuses_a_changed_segmentation_config(tmp_path):
    """The guide's 'same work dir, another seg_config' case: the finished
    DeepLab stages are not reported as SegFormer's; the command names the
    change and the flag that redoes them."""
    data = str(tmp_path / 'data')
    work = str(tmp_path / 'work')
    plan = _pipeline(work, f'dataset.data_root={data}')
    inputs = StageInputs(plan.layout)
    for stage, (stage_inputs, needs) in plan.fingerprints(STAGES).items():
        inputs.write(stage, stage_inputs, needs)
        with open(osp.join(work, '.stages', stage + '.json'), 'w') as f:
            json.dump({}, f)
    result = subprocess.run([
        sys.executable, 'tools/run_pipeline.py', CONFIG, '--work-dir', work,
        '--cfg-options', f'dataset.data_root={data}', f'seg_config={SEGFORMER}'
    ],
                            cwd=REPO,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f'stage seg in {work} was made with other settings' in \
        result.stderr
    assert ('pipeline.seg_config: "deeplabv3plus_r18_synthetic.py" -> '
            '"segformer_mit_tiny_synthetic.py"') in result.stderr
    assert '--rerun-from seg' in result.stderr
    assert 'done before, skipped' not in result.stdout
    assert not osp.exists(osp.join(work, '.stages', 'driver.lock'))
