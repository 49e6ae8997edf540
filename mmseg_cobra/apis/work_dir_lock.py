"""One driver per work dir, and the nodes that join it.

:class:`WorkDirLock` is ``<work_dir>/.stages/driver.lock``: created
atomically by the pipeline that drives (node 0), refreshed by a heartbeat,
removed when it ends. A second driver on the same work dir (the same
command twice, another node 0) exits at once naming the holder. A lock
left by a killed run is stale (on the same host: its process is gone; on
another host: no heartbeat for :data:`STALE_AFTER` seconds) and is taken
over, so a killed run resumes with the same command.

:class:`JobRendezvous` lets the other nodes of a ``--launcher pytorch``
job find their driver: node 0 serves a small key-value store
(``torch.distributed.TCPStore`` on ``master_port + 1``) with the job's
token and stages; a joining node reads them, then checks that it sees the
same token in the lock file of its work dir (a node that does not share
the work dir says so and stops), runs each stage's command with its node
rank and waits for node 0's stage records between stages.
"""
import datetime
import json
import os
import os.path as osp
import socket
import threading
import time
import uuid
from typing import Optional

from ..utils.errors import UserError

#: Seconds without heartbeat after which another host's lock is stale.
STALE_AFTER = 60.0
#: Seconds between heartbeats.
HEARTBEAT = 10.0


class WorkDirLocked(UserError, RuntimeError):
    """The work dir has a live driver; the message names it."""


