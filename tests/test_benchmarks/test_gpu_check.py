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
    for key in ('classifier_fp32_s_per_iter', 'classifier_bfloat16_s_per_iter',
                'seeds_images_per_s', 'irn_fp32_s_per_iter',
                'masks_images_per_s', 'walk_s_per_image',
                'walk_batched_s_per_image',
                'seg_deeplabv3plus_r18_fp32_s_per_iter',
                'seg_segformer_mit_tiny_bfloat16_s_per_iter'):
        assert res[key] > 0, key
    # bf16 autocast against fp32 on the same weights and batch: the first
    # step's losses agree to bf16's precision
    assert res['classifier_bfloat16_max_loss_rel_diff'] < 0.1
    assert set(res['classifier_losses']['fp32']) >= {
        'loss_cls_cnn', 'loss_cls_vit', 'loss_cam', 'loss_sap', 'loss_cap'
    }
    # the walk on the device (here the CPU itself) equals the CPU walk
    assert res['walk_device_vs_cpu_max_rel_diff'] == 0.0
    assert res['resume_bit_identical'] is True
    stages = [row['stage'] for row in res['projection']]
    assert len(stages) == 6 and stages[0].startswith('classifier')
    assert all(row['hours'] > 0 for row in res['projection'])
    assert stages == [
        'classifier', 'seeds', 'irn', 'masks', 'seg_deeplabv3plus_r18',
        'seg_segformer_mit_tiny'
    ]
    # the schedules come from the VOC configs (20 epochs of batch 32, 40k
    # iterations of batch 4 on 4 GPUs)
    first = res['projection'][0]['schedule']
    assert first['epochs'] == 20 and first['batch'] == 32
    assert first['iterations'] == 20 * -(-10582 // 32)
    seg = res['projection'][-1]['schedule']
    assert (seg['iterations'], seg['batch'], seg['processes']) == (40000, 4, 4)
    assert '| stage | precision | hours | peak GiB | fits 12 GB |' in \
        result.stdout
    assert 'classifier (20 epochs, batch 32 x 1 process(es))' in result.stdout
