"""Parity with the reference implementation on shared weights.

``tests/data/reference_parity/reference_outputs.npz`` holds what the
reference's own code computed (``tests/parity/reference_outputs.py``
run on a checkout of it) for three small images, with random weights drawn
from a fixed seed in the order of ``manifest.json``. Here the project's
full-size models get the same weights through the checkpoint converters and
every stage is compared with those outputs.
"""
import os.path as osp

import numpy as np
import pytest
from conftest import REPO
from parity.reference_parity import (PARITY_ROWS, load_reference_outputs,
                                     parity_table)

pytestmark = pytest.mark.slow

DATA = osp.join(REPO, 'tests/data/reference_parity')
COBRA_CONFIG = osp.join(REPO, 'configs/cobra/cobra_r152_deits_voc.py')
IRN_CONFIG = osp.join(REPO, 'configs/irn/irn_r152_cobra_voc.py')


@pytest.fixture(scope='module')
def table():
    return parity_table(DATA, COBRA_CONFIG, IRN_CONFIG)


def test_reference_outputs_are_not_trivial():
    ref, manifest, ids, seed = load_reference_outputs(DATA)
    assert len(ids) >= 2
    for img_id in ids:
        h, w = ref[f'{img_id}/image'].shape[:2]
        # sizes that are not multiples of 16 exercise the ViT grid
        assert h % 16 or w % 16
        keys = ref[f'{img_id}/keys']
        for name in ('cam_cnn', 'cam_vit'):
            cams = ref[f'{img_id}/{name}']
            assert cams.shape == (len(keys), h, w)
            # per-class max-normalised maps that vary over the image (a
            # class the random CNN never activates stays 0: max + 1e-5)
            peaks = cams.reshape(len(keys), -1).max(1)
            assert np.all((np.abs(peaks - 1) < 1e-3) | (peaks == 0))
            assert peaks.max() > 0.999 and cams.std() > 0.05
        assert ref[f'{img_id}/boundary'].std() > 0.01
        mask = ref[f'{img_id}/mask']
        assert set(np.unique(mask)) - {0} <= set(keys + 1)
        assert len(np.unique(mask)) >= 2


def test_every_stage_equals_the_reference(table):
    lines = []
    for row, unit, tolerance in PARITY_ROWS:
        lines.append(f'{row:14s} {table[row]:12.6g}  {unit}')
    print('\nparity with the reference implementation (worst image):\n' +
          '\n'.join(lines))
    for row, unit, tolerance in PARITY_ROWS:
        if tolerance is not None:
            assert table[row] <= tolerance, f'{row}: {table[row]} {unit}'


def test_the_reference_geometry_is_what_makes_the_parity():
    """With the options that depart from the reference's geometry (tensor
    pyramid, corner-padded patch grid, position embedding resized to a
    size, IRN padded to the stride only, RGB final CRF) the maps move by far
    more than the tolerance: the parity above is the geometry's doing, not
    a loose comparison."""
    alternative = parity_table(
        DATA, COBRA_CONFIG, IRN_CONFIG, alternative=True, ids=['2100_000001'])
    assert alternative['cam_cnn'] > 1e-2
    assert alternative['cam_vit'] > 1e-1
    assert alternative['attn'] > 1e-1
    assert alternative['boundary'] > 1e-2
    assert alternative['seed_label'] > 100
    # the walk takes the reference's own grid seeds and boundary: unchanged
    assert alternative['walk'] <= 1e-4
