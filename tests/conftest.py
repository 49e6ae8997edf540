import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from mmengine.registry import init_default_scope

import mmseg_cobra  # noqa: F401
from mmseg_cobra.utils.fault import PLUGIN_ENV

init_default_scope('mmseg')
# the kill-anywhere tests' fault injection: the plugin of the library's
# fault points, in this process and every tool process the tests start
os.environ.setdefault(PLUGIN_ENV, osp.join(REPO, 'tests',
                                           'fault_injection.py'))
if os.environ.get('PYTEST_XDIST_WORKER'):
    # `make test` runs two test processes on two cores: one thread each for
    # the in-process tests (the tools' subprocesses get OMP_NUM_THREADS=1
    # from run_tool)
    import torch
    torch.set_num_threads(1)
from mmseg_cobra.datasets import generate_synthetic_voc

TINY_CONFIG = osp.join(REPO, 'configs/cobra/cobra_r18_vittiny_synthetic.py')


class _ToolZygote:
    """This test process's warm tool runner (``tests/tool_zygote.py``)."""

    def __init__(self, env):
        self.pythonpath = env['PYTHONPATH']
        self.proc = subprocess.Popen(
            [sys.executable,
             osp.join(REPO, 'tests', 'tool_zygote.py')],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            env=env,
            text=True)
        ready = self.proc.stdout.readline()
        assert ready == 'ready\n', 'the tool zygote did not start'

    def run(self, args, cwd, env, timeout):
        import json
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out, err = osp.join(tmp, 'stdout'), osp.join(tmp, 'stderr')
            self.proc.stdin.write(
                json.dumps(
                    dict(
                        script=args[1],
                        args=list(args[2:]),
                        cwd=cwd,
                        env=env,
                        stdout=out,
                        stderr=err,
                        timeout=timeout)) + '\n')
            self.proc.stdin.flush()
            answer = json.loads(self.proc.stdout.readline())
            if answer.get('timeout'):
                raise subprocess.TimeoutExpired(args, timeout)
            with open(out) as f_out, open(err) as f_err:
                return subprocess.CompletedProcess(args, answer['returncode'],
                                                   f_out.read(), f_err.read())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


_zygote = None


def _run_in_zygote(args, cwd, env, timeout):
    global _zygote
    if _zygote is None:
        import atexit
        _zygote = _ToolZygote(env)
        atexit.register(_zygote.close)
    return _zygote.run(args, cwd, env, timeout)


def run_tool(args, cwd=None, timeout=900, env=None, fresh=False):
    """Run a command from the repo; return the CompletedProcess.

    ``python TOOL.py ARGS`` runs in a child forked from this test process's
    warm tool runner (``tests/tool_zygote.py``: torch, mmcv, mmengine, mmseg
    and mmpretrain already imported, ``mmseg_cobra`` not), which saves the
    2.5-3.5 s of imports a fresh interpreter spends before the tool starts;
    the tool runs as ``python TOOL.py`` would otherwise (own session,
    working directory, environment, ``sys.argv``, exit status). Anything
    else, a changed ``PYTHONPATH`` (the installed-wheel tests) or
    ``fresh=True`` gets a fresh process. The stages a pipeline run starts
    are always fresh processes.
    """
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = REPO + os.pathsep + full_env.get('PYTHONPATH', '')
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    cwd = cwd or REPO
    if not fresh and len(args) > 1 and args[0] == sys.executable \
            and args[1].endswith('.py') \
            and 'PYTHONPATH' not in (env or {}) \
            and (_zygote is None
                 or _zygote.pythonpath == full_env['PYTHONPATH']):
        return _run_in_zygote(args, cwd, full_env, timeout)
    return subprocess.run(
        args,
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic VOC-layout dataset shared by the tests (read-only)."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_voc(
        root,
        num_train=24,
        num_val=8,
        num_classes=4,
        image_size=(160, 160),
        seed=0)
    return root


def build_tiny_cobra(**overrides):
    """The small CoBra of TINY_CONFIG, seeded and initialised."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def label_samples(labels):
    """``SegDataSample``s carrying the multi-hot ``gt_label`` rows given."""
    import torch
    from mmseg.structures import SegDataSample
    out = []
    for row in labels:
        sample = SegDataSample()
        sample.gt_label = torch.tensor(row, dtype=torch.float32)
        out.append(sample)
    return out


def direct_miou(preds, gts, num_labels, ignore_index=255):
    """mIoU (%) over images, written out directly: per class, pixels in both
    over pixels in either (ignored pixels left out), averaged over the
    classes present in a prediction or the truth."""
    import numpy as np
    ious = []
    for c in range(num_labels):
        inter = union = 0
        for pred, gt in zip(preds, gts):
            valid = gt != ignore_index
            inter += np.sum((pred == c) & (gt == c) & valid)
            union += np.sum(((pred == c) | (gt == c)) & valid)
        if union:
            ious.append(inter / union)
    return 100 * float(np.mean(ious))


#: Measured seconds (2 cores, two test processes) of the longest test
#: files. `make test` hands whole files to its two processes
#: (``--dist loadfile``: a file's module fixtures are made once) in this
#: order, longest first, so that no long file starts last and runs alone.
LONGEST_FIRST = (
    ('tests/test_tools/test_pipeline_killed.py', 245),
    # second, though shorter: it makes the shared reference run
    # (pipeline_reference.py), which the killed runs need only at their end,
    # in the other process at once
    ('tests/test_tools/test_pipeline.py', 244),
    # two-node, killed-node and Slurm runs; the one-process reference run
    # (made by test_pipeline.py meanwhile) only for comparisons
    ('tests/test_tools/test_pipeline_cluster.py', 250),
    # a training stopped by SIGTERM and resumed; the reference run only
    # at its end
    ('tests/test_tools/test_pipeline_preempted.py', 175),
    ('tests/test_tools/test_full_size_smoke_coco.py', 100),
    ('tests/test_tools/test_full_size_smoke_voc.py', 85),
    ('tests/test_configs/test_package_configs.py', 85),
    # seeds and IR labels from the reference run's classifier, made by then
    ('tests/test_tools/test_pipeline_paths.py', 80),
    ('tests/test_tools/test_ablate.py', 75),
    ('tests/test_tools/test_check_dataset.py', 60),
    ('tests/test_engine/test_hooks/test_random_state_hook.py', 55),
    ('tests/test_apis/test_reference_parity.py', 45),
    ('tests/test_utils/test_peer_watch.py', 30),
    ('tests/test_tools/test_masks.py', 40),
    ('tests/test_benchmarks', 40),
    ('tests/test_tools/test_seeds.py', 35),
    ('tests/test_tools/test_segmentation.py', 32),
    ('tests/test_tools/test_train.py', 30),
    ('tests/test_tools/test_model_converters.py', 15),
    ('tests/test_registry.py', 10),
    ('tests/test_apis/test_dataset_description.py', 10),
)


def pytest_collection_modifyitems(config, items):
    """Longest files first (see LONGEST_FIRST); the rest keep their
    order."""

    def cost(item):
        for prefix, seconds in LONGEST_FIRST:
            if item.nodeid.startswith(prefix):
                return -seconds
        return 0

    items.sort(key=cost)  # stable: equal costs keep the collection order
