"""A joining node of a several-node run: node 0 failing in its
preparation reaches it as node 0's message (not a store traceback), and
a node 0 that stops refreshing its lock (stopped, hung) is named; a
joining node's failure reaches node 0 (which stops its stage, see
test_stage_process)."""
import json
import os
import threading
import time

import pytest

from mmseg_cobra.pipeline.launchers import free_port_pair
from mmseg_cobra.pipeline.rendezvous import (JobError, JobRendezvous,
                                             wait_for_record)
from mmseg_cobra.pipeline.work_dir_lock import WorkDirLock


def test_node0_failing_in_prepare_reaches_the_joining_node():
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port, drives=True)
    joiner = JobRendezvous(
        '127.0.0.1', port, drives=False, timeout=30, node_rank=1)
    message = ('PipelineError: dataset description: data_root /d does not '
               'exist')
    got = {}

    def join():
        try:
            joiner.job()
        except JobError as exc:
            got['error'] = str(exc)

    thread = threading.Thread(target=join)
    thread.start()
    time.sleep(0.5)
    start = time.monotonic()
    driver.fail(message, nnodes=2)  # returns once node 1 has read it
    thread.join(30)
    assert time.monotonic() - start < 9
    assert got['error'] == f'node 0 stopped: {message}'


def test_published_job_is_read():
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port, drives=True)
    driver.publish(dict(token='t', stages=['seeds']))
    joiner = JobRendezvous('127.0.0.1', port, drives=False, node_rank=1)
    assert joiner.job() == dict(token='t', stages=['seeds'])


def test_node0_silent_lock_stops_the_wait(tmp_path):
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port, drives=True)
    joiner = JobRendezvous('127.0.0.1', port, drives=False, node_rank=1)
    lock = WorkDirLock(str(tmp_path), {})
    os.makedirs(os.path.dirname(lock.path))
    with open(lock.path, 'w') as f:
        json.dump(dict(host='node-0', pid=5, token='t'), f)
    old = time.time() - 120
    os.utime(lock.path, (old, old))
    record = str(tmp_path / '.stages' / 'seeds.json')
    with pytest.raises(
            JobError,
            match='node 0 \\(host node-0, pid 5\\) has '
            'not refreshed its lock'):
        wait_for_record(record, joiner, lock, silence=60, poll=0.1)
    # refreshed: the record is waited for, and found
    os.utime(lock.path)
    threading.Timer(0.5, lambda: open(record, 'w').close()).start()
    wait_for_record(record, joiner, lock, silence=60, poll=0.1)
    del driver


def test_joining_nodes_failure_reaches_node0():
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port, drives=True)
    joiners = [
        JobRendezvous('127.0.0.1', port, drives=False, node_rank=r)
        for r in (1, 2)
    ]
    assert driver.node_failure(nnodes=3) is None
    joiners[1].report_failure('PipelineError: stage masks failed (exit 1)')
    assert driver.node_failure(
        nnodes=3) == (2, 'PipelineError: stage masks failed (exit 1)')


def test_reporting_to_a_gone_node0_is_quiet():
    port = free_port_pair()
    driver = JobRendezvous('127.0.0.1', port, drives=True)
    joiner = JobRendezvous('127.0.0.1', port, drives=False, node_rank=1)
    del driver  # node 0's store closed
    joiner.report_failure('KeyboardInterrupt: ')  # raises nothing
