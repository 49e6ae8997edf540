"""A stage's command runs in its own process group: SIGTERM or SIGINT to
the driver stops the whole group (SIGKILL after the grace period for what
ignores SIGTERM) and raises PipelineInterrupted; nothing of the stage is
left running. Another node's reported failure stops the stage the same
way."""
import os
import signal
import sys
import threading
import time

import pytest

from mmseg_cobra.pipeline.stage_process import (PeerNodeFailed,
                                                PipelineInterrupted,
                                                StageSignals)

# a stage tool with a worker of its own; both write their pids
STAGE = '''
import os, signal, subprocess, sys, time
if sys.argv[1] == 'ignore':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen(
    [sys.executable, '-c', 'import time; time.sleep(60)'])
with open(sys.argv[2], 'w') as f:
    f.write(f'{os.getpid()} {worker.pid}')
time.sleep(60)
'''


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f'/proc/{pid}/stat') as f:  # a zombie is gone
        return f.read().rsplit(')', 1)[1].split()[0] != 'Z'


def _signal_when_started(pids, signum):

    def send():
        while not os.path.isfile(pids) or not open(pids).read():
            time.sleep(0.05)
        os.kill(os.getpid(), signum)  # to the driver (this process)

    threading.Thread(target=send, daemon=True).start()


@pytest.mark.parametrize('signum,mode', [(signal.SIGTERM, 'obey'),
                                         (signal.SIGINT, 'obey'),
                                         (signal.SIGTERM, 'ignore')])
def test_driver_signal_stops_the_whole_stage(tmp_path, signum, mode):
    pids = str(tmp_path / 'pids')
    signals = StageSignals(grace=1.0)
    _signal_when_started(pids, signum)
    start = time.monotonic()
    with open(tmp_path / 'log', 'w') as log, signals.installed():
        with pytest.raises(PipelineInterrupted) as err:
            signals.run('seeds', [sys.executable, '-c', STAGE, mode, pids],
                        str(tmp_path), dict(os.environ), log)
    assert err.value.stage == 'seeds'
    assert err.value.exit_code == 128 + signum
    assert 'during stage seeds' in str(err.value)
    assert time.monotonic() - start < 20
    for pid in map(int, open(pids).read().split()):
        assert not _alive(pid), pid  # the tool and its worker
    # the handlers are the test process's own again
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_signal_between_stages_stops_at_once():
    signals = StageSignals()
    with pytest.raises(PipelineInterrupted, match='between stages'):
        with signals.installed():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)


def test_a_finished_stage_leaves_no_straggler(tmp_path):
    """A tool that exits leaving a child of its group behind: the child
    goes with the stage."""
    pids = str(tmp_path / 'pids')
    code = ('import subprocess, sys; p = subprocess.Popen([sys.executable, '
            '"-c", "import time; time.sleep(60)"]); '
            f'open({pids!r}, "w").write(str(p.pid))')
    signals = StageSignals(grace=1.0)
    with open(tmp_path / 'log', 'w') as log:
        status, _ = signals.run('x', [sys.executable, '-c', code],
                                str(tmp_path), dict(os.environ), log)
    assert status == 0
    assert not _alive(int(open(pids).read()))


def test_another_nodes_failure_stops_the_stage(tmp_path):
    """Node 0 of a several-node job: a joining node reports its failure
    while node 0's stage waits for that node's ranks; the stage (the tool
    and its worker) is stopped within the poll, and the error names the
    node's message and the stage."""
    pids = str(tmp_path / 'pids')
    signals = StageSignals(grace=1.0)
    signals.peer_poll = 0.1
    signals.peer_check = lambda: ('node 1 of this job stopped: boom'
                                  if os.path.isfile(pids) and open(pids).read(
                                  ) else None)
    groups = []
    signals.on_group = groups.append
    start = time.monotonic()
    with open(tmp_path / 'log', 'w') as log:
        with pytest.raises(PeerNodeFailed) as err:
            signals.run('masks', [sys.executable, '-c', STAGE, 'ignore', pids],
                        str(tmp_path), dict(os.environ), log)
    assert time.monotonic() - start < 20
    assert err.value.stage == 'masks'
    assert 'node 1 of this job stopped: boom' in str(err.value)
    assert 'Stage masks was stopped on this node too' in str(err.value)
    for pid in map(int, open(pids).read().split()):
        assert not _alive(pid), pid
    assert groups[-1] is None  # the lock no longer names the stage


def test_a_quiet_peer_check_changes_nothing(tmp_path):
    signals = StageSignals(grace=1.0)
    signals.peer_poll = 0.05
    calls = []
    signals.peer_check = lambda: calls.append(1)
    with open(tmp_path / 'log', 'w') as log:
        status, _ = signals.run(
            'x', [sys.executable, '-c', 'import time; time.sleep(0.5)'],
            str(tmp_path), dict(os.environ), log)
    assert status == 0 and calls
