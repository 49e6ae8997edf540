"""Inputs a run cannot start from (a pipeline or ablation config that
cannot run, a mask tool's missing input folder): one line naming the file
and the fix, before any work (no traceback, nothing written)."""
import os.path as osp
import sys

import pytest
from conftest import REPO, run_tool

GOOD = osp.join(REPO, 'configs/pipeline/synthetic_demo.py')


def _run(tool, config, work):
    result = run_tool([
        sys.executable, f'tools/{tool}.py',
        str(config), '--work-dir',
        str(work)
    ])
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert 'Traceback' not in out, out
    assert not osp.exists(work), 'a refused config wrote into the work dir'
    return out


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['run_pipeline', 'ablate'])
def test_config_that_does_not_parse(tool, tmp_path):
    cfg = tmp_path / 'broken.py'
    cfg.write_text("cobra_config = 'configs/cobra/x.py'\nvariants = dict(\n")
    out = _run(tool, cfg, tmp_path / 'work')
    kind = 'pipeline' if tool == 'run_pipeline' else 'ablation'
    assert f'error: cannot read the {kind} config {cfg}: SyntaxError' in out
    assert 'Fix the file' in out


@pytest.mark.slow
def test_pipeline_config_without_a_stage_config(tmp_path):
    cfg = tmp_path / 'no_cobra.py'
    cfg.write_text(f"_base_ = [{GOOD!r}]\ncobra_config = None\n")
    out = _run('run_pipeline', cfg, tmp_path / 'work')
    assert f'the pipeline config {cfg} does not set cobra_config' in out
    assert '--cfg-options cobra_config=...' in out


@pytest.mark.slow
def test_pipeline_config_naming_a_missing_stage_config(tmp_path):
    cfg = tmp_path / 'wrong_irn.py'
    cfg.write_text(
        f"_base_ = [{GOOD!r}]\nirn_config = 'configs/irn/nope.py'\n")
    out = _run('run_pipeline', cfg, tmp_path / 'work')
    assert f'irn_config=configs/irn/nope.py in {cfg} not found' in out


@pytest.mark.slow
def test_ablation_config_without_variants(tmp_path):
    cfg = tmp_path / 'no_variants.py'
    cfg.write_text(
        "cobra_config = 'configs/cobra/cobra_r18_vittiny_synthetic.py'\n"
        "data_root = 'data/synthetic'\n"
        "eval_list = 'ImageSets/Segmentation/train.txt'\nseeds = (0, )\n")
    out = _run('ablate', cfg, tmp_path / 'work')
    assert 'does not set variants' in out


@pytest.mark.slow
@pytest.mark.parametrize('tool,config,what', [
    ('masks_from_walks', 'configs/irn/irn_r18_synthetic.py', 'walk'),
    ('crf_masks', 'configs/irn/irn_r18_synthetic.py', 'seed'),
])
def test_mask_tools_on_a_missing_input_directory(tool, config, what, tmp_path):
    """Named before anything is read or written (it used to skip every
    image one by one)."""
    missing, out = tmp_path / 'nowhere', tmp_path / 'out'
    result = run_tool([
        sys.executable, f'tools/{tool}.py', config, f'--{what}-dir',
        str(missing), '--out-dir',
        str(out)
    ])
    assert result.returncode == 1
    assert f'error: {what} directory {missing} does not exist' in \
        result.stderr
    assert not out.exists()
