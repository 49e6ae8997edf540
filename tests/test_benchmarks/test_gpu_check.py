"""benchmarks/gpu_check.py --device cpu: every part at tiny sizes, so the
GPU check cannot rot before a GPU arrives."""
import json
import sys

import pytest
from conftest import run_tool

pytestmark = pytest.mark.slow


def test_gpu_check_runs_every_part_on_cpu(tmp_path):
    out = str(tmp_path / 'check.json')
    result = run_tool([
        sys.executable, 'benchmarks/gpu_check.py', '--device', 'cpu', '--out',
        out
    ],
                      timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    print(result.stdout)
    res = json.load(open(out))
    training = {c['part']: c for c in res['training']}
    assert list(training) == [
        'classifier', 'irn', 'seg_deeplabv3plus_r18', 'seg_segformer_mit_tiny'
    ]
    runs = {
        (part, r['precision']): r
        for part, c in training.items()
        for r in c['runs']
    }
    for key in (('classifier', 'fp32'), ('classifier', 'bfloat16'),
                ('irn', 'fp32'), ('seg_deeplabv3plus_r18', 'fp32'),
                ('seg_segformer_mit_tiny', 'bfloat16')):
        assert runs[key]['s_per_iter'] > 0 and runs[key]['peak_gib'] > 0, key
    assert training['classifier']['config'].endswith(
        'cobra_r18_vittiny_synthetic.py')
    # bf16 autocast against fp32 on the same weights and batch: the first
    # step's losses agree to bf16's precision
    bf16 = runs[('classifier', 'bfloat16')]
    assert bf16['max_loss_rel_diff'] < 0.1
    assert runs[('classifier', 'fp32')]['max_loss_rel_diff'] is None
    assert set(runs[('classifier', 'fp32')]['losses']) >= {
        'loss_cls_cnn', 'loss_cls_vit', 'loss_cam', 'loss_sap', 'loss_cap'
    }
    inference = {c['part']: c for c in res['inference']}
    assert set(inference) == {'seeds', 'masks'}
    assert all(c['images_per_s'] > 0 for c in inference.values())
    assert res['walk']['s_per_image'] > 0
    assert res['walk']['batched_s_per_image'] > 0
    # the walk on the device (here the CPU itself) equals the CPU walk
    assert res['walk']['device_vs_cpu_max_rel_diff'] == 0.0
    assert res['resume']['bit_identical'] is True
    assert set(res['part_seconds']) == {
        'classifier', 'seeds', 'irn', 'masks', 'seg', 'resume'
    }
    stages = [row['stage'] for row in res['projection']]
    assert stages == [
        'classifier', 'seeds', 'irn', 'masks', 'seg_deeplabv3plus_r18',
        'seg_segformer_mit_tiny'
    ]
    assert all(row['hours'] > 0 for row in res['projection'])
    # the schedules come from the VOC configs (20 epochs of batch 32, 40k
    # iterations of batch 4 on 4 GPUs); the per-image stages count images
    first = res['projection'][0]['schedule']
    assert first['epochs'] == 20 and first['batch'] == 32
    assert first['iterations'] == 20 * -(-10582 // 32)
    seg = res['projection'][-1]['schedule']
    assert (seg['iterations'], seg['batch'], seg['processes']) == (40000, 4, 4)
    assert res['projection'][3]['num_images'] == 10582 + 1464
    assert '| stage | precision | hours | peak GiB | fits 12 GB |' in \
        result.stdout
    assert 'classifier (20 epochs, batch 32 x 1 process(es))' in result.stdout
    assert 'masks (12046 images)' in result.stdout
    assert '| part | precision | s/iter | peak GiB | loss diff vs fp32 |' \
        in result.stdout
    assert 'resume after a kill: bit-identical' in result.stdout
