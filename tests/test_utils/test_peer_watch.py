"""A CPU stage's rank stopped (SIGSTOP, not killed) is named after the
peer timeout instead of holding the other ranks for hours; a slow rank
that still beats is waited for."""
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

from mmseg_cobra.pipeline.launchers import free_port_pair

# one rank of a 2-rank CPU stage: joins, works (rank `slow` sleeps `delay`
# s, rank `stop` stops itself), then sums over the ranks
RANK = '''
import os, signal, sys, time
import numpy as np
from mmseg_cobra.utils.sharding import init_cpu_stage, sum_over_ranks
init_cpu_stage('pytorch')
rank = int(os.environ['RANK'])
if rank == int(sys.argv[1]):
    time.sleep(float(sys.argv[2]))
if rank == int(sys.argv[3]):
    os.kill(os.getpid(), signal.SIGSTOP)
if rank == int(sys.argv[4]):
    os.kill(os.getpid(), signal.SIGKILL)
print('sum', int(sum_over_ranks(np.array([rank + 1]))[0]), flush=True)
'''


def _ranks(slow=-1, delay=0.0, stop=-1, timeout_min=0.1, kill=-1):
    port = free_port_pair()
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            PYTHONPATH=REPO,
            RANK=str(rank),
            WORLD_SIZE='2',
            LOCAL_RANK='0',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            MMSEG_COBRA_PEER_TIMEOUT_MIN=str(timeout_min),
            OMP_NUM_THREADS='1')
        procs.append(
            subprocess.Popen([
                sys.executable, '-c', RANK,
                str(slow),
                str(delay),
                str(stop),
                str(kill)
            ],
                             env=env,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             text=True))
    return procs


def _finish(proc, timeout=90):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f'still waiting: {out[-2000:]}')
    return proc.returncode, out


@pytest.mark.parametrize('stopped', [1, 0])
def test_stopped_rank_is_named_after_the_timeout(stopped):
    procs = _ranks(stop=stopped, timeout_min=0.05)  # 3 s
    waiting = procs[1 - stopped]
    start = time.monotonic()
    try:
        status, out = _finish(waiting)
    finally:
        procs[stopped].send_signal(signal.SIGKILL)
        procs[stopped].communicate()
    assert status != 0, out
    assert f'rank {stopped} of this stage (node {stopped}, host ' in out
    assert 'MMSEG_COBRA_PEER_TIMEOUT_MIN' in out
    assert time.monotonic() - start < 60


def test_slow_rank_that_beats_is_waited_for():
    """Rank 1 works twice the peer timeout longer than rank 0: it beats, so
    rank 0 waits and both get the sum."""
    procs = _ranks(slow=1, delay=8.0, timeout_min=0.066)
    results = [_finish(p) for p in procs]
    for status, out in results:
        assert status == 0, out
        assert 'sum 3' in out


def test_killed_rank_is_seen_at_once():
    """A rank that dies closes its connections: the other one stops at
    once, not after the peer timeout (here 10 minutes)."""
    procs = _ranks(kill=1, timeout_min=10)
    start = time.monotonic()
    status, out = _finish(procs[0], timeout=120)
    procs[1].communicate()
    assert status != 0, out
    assert time.monotonic() - start < 60
