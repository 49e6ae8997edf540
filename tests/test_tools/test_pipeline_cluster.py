"""tools/run_pipeline.py as a cluster runs it, on this machine: two nodes
of one process each (``--launcher pytorch --nnodes 2``, 127.0.0.1), a node
killed in a distributed stage and in a sharded CPU stage, and Slurm through
a fake ``srun``/``scontrol`` (tests/fake_slurm)."""
import json
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, run_tool
from PIL import Image
from pipeline_args import STAGES
from pipeline_reference import command, pipeline_data, reference_run

pytestmark = pytest.mark.slow

#: the CPU stages and what they write
CPU_STAGES = ('seed_eval', 'ir_labels', 'mask_eval', 'final_masks')
SHORT = [
    'cfg_options.irn.train_cfg.max_epochs=3',
    'cfg_options.seg.train_cfg.max_iters=20',
    'cfg_options.seg.train_cfg.val_interval=20',
    'cfg_options.seg.default_hooks.checkpoint.interval=10',
]


def free_port():
    """A port P with P and P + 1 free (stages, driver store)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port < 65000:
            with socket.socket() as s:
                try:
                    s.bind(('127.0.0.1', port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError('no free port pair')


def _env(extra=None):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra or {})
    return env


def run_nodes(cmd, port, faults=(None, None), timeout=1200):
    """The same pipeline command on node 0 and node 1 at once (each in its
    own session, as on two machines); returns their (status, output)."""
    procs = []
    for rank, fault in enumerate(faults):
        node_cmd = cmd + [
            '--launcher', 'pytorch', '--nnodes', '2', '--node-rank',
            str(rank), '--master-addr', '127.0.0.1', '--master-port',
            str(port)
        ]
        procs.append(
            subprocess.Popen(
                node_cmd,
                cwd=REPO,
                env=_env({'MMSEG_COBRA_FAULT': fault} if fault else {}),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True))
    results = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for p in procs:
                os.killpg(p.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            raise AssertionError(f'nodes did not finish: {out[-3000:]}')
        results.append((proc.returncode, out))
    # a node whose peer was killed may leave a stage's processes behind
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return results


def _files(work, sub, ext='.png'):
    d = osp.join(work, sub)
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(ext) and not name.startswith('.'):
            with Image.open(osp.join(d, name)) as img:
                out[name] = np.asarray(img)
    return out


def _same_files(a_work, b_work, sub):
    a, b = _files(a_work, sub), _files(b_work, sub)
    assert a and a.keys() == b.keys(), sub
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f'{sub}: {len(differ)} files differ, e.g. {differ[:3]}'


def _report(path, work):
    text = open(path).read().replace(work, 'WORK')
    return json.loads(text)


@pytest.fixture(scope='module')
def two_nodes(tmp_path_factory):
    """The synthetic pipeline as two nodes of one process each."""
    root = pipeline_data(tmp_path_factory)
    work = str(tmp_path_factory.mktemp('two_nodes') / 'work')
    results = run_nodes(command(root, work) + SHORT, free_port())
    for rc, out in results:
        assert rc == 0, out[-4000:]
    return root, work, results


def test_two_nodes_record_every_stage_once(two_nodes):
    _, work, ((_, out0), (_, out1)) = two_nodes
    for stage in STAGES:
        assert out0.count(f'[pipeline] {stage}: finished') == 1, stage
        assert osp.isfile(osp.join(work, '.stages', stage + '.json'))
    assert 'joined the run of 127.0.0.1' in out1
    assert ': finished' not in out1 and '[pipeline] ' not in out1
    # node 1 ran its share of every stage: its own logs
    for stage in STAGES:
        assert osp.isfile(osp.join(work, 'logs', f'{stage}.node1.log'))
    # the lock is gone with the run
    assert not osp.exists(osp.join(work, '.stages', 'driver.lock'))


def test_two_nodes_print_world_batch_and_lr(two_nodes, tmp_path_factory):
    _, _, ((_, out0), _) = two_nodes
    assert ('[pipeline] classifier: world size 2, batch 8 per process, '
            'total 16, lr 0.01 (auto_scale_lr off)') in out0
    # the one-process reference run: the same per-process batch
    _, ref_out = reference_run(tmp_path_factory)
    assert ('[pipeline] classifier: world size 1, batch 8 per process, '
            'total 8, lr 0.01') in ref_out
    # the paper's total batch split over the world (no explicit batch)
    assert '[pipeline] irn: world size 2, batch 4 per process, total 8' \
        in out0


def test_two_nodes_cpu_stages_equal_one_process(two_nodes, tmp_path):
    """The sharded CPU stages' outputs, file for file, against the same
    stages re-run on one process from the two-node run's seeds/walks."""
    root, work, _ = two_nodes
    again = str(tmp_path / 'again')
    shutil.copytree(work, again, symlinks=True)
    for stage in CPU_STAGES:
        os.remove(osp.join(again, '.stages', stage + '.json'))
    for sub in ('ir_labels', 'final_masks'):
        shutil.rmtree(osp.join(again, sub))
    result = run_tool(
        command(root, again) + SHORT + ['--stages', *CPU_STAGES], timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for sub in ('ir_labels', 'final_masks'):
        _same_files(work, again, sub)
    for name in ('seed_eval.json', 'mask_eval.json'):
        assert _report(osp.join(work, name), work) == \
            _report(osp.join(again, name), again), name


def test_node_killed_in_distributed_and_cpu_stage_resumes(
        tmp_path_factory, tmp_path):
    """Node 1 killed in the seed stage (distributed test) and in the IR
    labels (sharded CPU stage); both nodes restarted each time: the run
    finishes with the one-process reference run's seeds and IR labels."""
    ref_work, _ = reference_run(tmp_path_factory)
    root = pipeline_data(tmp_path_factory)
    work = str(tmp_path / 'work')
    with open(osp.join(ref_work, 'cobra', 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    cmd = command(root, work) + [
        f'classifier_checkpoint={ckpt}', '--stages', 'classifier', 'seeds',
        'seed_eval', 'ir_labels'
    ]
    port = free_port()
    for fault, stage in (('seed@4', 'seeds'), ('ir_label@3', 'ir_labels')):
        (rc0, out0), (rc1, out1) = run_nodes(cmd, port, (None, fault))
        assert rc1 != 0 and rc0 != 0, (fault, out0[-2000:], out1[-2000:])
        log = open(osp.join(work, 'logs', f'{stage}.node1.log')).read()
        assert f'[fault injection] {fault.split("@")[0]}' in log
        assert not osp.isfile(osp.join(work, '.stages', stage + '.json'))
    (rc0, out0), (rc1, out1) = run_nodes(cmd, port)
    assert rc0 == 0 and rc1 == 0, (out0[-3000:], out1[-3000:])
    for sub, ext in (('seeds', '.npz'), ):
        names = sorted(
            n for n in os.listdir(osp.join(work, sub))
            if n.endswith(ext) and not n.startswith('.'))
        assert names == sorted(
            n for n in os.listdir(osp.join(ref_work, sub))
            if n.endswith(ext) and not n.startswith('.'))
        for name in names:
            with np.load(osp.join(work, sub, name)) as a, \
                    np.load(osp.join(ref_work, sub, name)) as b:
                assert all(np.array_equal(a[k], b[k]) for k in a.files), name
    _same_files(ref_work, work, 'ir_labels')


def test_slurm_pipeline_through_srun(tmp_path_factory, tmp_path):
    """``--launcher slurm`` in a (fake) 2-node allocation: training,
    testing and the CPU stages through srun; seeds and IR labels equal
    the one-process reference run's."""
    ref_work, _ = reference_run(tmp_path_factory)
    root = pipeline_data(tmp_path_factory)
    work = str(tmp_path / 'work')
    with open(osp.join(ref_work, 'cobra', 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    srun_log = str(tmp_path / 'srun.log')
    env = dict(
        PATH=osp.join(REPO, 'tests', 'fake_slurm') + os.pathsep +
        os.environ['PATH'],
        SLURM_JOB_ID='4242',
        SLURM_JOB_NUM_NODES='2',
        SLURM_NTASKS_PER_NODE='1',
        SLURM_JOB_NODELIST='node[1-2]',
        MASTER_PORT=str(free_port()),
        FAKE_SRUN_LOG=srun_log)
    cmd = command(root, work) + [
        f'classifier_checkpoint={ckpt}',
        'cfg_options.irn.train_cfg.max_epochs=1', '--launcher', 'slurm',
        '--master-port', env['MASTER_PORT'], '--stages', 'classifier', 'seeds',
        'seed_eval', 'ir_labels', 'irn'
    ]
    result = subprocess.run(
        cmd,
        cwd=REPO,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=900)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    calls = open(srun_log).read().splitlines()
    assert len(calls) == 4  # seeds, seed_eval, ir_labels, irn
    assert all('--kill-on-bad-exit=1' in c for c in calls)
    assert sum('--ntasks=2 --ntasks-per-node=1' in c for c in calls) == 4
    assert any('make_ir_labels.py' in c and '--cpus-per-task=1' in c
               for c in calls)
    assert '[pipeline] irn: world size 2' in out
    assert osp.isfile(osp.join(work, '.stages', 'irn.json'))
    _same_files(ref_work, work, 'ir_labels')


def test_slurm_launcher_outside_an_allocation_is_refused(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM')}
    result = subprocess.run([
        sys.executable, 'tools/run_pipeline.py',
        'configs/pipeline/synthetic_demo.py', '--work-dir',
        str(tmp_path / 'w'), '--launcher', 'slurm'
    ],
                            cwd=REPO,
                            env=env,
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode != 0
    assert 'inside a Slurm allocation' in result.stderr
