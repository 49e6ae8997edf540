"""tools/run_pipeline.py as a cluster runs it, on this machine: two nodes
of one process each (``--launcher pytorch --nnodes 2``, 127.0.0.1), a node
killed in a distributed stage and in a sharded CPU stage, and Slurm through
a fake ``srun``/``scontrol`` (tests/fake_slurm)."""
import json
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from PIL import Image
from pipeline_args import STAGES
from pipeline_reference import command, pipeline_data, reference_run

pytestmark = pytest.mark.slow

#: shorter trainings than the reference run's (no accuracy is asked here)
SHORT = [
    'cfg_options.seg.train_cfg.max_iters=4',
    'cfg_options.seg.train_cfg.val_interval=4',
    'cfg_options.seg.default_hooks.checkpoint.interval=4',
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


def _npz_files(work, sub):
    d = osp.join(work, sub)
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith('.npz') and not name.startswith('.'):
            with np.load(osp.join(d, name)) as z:
                out[name] = {k: z[k] for k in z.files}
    return out


def _same_npz(a, b):
    return a and a.keys() == b.keys() and all(
        a[n].keys() == b[n].keys() and all(
            np.array_equal(a[n][k], b[n][k]) for k in a[n]) for n in a)


def _same_files(a_work, b_work, sub):
    a, b = _files(a_work, sub), _files(b_work, sub)
    assert a and a.keys() == b.keys(), sub
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f'{sub}: {len(differ)} files differ, e.g. {differ[:3]}'


def _report(path, work):
    text = open(path).read().replace(work, 'WORK')
    return json.loads(text)


def _reference_checkpoint(ref_work, sub):
    with open(osp.join(ref_work, sub, 'last_checkpoint')) as f:
        return f.read().strip()


#: node 1 killed (SIGKILL to its process group) in a distributed stage
#: and in a sharded CPU stage, each followed by a restart of both nodes
KILLS = (('seed@4', 'seeds'), ('ir_label@3', 'ir_labels'))


@pytest.fixture(scope='module')
def two_nodes(tmp_path_factory):
    """The synthetic pipeline as two nodes of one process each, from the
    one-process reference run's classifier and IRN weights (so every
    later output can be compared with the reference run's): seeds, masks
    and segmentation testing, the segmentation training, and every CPU
    stage across the two nodes. Node 1 is killed twice (:data:`KILLS`);
    both nodes are restarted each time, and the third start finishes.

    Returns:
        tuple: reference work dir, work dir, the killed rounds' results
        and the last round's ``[(status, output)]`` of node 0 and 1.
    """
    ref_work, _ = reference_run(tmp_path_factory)
    root = pipeline_data(tmp_path_factory)
    work = str(tmp_path_factory.mktemp('two_nodes') / 'work')
    cmd = command(root, work) + SHORT + [
        'classifier_checkpoint=' + _reference_checkpoint(ref_work, 'cobra'),
        'irn_checkpoint=' + _reference_checkpoint(ref_work, 'irn')
    ]
    port = free_port()
    killed = []
    for fault, stage in KILLS:
        results = run_nodes(cmd, port, (None, fault))
        recorded = osp.isfile(osp.join(work, '.stages', stage + '.json'))
        killed.append((fault, stage, results, recorded))
    results = run_nodes(cmd, port)
    for rc, out in results:
        assert rc == 0, out[-4000:]
    return ref_work, work, killed, results


def test_killed_node_stops_the_run_and_restart_resumes(two_nodes):
    _, work, killed, ((_, out0), _) = two_nodes
    for fault, stage, ((rc0, out0k), (rc1, out1k)), recorded in killed:
        # both nodes stop (node 0's stage loses its peer), the stage is
        # not recorded, and the kill was where it was asked for
        assert rc1 != 0 and rc0 != 0, (fault, out0k[-2000:], out1k[-2000:])
        assert not recorded, fault
        log = open(osp.join(work, 'logs', f'{stage}.node1.log')).read()
        assert f'[fault injection] {fault.split("@")[0]}' in log
    # node 0 stopped cleanly (its lock released); the restart skips the
    # stages finished before the last kill
    assert '[pipeline] seeds: done before, skipped' in out0
    assert not osp.exists(osp.join(work, '.stages', 'driver.lock'))


def test_two_nodes_record_every_stage_once(two_nodes):
    _, work, killed, ((_, out0), (_, out1)) = two_nodes
    node0 = ''.join(r[0][1] for _, _, r, _ in killed) + out0
    for stage in STAGES:
        assert node0.count(f'[pipeline] {stage}: finished') == 1, stage
        assert osp.isfile(osp.join(work, '.stages', stage + '.json'))
    assert 'joined the run of 127.0.0.1' in out1
    assert ': finished' not in out1 and '[pipeline] ' not in out1
    # node 1 ran its share of every stage that runs a command
    for stage in set(STAGES) - {'classifier', 'irn'}:
        assert osp.isfile(osp.join(work, 'logs', f'{stage}.node1.log'))
    # the lock is gone with the run
    assert not osp.exists(osp.join(work, '.stages', 'driver.lock'))


def test_two_nodes_print_world_batch_and_lr(two_nodes, tmp_path_factory):
    _, _, _, ((_, out0), _) = two_nodes
    _, ref_out = reference_run(tmp_path_factory)
    # the segmentation config's total batch (auto_scale_lr.base_batch_size,
    # 8) split over the world; the same lr (auto_scale_lr off)
    two = re.search(
        r'\[pipeline\] seg: world size 2, batch 4 per process, '
        r'total 8, lr (\S+) \(auto_scale_lr off\)', out0)
    one = re.search(
        r'\[pipeline\] seg: world size 1, batch 8 per process, '
        r'total 8, lr (\S+) \(auto_scale_lr off\)', ref_out)
    assert two and one and two.group(1) == one.group(1)
    # a per-process batch given in the options is kept
    assert ('[pipeline] classifier: world size 1, batch 8 per process, '
            'total 8, lr 0.01') in ref_out


def test_two_nodes_cpu_stages_equal_one_process(two_nodes):
    """On the same seeds and walks as the one-process reference run, the
    sharded CPU stages' outputs equal its outputs, file for file."""
    ref_work, work, _, _ = two_nodes
    seeds = _npz_files(work, 'seeds')
    assert _same_npz(seeds, _npz_files(ref_work, 'seeds'))
    assert _same_npz(_npz_files(work, 'walks'), _npz_files(ref_work, 'walks'))
    for sub in ('ir_labels', 'masks', 'final_masks'):
        _same_files(ref_work, work, sub)
    for name in ('seed_eval.json', 'mask_eval.json'):
        assert _report(osp.join(work, name), work) == \
            _report(osp.join(ref_work, name), ref_work), name


def test_slurm_pipeline_through_srun(tmp_path_factory, tmp_path):
    """``--launcher slurm`` in a (fake) 2-node allocation: testing (seeds)
    and a CPU stage (IR labels) through srun, each task's rank and world
    from Slurm's variables; seeds and IR labels equal the one-process
    reference run's. (Training under srun runs the same distributed
    initialisation, tools/train.py --launcher slurm.)"""
    ref_work, _ = reference_run(tmp_path_factory)
    root = pipeline_data(tmp_path_factory)
    work = str(tmp_path / 'work')
    ckpt = _reference_checkpoint(ref_work, 'cobra')
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
        f'classifier_checkpoint={ckpt}', '--launcher', 'slurm',
        '--master-port', env['MASTER_PORT'], '--stages', 'classifier', 'seeds',
        'ir_labels'
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
    assert len(calls) == 2  # seeds, ir_labels
    assert all('--kill-on-bad-exit=1' in c for c in calls)
    assert all('--ntasks=2 --ntasks-per-node=1' in c for c in calls)
    assert any('make_ir_labels.py' in c and '--cpus-per-task=1' in c
               for c in calls)
    assert osp.isfile(osp.join(work, '.stages', 'ir_labels.json'))
    assert _same_npz(_npz_files(work, 'seeds'), _npz_files(ref_work, 'seeds'))
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


@pytest.mark.parametrize('script,args,expected', [
    ('slurm_train.sh',
     ['gpu', 'cobra', 'configs/c.py', 'work_dirs/w', '--amp'], [
         'tools/train.py', 'configs/c.py', '--launcher', 'slurm', '--work-dir',
         'work_dirs/w', '--amp'
     ]),
    ('slurm_train.sh', ['gpu', 'cobra', 'configs/c.py', '--auto-scale-lr'], [
        'tools/train.py', 'configs/c.py', '--launcher', 'slurm',
        '--auto-scale-lr'
    ]),
    ('slurm_test.sh', ['gpu', 'seeds', 'configs/c.py', 'ck.pth', '--tta'], [
        'tools/test.py', 'configs/c.py', 'ck.pth', '--launcher', 'slurm',
        '--tta'
    ]),
])
def test_slurm_scripts_have_mmsegs_interface(script, args, expected, tmp_path):
    """PARTITION JOB_NAME CONFIG [WORK_DIR|CHECKPOINT] [args], with GPUS,
    GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS from the environment."""
    log = tmp_path / 'srun.log'
    env = _env(
        dict(
            PATH=osp.join(REPO, 'tests', 'fake_slurm') + os.pathsep +
            os.environ['PATH'],
            FAKE_SRUN_LOG=str(log),
            FAKE_SRUN_DRY='1',
            GPUS='16',
            GPUS_PER_NODE='8',
            CPUS_PER_TASK='6',
            SRUN_ARGS='--qos=high'))
    result = subprocess.run(['bash', f'tools/{script}', *args],
                            cwd=REPO,
                            env=env,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    call = log.read_text().split()
    assert call[:9] == [
        '-p', 'gpu', f'--job-name={args[1]}', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=6', '--kill-on-bad-exit=1',
        '--qos=high'
    ]
    tool = call.index('-u') + 1
    assert call[tool].endswith(expected[0])
    assert call[tool + 1:] == expected[1:]


def test_slurm_script_without_arguments_says_how(tmp_path):
    result = subprocess.run(['bash', 'tools/slurm_train.sh', 'gpu'],
                            cwd=REPO,
                            capture_output=True,
                            text=True)
    assert result.returncode == 2
    assert 'usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG' in \
        result.stderr
