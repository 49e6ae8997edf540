"""tools/ablate.py: variants x seeds, one table, resumable."""
import json
import os.path as osp
import sys

import pytest
from conftest import REPO, run_tool

from mmseg_cobra.datasets import generate_synthetic_voc
from mmseg_cobra.engine.hooks.guide_quality_hook import RECORDS
from mmseg_cobra.utils.records import last_scalars

CONFIG = osp.join(REPO, 'configs/ablation/table3_synthetic.py')

GUIDE_KEYS = tuple(RECORDS.values())


def test_table_marks_best_mean_and_spread():
    sys.path.insert(0, osp.join(REPO, 'tools'))
    from ablate import table
    from mmengine.config import Config
    cfg = Config(dict(common_threshold=0.5))
    rows = []
    for variant, base in (('a', 50.0), ('b', 60.0)):
        for seed, delta in ((0, -1.0), (1, 1.0)):
            row = dict(variant=variant, seed=seed)
            for source in ('cnn', 'vit', 'fuse'):
                row[f'{source}_swept'] = base + delta
                row[f'{source}_common'] = base - 10 + delta
            rows.append(row)
    rows[-1]['guide'] = dict(
        guide_sap_prec=80.0,
        guide_cap_prec=70.0,
        guide_sap_chance=40.0,
        guide_cap_chance=50.0)  # read by name, not position
    text = table(cfg, rows, ['a', 'b'])
    line_a = [x for x in text.splitlines() if x.startswith('| a |')][0]
    line_b = [x for x in text.splitlines() if x.startswith('| b |')][0]
    assert '50.00 ±1.00' in line_a and '**' not in line_a
    assert '**60.00 ±1.00**' in line_b and '**50.00 ±1.00**' in line_b
    assert '70.0 / 50.0' in line_b and '80.0 / 40.0' in line_b


@pytest.mark.slow
def test_ablation_runs_variants_and_resumes(tmp_path):
    root = str(tmp_path / 'data')
    generate_synthetic_voc(
        root,
        num_train=8,
        num_val=4,
        num_classes=4,
        image_size=(96, 96),
        seed=2)
    work = str(tmp_path / 'work')
    cmd = [
        sys.executable,
        'tools/ablate.py',
        CONFIG,
        '--work-dir',
        work,
        '--variants',
        'cls_only',
        'all',
        '--seeds',
        '0',
        '1',
        '--cfg-options',
        f'data_root={root}',
        'eval_list=ImageSets/Segmentation/train.txt',
        # one epoch, the complementary losses on from its start ('all'; in
        # 'cls_only' they never switch on)
        'classifier_options.train_cfg.max_epochs=1',
        'classifier_options.custom_hooks.ComplementaryLossSwitchHook.start_epoch=0',  # noqa: E501
        'classifier_options.train_dataloader.batch_size=8',
        'classifier_options.train_dataloader.num_workers=0',
        'classifier_options.train_dataloader.persistent_workers=False',
        'seed_options.test_dataloader.num_workers=0',
        'seed_options.model.test_cfg.scales=[1.0]'
    ]
    result = run_tool(cmd, timeout=1200)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert '| cls_only | 2 |' in out and '| all | 2 |' in out
    assert osp.isfile(osp.join(work, 'ablation.png'))
    assert '![ablation](ablation.png)' in open(osp.join(work,
                                                        'ablation.md')).read()
    rows = json.load(open(osp.join(work, 'ablation.json')))
    assert len(rows) == 4
    for row in rows:
        run = osp.join(work, row['variant'], f"seed{row['seed']}")
        report = json.load(open(osp.join(run, 'seed_eval.json')))
        for source in ('cnn', 'vit', 'fuse'):
            # the run's best fixed threshold, and the common one, as swept
            sweep = report[f'{source}/fixed']['sweep']
            assert row[f'{source}_swept'] == max(sweep.values())
            common = [v for k, v in sweep.items() if float(k) == 0.5]
            assert row[f'{source}_common'] == common[0]
        if 'guide' in row:  # GuideQualityHook's record of the last epoch
            last = last_scalars(osp.join(run, 'cobra'), GUIDE_KEYS[0])
            assert row['guide'] == {
                name: last[scalar]
                for name, scalar in RECORDS.items()
            }
    # the complementary losses ran only in 'all': its guide figures exist
    assert all('guide' in r for r in rows if r['variant'] == 'all')
    assert not any('guide' in r for r in rows if r['variant'] == 'cls_only')
    # a rerun skips every finished run and prints the same table
    again = run_tool(cmd, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count('done before, skipped') == 12
    assert json.load(open(osp.join(work, 'ablation.json'))) == rows
