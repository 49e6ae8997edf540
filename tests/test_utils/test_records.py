"""The readers of mmengine's run records (``utils.records``)."""
import json
import os
import os.path as osp

import pytest

from mmseg_cobra.utils.records import (RecordNotFoundError, last_scalars,
                                       load_test_metrics)


def _run_dir(work_dir, stamp):
    run = osp.join(work_dir, stamp)
    os.makedirs(osp.join(run, 'vis_data'))
    return run


def test_ranks_dumping_at_once_leave_a_readable_record(tmp_path):
    """Two ranks dump their test metrics into one ``<timestamp>.json``
    (mmengine's LoggerHook, mode 'w'), both opened before either writes:
    the file is the shorter record followed by the longer one's tail. The
    reader takes the whole first record, not "no test run"."""
    run = _run_dir(str(tmp_path), '20261207_120000')
    path = osp.join(run, '20261207_120000.json')
    rank0 = dict(aAcc=91.5, mIoU=61.25, time=0.123456, data_time=0.01)
    rank1 = dict(aAcc=91.5, mIoU=61.25, time=0.12, data_time=0.01)
    first, second = open(path, 'w'), open(path, 'w')
    first.write(json.dumps(rank0))  # the longer record
    first.close()
    second.write(json.dumps(rank1))
    second.close()
    with open(path) as f:
        text = f.read()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # what the reader used to skip
    metrics = load_test_metrics(str(tmp_path), 'mIoU')
    assert metrics['mIoU'] == 61.25 and metrics['aAcc'] == 91.5


def test_cut_line_is_skipped_and_newest_run_is_taken(tmp_path):
    old = _run_dir(str(tmp_path), '20261207_110000')
    with open(osp.join(old, '20261207_110000.json'), 'w') as f:
        f.write(json.dumps(dict(mIoU=10.0)) + '\n')
    new = _run_dir(str(tmp_path), '20261207_120000')
    with open(osp.join(new, '20261207_120000.json'), 'w') as f:
        f.write(json.dumps(dict(mIoU=20.0)) + '\n{"mIoU": 3')  # cut
    assert load_test_metrics(str(tmp_path), 'mIoU')['mIoU'] == 20.0
    with open(osp.join(new, 'vis_data', 'scalars.json'), 'w') as f:
        f.write('{"loss": 1.0, "step": 1}\n{"loss": 0.5, "step": 2}\n'
                '{"loss": 0.')
    assert last_scalars(str(tmp_path), 'loss') == dict(loss=0.5, step=2)


def test_no_run_names_the_folder(tmp_path):
    run = _run_dir(str(tmp_path), '20261207_120000')
    with open(osp.join(run, '20261207_120000.json'), 'w') as f:
        f.write('{"mIoU": ')  # killed while dumping
    with pytest.raises(RecordNotFoundError, match=str(tmp_path)):
        load_test_metrics(str(tmp_path), 'mIoU')