def _process_start(pid: int) -> Optional[str]:
    """The start time of ``pid`` in clock ticks (``/proc``), to tell a
    live holder from a new process that got its pid; None if unknown."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: Optional[str]) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _process_start(pid)
    return start is None or now is None or now == start


class WorkDirLock:
    """The driver lock of a work dir.

    Args:
        work_dir (str): The pipeline's work dir.
        job (dict): What joining nodes check (``token``, ``master_addr``,
            ``master_port``, ``nnodes``); written into the lock.
    """

    def __init__(self, work_dir: str, job: dict) -> None:
        self.path = osp.join(work_dir, '.stages', 'driver.lock')
        self.job = dict(job)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def holder(self) -> Optional[dict]:
        """The lock's content and age (``heartbeat_age`` s), or None."""
        try:
            with open(self.path) as f:
                info = json.load(f)
            info['heartbeat_age'] = time.time() - os.path.getmtime(self.path)
        except (OSError, ValueError):
            return None
        return info

    @staticmethod
    def is_stale(info: dict) -> bool:
        """A holder that is gone (see the module doc)."""
        if info.get('host') == socket.gethostname():
            return not _alive(int(info['pid']), info.get('proc_start'))
        return info['heartbeat_age'] > STALE_AFTER

    def acquire(self) -> Optional[dict]:
        """Take the lock, or take over a stale one.

        Returns:
            dict: The stale holder taken over, or None.

        Raises:
            WorkDirLocked: A live driver holds it.
        """
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        stale = None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                info = self.holder()
                if info is None:  # being written or removed: look again
                    time.sleep(0.2)
                    continue
                if not self.is_stale(info):
                    raise WorkDirLocked(self._refusal(info))
                stale = info
                # one taker wins the rename; the others find it gone
                try:
                    os.rename(self.path, f'{self.path}.stale.{os.getpid()}')
                    os.remove(f'{self.path}.stale.{os.getpid()}')
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as f:
                json.dump(self._content(), f)
            self._start_heartbeat()
            return stale
        raise WorkDirLocked(f'could not take {self.path}: another process '
                            'keeps taking it; look for a second pipeline '
                            'on this work dir')

    def _content(self) -> dict:
        pid = os.getpid()
        return dict(
            host=socket.gethostname(),
            pid=pid,
            proc_start=_process_start(pid),
            started=datetime.datetime.now().isoformat(timespec='seconds'),
            **self.job)

    def _refusal(self, info: dict) -> str:
        return (
            f'the work dir {osp.dirname(osp.dirname(self.path))} is in use '
            f'by the pipeline of host {info.get("host")}, pid '
            f'{info.get("pid")}, started {info.get("started")} (lock '
            f'{self.path}, heartbeat {info["heartbeat_age"]:.0f} s ago). '
            'Wait for it to finish, or stop it and run this command again '
            '(it resumes), or use another --work-dir. To join that run as '
            'another node, give --nnodes/--node-rank/--master-addr. A lock '
            f'left by a dead run on another host is taken over after '
            f'{STALE_AFTER:.0f} s without heartbeat; delete it only if you '
            'are sure no pipeline runs there.')

    def _start_heartbeat(self) -> None:

        def beat():
            while not self._stop.wait(HEARTBEAT):
                try:
                    os.utime(self.path)
                except OSError:
                    return

        self._thread = threading.Thread(target=beat, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lock (if still ours)."""
        self._stop.set()
        info = self.holder()
        if info and info.get('token') == self.job.get('token'):
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


class JobError(UserError, RuntimeError):
    """A joining node cannot follow its driver (the message says why)."""


class JobRendezvous:
    """Node 0's store and the joining nodes' view of it.

    Args:
        master_addr (str): Node 0's address.
        port (int): The store's port (``master_port + 1``).
        drives (bool): Node 0 (serves the store) or a joining node.
        timeout (float): Seconds a joining node waits for node 0.
    """

    def __init__(self,
                 master_addr: str,
                 port: int,
                 drives: bool,
                 timeout: float = 600.0) -> None:
        from torch.distributed import TCPStore
        self.drives = drives
        try:
            self.store = TCPStore(
                master_addr,
                port,
                is_master=drives,
                timeout=datetime.timedelta(seconds=timeout),
                wait_for_workers=False)
        except Exception as exc:  # noqa: BLE001 - one message for all
            raise JobError(
                f'cannot reach the driver (node 0) at {master_addr}:{port} '
                f'within {timeout:.0f} s ({exc}): start node 0 with the same '
                '--master-addr/--master-port, and check this node can reach '
                'it') from None

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex

    def publish(self, job: dict) -> None:
        """Node 0: the job (``token``, ``stages``) for the joining nodes."""
        self.store.set('job', json.dumps(job))

    def job(self) -> dict:
        """A joining node: node 0's job (waits until it is published)."""
        return json.loads(self.store.get('job'))

    def fail(self, message: str) -> None:
        """Node 0: tell the joining nodes the run stopped."""
        self.store.set('failed', message)

    def check_driver(self) -> None:
        """A joining node: raise :class:`JobError` if node 0 stopped."""
        try:
            failed = self.store.check(['failed'])
            message = self.store.get('failed').decode() if failed else None
        except Exception:  # noqa: BLE001 - the store went away
            message = 'node 0\'s pipeline is gone (its store closed)'
        if message:
            raise JobError(f'node 0 stopped: {message}')

    def finished(self, node_rank: int) -> None:
        """A joining node: tell node 0 it is done."""
        self.store.set(f'done/{node_rank}', '1')

    def wait_finished(self, nnodes: int, timeout: float = 60.0) -> None:
        """Node 0: wait (at most ``timeout`` s) for the joining nodes to
        have seen the last record before closing the store."""
        keys = [f'done/{r}' for r in range(1, nnodes)]
        deadline = time.time() + timeout
        while keys and time.time() < deadline:
            if self.store.check(keys):
                return
            time.sleep(0.5)


def check_shared_work_dir(lock: WorkDirLock,
                          token: str,
                          node_rank: int,
                          grace: float = 30.0) -> None:
    """A joining node: node 0's lock file, with node 0's token, must be
    visible in this node's work dir (else the work dir is not shared).

    Raises:
        JobError: It is not (names what this node sees).
    """
    deadline = time.time() + grace
    info = lock.holder()
    while (info is None or info.get('token') != token) and \
            time.time() < deadline:
        time.sleep(1.0)
        info = lock.holder()
    if info is not None and info.get('token') == token:
        return
    seen = 'no such file' if info is None else \
        f'a lock of another run (host {info.get("host")}, pid ' \
        f'{info.get("pid")})'
    raise JobError(
        f'node {node_rank} cannot see node 0\'s files: node 0 drives this '
        f'job in its work dir, but {lock.path} here holds {seen}. Every '
        'node needs the same work dir (and data) on a shared file system '
        '(NFS, Lustre, ...), under the same path.')


def wait_for_record(path: str,
                    rendezvous: JobRendezvous,
                    poll: float = 1.0) -> None:
    """A joining node: wait until node 0 has recorded a stage (``path``),
    or node 0 stopped (:class:`JobError`)."""
    while not osp.isfile(path):
        rendezvous.check_driver()
        if osp.isfile(path):
            return
        time.sleep(poll)


__all__ = [
    'HEARTBEAT', 'JobError', 'JobRendezvous', 'STALE_AFTER', 'WorkDirLock',
    'WorkDirLocked', 'check_shared_work_dir', 'wait_for_record'
]
