"""The work-dir lock's races and gaps: one winner among racing takers of
a stale lock, a dead holder behind EPERM, an empty lock left by a full
disk, a full disk when locking, a heartbeat that finds the lock gone,
a skewed clock against the file system's, a requeued Slurm job."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from mmseg_cobra.pipeline import work_dir_lock
from mmseg_cobra.pipeline.work_dir_lock import (HEARTBEAT, STALE_AFTER,
                                                WorkDirLock, WorkDirLocked)


def _lock(tmp_path, token):
    return WorkDirLock(str(tmp_path), dict(token=token, nnodes=1))


def _dead_pid():
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _write(path, **info):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(info, f)


def test_racing_takers_of_a_stale_lock_one_wins(tmp_path):
    path = _lock(tmp_path, 'x').path
    for round_ in range(5):
        _write(
            path,
            host=socket.gethostname(),
            pid=_dead_pid(),
            started='s',
            token='dead')
        barrier = threading.Barrier(8)
        won, refused = [], []

        def take(i):
            lock = _lock(tmp_path, f'taker{i}')
            barrier.wait()
            try:
                lock.acquire()
                won.append(lock)
            except WorkDirLocked:
                refused.append(i)

        threads = [threading.Thread(target=take, args=(i, )) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and len(refused) == 7, round_
        assert won[0].holder()['token'] == won[0].job['token']
        won[0].release()
        assert os.listdir(tmp_path / '.stages') == []  # no guard, no temp


def test_eperm_holder_dead_when_its_pid_was_reused(tmp_path, monkeypatch):
    """os.kill says EPERM (another user's process has the pid now): the
    start time decides."""

    def kill(pid, sig):
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(work_dir_lock.os, 'kill', kill)
    monkeypatch.setattr(work_dir_lock, '_process_start', lambda pid: '999')
    path = _lock(tmp_path, 'x').path
    _write(
        path,
        host=socket.gethostname(),
        pid=4242,
        proc_start='123',
        started='s',
        token='old')
    lock = _lock(tmp_path, 'new')
    assert lock.acquire()['token'] == 'old'  # started at 123: not 999
    lock.release()
    _write(
        path,
        host=socket.gethostname(),
        pid=4242,
        proc_start='999',
        started='s',
        token='live')
    with pytest.raises(WorkDirLocked, match='pid 4242'):
        _lock(tmp_path, 'new').acquire()  # the same process: alive


def test_empty_lock_left_by_a_full_disk_is_taken_over(tmp_path):
    path = _lock(tmp_path, 'x').path
    os.makedirs(os.path.dirname(path))
    open(path, 'w').close()  # its writer died before writing
    with pytest.raises(WorkDirLocked, match='unreadable'):
        _lock(tmp_path, 'new').acquire()  # may be being written
    old = time.time() - HEARTBEAT - 5
    os.utime(path, (old, old))
    lock = _lock(tmp_path, 'new')
    assert lock.acquire()['unreadable']
    assert lock.holder()['token'] == 'new'
    lock.release()


def test_full_disk_when_locking_says_so_and_leaves_no_lock(
        tmp_path, monkeypatch):

    def fsync(fd):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(work_dir_lock.os, 'fsync', fsync)
    with pytest.raises(
            WorkDirLocked, match='No space left on device.*free '
            'disk space'):
        _lock(tmp_path, 'new').acquire()
    assert os.listdir(tmp_path / '.stages') == []


def test_heartbeat_warns_when_the_lock_is_no_longer_ours(tmp_path, capsys):
    lock = _lock(tmp_path, 'mine')
    lock.acquire()
    lock._beat()
    assert lock.heartbeat_error is None and lock.owned()
    _write(lock.path, host='node-9', pid=7, started='s', token='theirs')
    lock._beat()
    assert not lock.owned()
    assert 'taken by host node-9, pid 7' in lock.heartbeat_error
    assert 'another pipeline may take this work dir over' in \
        capsys.readouterr().err
    lock.release()  # not ours: left alone
    assert lock.holder()['token'] == 'theirs'


def test_heartbeat_age_on_the_file_system_clock(tmp_path, monkeypatch):
    """This host's clock an hour ahead of the file server's: a fresh lock
    of another host is still live (its age is measured against a file
    stamped now by the same server)."""
    path = _lock(tmp_path, 'x').path
    _write(path, host='node-17', pid=1, started='s', token='other')
    real = time.time
    monkeypatch.setattr(work_dir_lock.time, 'time', lambda: real() + 3600)
    with pytest.raises(WorkDirLocked, match='host node-17'):
        _lock(tmp_path, 'new').acquire()
    old = real() - STALE_AFTER - 5  # really without heartbeat: stale
    os.utime(path, (old, old))
    lock = _lock(tmp_path, 'new')
    assert lock.acquire()['host'] == 'node-17'
    lock.release()


def test_lock_of_this_slurm_job_before_its_requeue_is_stale(
        tmp_path, monkeypatch):
    monkeypatch.setenv('SLURM_JOB_ID', '4242')
    path = _lock(tmp_path, 'x').path
    _write(
        path,
        host='node-3',
        pid=11,
        started='s',
        token='before',
        slurm_job_id='4242')
    lock = _lock(tmp_path, 'after')
    assert lock.acquire()['token'] == 'before'
    lock.release()
    _write(
        path,
        host='node-3',
        pid=11,
        started='s',
        token='other job',
        slurm_job_id='4000')
    with pytest.raises(WorkDirLocked):  # another job's, fresh
        _lock(tmp_path, 'after').acquire()


def test_check_does_not_rewrite_a_live_run_s_configs(tmp_path):
    """``--check`` writes the stage configs: under the lock, so a live
    run's are not rewritten under it."""
    from conftest import REPO
    work = tmp_path / 'work'
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        _write(
            str(work / '.stages' / 'driver.lock'),
            host=socket.gethostname(),
            pid=holder.pid,
            started='2026-12-06T01:02:03',
            token='t')
        result = subprocess.run([
            sys.executable, 'tools/run_pipeline.py',
            'configs/pipeline/synthetic_demo.py', '--work-dir',
            str(work), '--check', '--cfg-options',
            f'dataset.data_root={tmp_path}/d'
        ],
                                cwd=REPO,
                                capture_output=True,
                                text=True,
                                timeout=300)
    finally:
        holder.kill()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f'pid {holder.pid}, started 2026-12-06T01:02:03' in result.stderr
    assert not (work / 'configs').exists()


def test_stage_outliving_a_killed_driver_keeps_the_work_dir(tmp_path):
    """The driver was SIGKILLed (out of memory) while its stage, in a
    process group of its own, runs on: a new run is refused, naming the
    group to stop, until that ends."""
    stage = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(60)'],
        start_new_session=True)
    try:
        _write(
            _lock(tmp_path, 'x').path,
            host=socket.gethostname(),
            pid=_dead_pid(),
            started='s',
            token='killed',
            stage_pgid=stage.pid)
        with pytest.raises(WorkDirLocked) as err:
            _lock(tmp_path, 'new').acquire()
        assert f'kill -TERM -- -{stage.pid}' in str(err.value)
    finally:
        stage.kill()
        stage.wait()
    lock = _lock(tmp_path, 'new')
    assert lock.acquire()['token'] == 'killed'
    lock.update(stage_pgid=1234)
    assert lock.holder()['stage_pgid'] == 1234
    assert lock.holder()['token'] == 'new'
    lock.release()
