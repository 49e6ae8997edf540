"""The pipeline's small synthetic data and its uninterrupted reference run,
made once per test session and shared by the test processes
(test_pipeline.py, test_pipeline_killed.py).

Under pytest-xdist each process has its own base temporary directory; the
shared things live one level up, each made under a file lock by the first
process that asks for it (the other waits and then reads it).
"""
import json
import os
import os.path as osp
import sys

from conftest import run_tool
from filelock import FileLock
from pipeline_args import CONFIG, reduced

from mmseg_cobra.datasets import generate_synthetic_voc


def _shared(tmp_path_factory, name):
    base = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        base = base.parent
    return str(base / name)


def command(root, work):
    """The pipeline command of the pipeline tests."""
    return [
        sys.executable, 'tools/run_pipeline.py', CONFIG, '--work-dir', work,
        *reduced(root)
    ]


def pipeline_data(tmp_path_factory):
    """The synthetic dataset (32 train, 16 val images, 3 classes)."""
    root = _shared(tmp_path_factory, 'pipeline_data')
    with FileLock(root + '.lock'):
        if not osp.isfile(root + '.done'):
            generate_synthetic_voc(
                root, num_train=32, num_val=16, num_classes=3, seed=1)
            open(root + '.done', 'w').close()
    return root


def reference_run(tmp_path_factory):
    """``(work_dir, output)`` of the pipeline run once, uninterrupted."""
    root = pipeline_data(tmp_path_factory)
    work = _shared(tmp_path_factory, 'pipeline_reference')
    with FileLock(work + '.lock'):
        if not osp.isfile(work + '.json'):
            result = run_tool(command(root, work), timeout=1500)
            out = result.stdout + result.stderr
            assert result.returncode == 0, out[-3000:]
            with open(work + '.json', 'w') as f:
                json.dump(dict(output=out), f)
        with open(work + '.json') as f:
            return work, json.load(f)['output']
