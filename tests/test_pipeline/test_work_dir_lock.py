"""The work-dir lock: a second driver refused with the holder named, a
stale lock taken over, a joining node that cannot see node 0's files
stopped with the reason; and the pipeline refusing a second driver."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest
from conftest import REPO

from mmseg_cobra.pipeline.work_dir_lock import (STALE_AFTER, JobError,
                                                WorkDirLock, WorkDirLocked,
                                                check_shared_work_dir)


def _lock(tmp_path, token='a'):
    return WorkDirLock(str(tmp_path), dict(token=token, nnodes=1))


def _write_holder(path, pid, started, token, host=None):
    """A lock file as a driver on ``host`` (default: this one) writes it."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(
            dict(
                host=host or socket.gethostname(),
                pid=pid,
                started=started,
                token=token), f)


def test_second_driver_refused_naming_the_holder(tmp_path):
    first = _lock(tmp_path, 'first')
    assert first.acquire() is None
    try:
        with pytest.raises(WorkDirLocked) as err:
            _lock(tmp_path, 'second').acquire()
        msg = str(err.value)
        assert f'host {socket.gethostname()}' in msg
        assert f'pid {os.getpid()}' in msg
        assert 'started 20' in msg  # the start time, ISO
        assert 'another --work-dir' in msg and 'resumes' in msg
    finally:
        first.release()
    assert not osp.exists(first.path)
    second = _lock(tmp_path, 'second')
    assert second.acquire() is None  # free again
    second.release()


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    _write_holder(
        _lock(tmp_path).path, proc.pid, '2026-01-01T00:00:00', token='dead')
    lock = _lock(tmp_path, 'new')
    taken = lock.acquire()
    assert taken['pid'] == proc.pid and taken['token'] == 'dead'
    assert lock.holder()['token'] == 'new'
    lock.release()


def test_lock_of_another_host_stale_only_without_heartbeat(tmp_path):
    other = _lock(tmp_path, 'other')
    _write_holder(other.path, 1, 'x', token='other', host='node-17')
    with pytest.raises(WorkDirLocked, match='host node-17'):
        _lock(tmp_path, 'new').acquire()  # fresh heartbeat: alive
    old = time.time() - STALE_AFTER - 5
    os.utime(other.path, (old, old))
    lock = _lock(tmp_path, 'new')
    assert lock.acquire()['host'] == 'node-17'
    lock.release()


def test_joining_node_that_cannot_see_node0_files_stops(tmp_path):
    with pytest.raises(JobError) as err:
        check_shared_work_dir(
            _lock(tmp_path), 'token-of-node-0', node_rank=1, grace=0.5)
    assert "node 1 cannot see node 0's files" in str(err.value)
    assert 'shared file system' in str(err.value)
    lock = _lock(tmp_path, 'token-of-node-0')
    lock.acquire()
    check_shared_work_dir(_lock(tmp_path), 'token-of-node-0', 1, grace=0.5)
    lock.release()


def test_pipeline_refuses_a_second_driver(tmp_path):
    """The same pipeline command on a work dir whose lock is held by a
    live process: exit 1 at once, the holder named, nothing written."""
    work = tmp_path / 'work'
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import time; '
         'time.sleep(60)'])
    try:
        _write_holder(
            str(work / '.stages' / 'driver.lock'),
            holder.pid,
            '2026-12-06T01:02:03',
            token='t')
        result = subprocess.run([
            sys.executable, 'tools/run_pipeline.py',
            'configs/pipeline/synthetic_demo.py', '--work-dir',
            str(work), '--cfg-options', f'dataset.data_root={tmp_path}/d'
        ],
                                cwd=REPO,
                                capture_output=True,
                                text=True,
                                timeout=300)
    finally:
        holder.kill()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f'pid {holder.pid}, started 2026-12-06T01:02:03' in \
        result.stderr
    assert sorted(os.listdir(work / '.stages')) == ['driver.lock']
