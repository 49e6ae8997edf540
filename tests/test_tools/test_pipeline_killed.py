"""tools/run_pipeline.py killed anywhere (fault injection, see
mmseg_cobra/utils/fault.py): it finishes with the same files, weights and
summary as the uninterrupted reference run (pipeline_reference.py)."""
import json
import os
import os.path as osp
import signal

import numpy as np
import pytest
from conftest import run_tool
from PIL import Image
from pipeline_args import STAGES
from pipeline_reference import command, pipeline_data, reference_run

pytestmark = pytest.mark.slow

# (fault, stage it hits): every stage that trains or writes files, killed
# mid-epoch in each training, in the middle of writing seeds, IR labels,
# walks and final masks, and after a stage's last file before the stage is
# recorded. The three evaluation stages only read files and write one
# report at their end; killed, they run again whole.
FAULTS = [
    ('train_iter@10', 'classifier'),  # epoch 3 of 4: resumes from epoch 2
    ('seed.partial@4', 'seeds'),
    ('stage_done.seeds', 'seeds'),
    ('ir_label.partial@4', 'ir_labels'),
    ('stage_done.ir_labels', 'ir_labels'),
    ('train_iter@6', 'irn'),  # epoch 2 of 10
    ('walk.partial@3', 'masks'),
    ('stage_done.masks', 'masks'),
    ('final_mask.partial@5', 'final_masks'),
    ('train_iter@70', 'seg'),  # resumes from iteration 50
    ('stage_done.seg', 'seg'),
]
OUTPUTS = {
    'seeds': '.npz',
    'walks': '.npz',
    'ir_labels': '.png',
    'masks': '.png',
    'final_masks': '.png'
}


def _read_output(path):
    if path.endswith('.npz'):
        with np.load(path) as z:  # a partial file raises here
            return {k: z[k] for k in z.files}
    with Image.open(path) as img:
        img.load()  # a truncated PNG raises here
        return np.asarray(img)


def _outputs(work):
    """Every output file under its final name, read in full."""
    files = {}
    for sub, ext in OUTPUTS.items():
        d = osp.join(work, sub)
        for name in sorted(os.listdir(d)) if osp.isdir(d) else []:
            if name.endswith(ext) and '.tmp' not in name:
                files[f'{sub}/{name}'] = _read_output(osp.join(d, name))
    return files


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def _summary(work):
    """The summary without times, memory and this run's paths."""
    text = open(osp.join(work, 'summary.json')).read().replace(work, 'WORK')
    summary = json.loads(text)
    for result in summary.values():
        result.pop('seconds', None)
        result.pop('peak_rss_mb', None)
    return summary


def _state_dict(work, sub):
    import torch
    with open(osp.join(work, sub, 'last_checkpoint')) as f:
        ckpt = torch.load(
            f.read().strip(), map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def test_pipeline_killed_anywhere_finishes_like_an_uninterrupted_run(
        tmp_path_factory, tmp_path):
    """The reference run is asked for only at the end: another test process
    makes it (test_pipeline.py) while this one is killing its runs."""
    data_root = pipeline_data(tmp_path_factory)
    work = str(tmp_path / 'work')
    state = osp.join(work, '.stages')
    for fault, stage in FAULTS:
        # the pipeline runs in its own session (run_tool), its stages in
        # its process group
        proc = run_tool(
            command(data_root, work),
            env=dict(MMSEG_COBRA_FAULT=fault),
            timeout=900)
        out = proc.stdout + proc.stderr
        # SIGKILL took the whole process group, the pipeline included
        assert proc.returncode == -signal.SIGKILL, (fault, out[-3000:])
        log = open(osp.join(work, 'logs', stage + '.log')).read() \
            if not fault.startswith('stage_done') else out
        assert f'[fault injection] {fault.split("@")[0]}' in log, fault
        assert not osp.isfile(osp.join(state, stage + '.json')), fault
        for before in STAGES[:STAGES.index(stage)]:
            assert osp.isfile(osp.join(state, before + '.json')), fault
        _outputs(work)  # nothing under a final name is partial
        if fault.endswith('.partial@' + fault.split('@')[-1]):
            kind = fault.split('.')[0]
            sub = dict(
                seed='seeds',
                ir_label='ir_labels',
                walk='walks',
                final_mask='final_masks')[kind]
            assert any('.tmp' in n for n in os.listdir(osp.join(work, sub)))
    result = run_tool(command(data_root, work), timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    ref_work, _ = reference_run(tmp_path_factory)
    ref, got = _outputs(ref_work), _outputs(work)
    assert ref.keys() == got.keys()
    differ = sorted(k for k in ref if not _same(ref[k], got[k]))
    assert not differ, f'{len(differ)} files differ, e.g. {differ[:5]}'
    for sub in ('cobra', 'irn', 'seg'):
        a, b = _state_dict(ref_work, sub), _state_dict(work, sub)
        assert a.keys() == b.keys()
        assert all(torch_equal(a[k], b[k]) for k in a), sub
    assert _summary(work) == _summary(ref_work)


def torch_equal(a, b):
    import torch
    return torch.equal(a, b)
