"""A stage's command as a process group the driver can stop.

Each stage command (``python tools/train.py``, ``torchrun ...``, ``srun
...``) starts in a process group of its own. While the pipeline drives,
SIGTERM and SIGINT (a cluster's time limit or pre-emption, ``kill``,
Ctrl-C) are caught: the running stage's whole group gets SIGTERM (training
saves a checkpoint on it, see ``PreemptionCheckpointHook``; torchrun and
srun pass it to their workers), the driver waits up to ``grace`` seconds
for the group to end, then kills what is left with SIGKILL, and raises
:class:`PipelineInterrupted`, which releases the work-dir lock on its way
out. A stage is therefore never left running without its driver, and the
same command resumes the run.
"""
import contextlib
import os
import signal
import subprocess
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional

from ..utils.errors import UserError

#: Signals the driver forwards to its stage.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: The driver's process group, for the kill-anywhere tests (a stage that
#: injects a fault kills it with its own).
DRIVER_PGID_ENV = 'MMSEG_COBRA_DRIVER_PGID'
DRIVER_PID_ENV = 'MMSEG_COBRA_DRIVER_PID'


class PipelineInterrupted(UserError, RuntimeError):
    """The driver got SIGTERM/SIGINT; the stage was stopped.

    Args:
        signum (int): The signal.
        stage (str, optional): The stage that was running.
    """

    def __init__(self, signum: int, stage: Optional[str] = None) -> None:
        self.signum = signum
        self.stage = stage
        name = signal.Signals(signum).name
        where = f' during stage {stage}' if stage else ' between stages'
        super().__init__(
            f'stopped by {name}{where}; the stage was stopped (a training '
            'stage saved a checkpoint) and the work-dir lock released. Run '
            'the same command again to resume')

    @property
    def exit_code(self) -> int:
        """The shell's status of a process ended by the signal."""
        return 128 + self.signum


class PeerNodeFailed(UserError, RuntimeError):
    """Another node of the job reported a failure; this node's stage was
    stopped (its ranks would wait for that node's ranks until a timeout).

    Args:
        message (str): Which node, and its error.
        stage (str): The stage that was stopped.
    """

    def __init__(self, message: str, stage: str) -> None:
        self.stage = stage
        super().__init__(
            f'{message}\nStage {stage} was stopped on this node too (its '
            'ranks would wait for that node\'s). Fix what that node '
            'reports, then start the job again on every node: it resumes')


def group_alive(pgid: Optional[int]) -> bool:
    """Whether the process group ``pgid`` has a process that is not a
    zombie (``/proc``; ``killpg(pgid, 0)`` where there is none, which also
    counts zombies a non-reaping init leaves)."""
    if not pgid:
        return False
    if not os.path.isdir('/proc/self'):
        try:
            os.killpg(int(pgid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == int(pgid) and fields[0] != 'Z':
            return True
    return False


def stop_group(pgid: int, grace: float, poll: float = 0.1) -> bool:
    """SIGTERM to the process group ``pgid``, SIGKILL after ``grace`` s.

    Returns:
        bool: Whether it ended within the grace period.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(poll)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 10.0  # SIGKILL takes effect at once,
    while group_alive(pgid) and time.monotonic() < deadline:  # nearly
        time.sleep(poll)
    return False


class StageSignals:
    """Catch SIGTERM/SIGINT while a pipeline drives (main thread only).

    Args:
        grace (float): Seconds a stopped stage gets to end after SIGTERM.
    """

    def __init__(self, grace: float = 60.0) -> None:
        self.grace = grace
        self.received: Optional[int] = None
        self.stage: Optional[str] = None
        self._group: Optional[int] = None
        self._stopper: Optional[threading.Thread] = None
        #: called with the running stage's process group (None once it
        #: ended): the pipeline writes it into its lock, so that a stage
        #: that outlives a killed driver keeps the work dir locked
        self.on_group: Optional[Callable[[Optional[int]], None]] = None
        #: asked every ``peer_poll`` s while a stage runs: a message when
        #: another node of the job failed (node 0 of a several-node run),
        #: which stops the stage and raises :class:`PeerNodeFailed`
        self.peer_check: Optional[Callable[[], Optional[str]]] = None
        self.peer_poll = 1.0

    def _handle(self, signum: int, frame) -> None:
        first = self.received is None
        self.received = self.received or signum
        if self._group is None:  # between stages: stop at once
            raise PipelineInterrupted(signum)
        if first:  # forward once; the stopper kills after the grace
            self._stopper = threading.Thread(
                target=stop_group, args=(self._group, self.grace), daemon=True)
            self._stopper.start()

    @contextlib.contextmanager
    def installed(self) -> Iterator['StageSignals']:
        """Catch the stop signals in this block (a no-op off the main
        thread, e.g. under tools/ablate.py --jobs)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        try:
            yield self
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def run(self, stage: str, cmd: List[str], cwd: str, env: Dict[str, str],
            log) -> tuple:
        """Run ``cmd`` in its own process group, its output to ``log``.

        Returns:
            tuple: ``(exit status, resource usage)`` (``os.wait4``'s:
            the peak memory of the tool and its waited children).

        Raises:
            PipelineInterrupted: A stop signal came while it ran (the
                group was stopped before this returns).
        """
        env = dict(env)
        env[DRIVER_PGID_ENV] = str(os.getpgrp())
        env[DRIVER_PID_ENV] = str(os.getpid())
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0)
        self._group, self.stage = proc.pid, stage
        if self.on_group is not None:
            self.on_group(proc.pid)
        ended = threading.Event()
        peer_failure: List[str] = []
        watcher = None
        if self.peer_check is not None:
            watcher = threading.Thread(
                target=self._watch_peers,
                args=(proc.pid, ended, peer_failure),
                daemon=True)
            watcher.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # retried on signals
        finally:
            self._group = None
            ended.set()
            if watcher is not None:
                watcher.join()
        if self.received is not None:
            if self._stopper is not None:
                self._stopper.join()  # the rest of the group, if any
            raise PipelineInterrupted(self.received, stage)
        if peer_failure:
            if self.on_group is not None:
                self.on_group(None)
            raise PeerNodeFailed(peer_failure[0], stage)
        # the tool is done; a straggler of its group (a worker that
        # outlived it) must not outlive the stage
        if group_alive(proc.pid):
            stop_group(proc.pid, self.grace)
        if self.on_group is not None:
            self.on_group(None)
        return os.waitstatus_to_exitcode(status), usage

    def _watch_peers(self, pgid: int, ended: threading.Event,
                     failure: List[str]) -> None:
        """While the stage ``pgid`` runs: on a peer's failure, keep its
        message in ``failure`` and stop the stage's group."""
        while not ended.wait(self.peer_poll):
            try:
                message = self.peer_check()
            except Exception:  # noqa: BLE001 - a watch never ends a stage
                message = None
            if message and not ended.is_set():
                failure.append(message)
                stop_group(pgid, self.grace)
                return


__all__ = [
    'DRIVER_PGID_ENV', 'DRIVER_PID_ENV', 'PeerNodeFailed',
    'PipelineInterrupted', 'group_alive', 'STOP_SIGNALS', 'StageSignals',
    'stop_group'
]
