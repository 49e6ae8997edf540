"""The COCO pipeline config, every stage at full model size (see
full_size_smoke.py)."""
import os.path as osp
import sys

import pytest
from conftest import REPO, run_tool
from full_size_smoke import _check_outputs, _run_pipeline, write_coco2014

pytestmark = pytest.mark.slow


def test_coco2014_pipeline_end_to_end_at_full_size(tmp_path):
    """COCO: converter, then every stage of configs/pipeline/cobra_coco.py
    with DeepLabV3+ R101 (the VOC run covers SegFormer MiT-B2)."""
    pytest.importorskip('pycocotools')
    root = str(tmp_path / 'coco2014')
    write_coco2014(root)
    result = run_tool([
        sys.executable, 'tools/dataset_converters/coco2014.py', root,
        '--nproc', '1'
    ])
    assert result.returncode == 0, result.stderr
    with open(osp.join(root, 'train.txt')) as f:
        ids = f.read().split()
    assert len(ids) == 4
    work = str(tmp_path / 'work')
    summary, out = _run_pipeline(
        osp.join(REPO, 'configs/pipeline/cobra_coco.py'),
        work,
        [
            f'dataset.data_root={root}',
            'cfg_options.seg.model.pretrained=None',
            # CRF without the 12-way TTA, on the small test images of SMOKE:
            # TTA at full size is the VOC run's (SegFormer MiT-B2), TTA
            # with DeepLabV3+ test_segmentation.py's
            'seg_test_flags=[--crf]',
        ])
    assert '80 foreground classes; train 4 images' in out
    _check_outputs(work, root, ids, 80, summary)
