"""One driver per work dir, and the nodes that join it.

:class:`WorkDirLock` is ``<work_dir>/.stages/driver.lock``: created
atomically by the pipeline that drives (node 0), refreshed by a heartbeat,
removed when it ends. A second driver on the same work dir (the same
command twice, another node 0) exits at once naming the holder. A lock
left by a killed run is stale (on the same host: its process is gone; on
another host: no heartbeat for :data:`STALE_AFTER` seconds) and is taken
over, so a killed run resumes with the same command.

:func:`check_shared_work_dir`: a joining node (see :mod:`.rendezvous`)
must see node 0's lock, with node 0's token, in its own work dir (a node
that does not share the work dir says so and stops).
"""
import datetime
import errno
import json
import os
import os.path as osp
import socket
import sys
import threading
import time
import uuid
from typing import Optional

from ..utils.errors import UserError
from .rendezvous import JobError
from .stage_process import group_alive

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
    """Whether the process ``pid`` started at ``start`` still runs.

    ``os.kill(pid, 0)`` fails with EPERM for another user's process: the
    pid exists, but it may be a new process that got a dead holder's pid,
    so the start time (readable in ``/proc`` for any process) decides.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, someone else's: is it still the holder?
    now = _process_start(pid)
    return start is None or now is None or now == start


def fs_now(folder: str) -> float:
    """The file system's clock: the modification time of a file touched
    just now in ``folder`` (on NFS the server stamps it), so a heartbeat's
    age is measured on the clock that stamped the heartbeat, whatever the
    skew between this host and the server."""
    probe = osp.join(folder, f'.clock.{os.getpid()}.{uuid.uuid4().hex[:8]}')
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY))
        return os.path.getmtime(probe)
    except OSError:
        return time.time()
    finally:
        try:
            os.remove(probe)
        except OSError:
            pass


class WorkDirLock:
    """The driver lock of a work dir.

    The lock file appears with its content in one step (written to a
    temporary file, flushed to disk, then hard-linked to the lock name,
    which fails if it exists), so no reader ever sees an empty lock. A
    stale holder is taken over under ``driver.lock.takeover`` (created
    exclusively): one taker re-reads the holder, replaces it and lets go;
    the others then find the new live holder.

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
        #: why the heartbeat could not refresh or found the lock not ours
        self.heartbeat_error: Optional[str] = None
        self._started: Optional[str] = None

    def holder(self, age: bool = True) -> Optional[dict]:
        """The lock's content and, with ``age``, its age (``heartbeat_age``
        s, on the file system's clock: it touches a probe file), or None
        (no lock). A lock that cannot be read as a holder (empty or cut
        short: its writer died writing it) is ``{'unreadable': True,
        ...}``."""
        try:
            with open(self.path) as f:
                text = f.read()
            mtime = os.path.getmtime(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            info, mtime = dict(unreadable=True, error=str(exc)), None
        else:
            try:
                info = json.loads(text)
                if not isinstance(info, dict) or 'pid' not in info:
                    raise ValueError('not a lock')
            except ValueError:
                info = dict(unreadable=True, error=f'{len(text)} bytes')
        if age:
            info['heartbeat_age'] = 0.0 if mtime is None else \
                fs_now(osp.dirname(self.path)) - mtime
        return info

    @staticmethod
    def is_stale(info: dict) -> bool:
        """A holder that is gone (see the module doc); an unreadable lock
        is stale once it is :data:`HEARTBEAT` seconds old (a live writer
        completes it at once); so is one written by this Slurm job before
        it was requeued (``slurm_job_id``)."""
        if info.get('unreadable'):
            return info.get('heartbeat_age', 0.0) > HEARTBEAT
        job = os.environ.get('SLURM_JOB_ID')
        if job and info.get('slurm_job_id') == job and (
                info.get('host'), info.get('pid')) != (socket.gethostname(),
                                                       os.getpid()):
            return True  # this job before its requeue: Slurm ended it
        if info.get('host') == socket.gethostname():
            # a driver killed outright (SIGKILL) leaves its stage's own
            # process group running: live until that ends too
            return not _alive(int(info['pid']),
                              info.get('proc_start')) and not group_alive(
                                  info.get('stage_pgid'))
        return info['heartbeat_age'] > STALE_AFTER

    def acquire(self) -> Optional[dict]:
        """Take the lock, or take over a stale one.

        Returns:
            dict: The stale holder taken over, or None.

        Raises:
            WorkDirLocked: A live driver holds it, or the lock cannot be
                written (the message says why: a full disk, a read-only
                work dir).
        """
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        stale = None
        for _ in range(50):
            if self._create():
                self._start_heartbeat()
                return stale
            info = self.holder()
            if info is None:  # removed meanwhile: try again
                continue
            if not self.is_stale(info):
                raise WorkDirLocked(self._refusal(info))
            if self._take_over(info):
                stale = info
                continue
            time.sleep(0.05)  # another taker is at it
        raise WorkDirLocked(f'could not take {self.path}: another process '
                            'keeps taking it; look for a second pipeline '
                            'on this work dir')

    def _create(self) -> bool:
        """Create the lock with our content in one step; False if it
        exists."""
        folder = osp.dirname(self.path)
        tmp = osp.join(folder, f'.driver.lock.{uuid.uuid4().hex}')
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            with os.fdopen(fd, 'w') as f:
                json.dump(self._content(), f)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError as exc:  # no hard links here: exclusive create
                if exc.errno not in (errno.EPERM, errno.ENOTSUP,
                                     errno.EOPNOTSUPP, errno.EXDEV):
                    raise
            return self._create_exclusive()
        except OSError as exc:
            raise WorkDirLocked(
                f'cannot write the lock {self.path}: {exc.strerror} '
                f'({exc.filename or self.path}). The work dir must be '
                'writable with space left: free disk space or fix its '
                'permissions, or use another --work-dir') from None
        finally:
            try:
                os.remove(tmp)
            except OSError:
                pass

    def _create_exclusive(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, 'w') as f:
                json.dump(self._content(), f)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            os.remove(self.path)  # never leave a lock cut short
            raise
        return True

    def _take_over(self, seen: dict) -> bool:
        """Remove the stale holder ``seen`` if it is still the holder,
        under the takeover lock; False if another taker has it."""
        guard = f'{self.path}.takeover'
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            self._clear_dead_guard(guard)
            return False
        try:
            os.write(fd, json.dumps(self._content()).encode())
            os.close(fd)
            now = self.holder(age=False)
            same = now is not None and all(
                now.get(k) == seen.get(k)
                for k in ('host', 'pid', 'token', 'unreadable'))
            if same:
                os.remove(self.path)
            return same
        finally:
            os.remove(guard)

    def _clear_dead_guard(self, guard: str) -> None:
        """A takeover guard left by a taker killed while holding it (it
        holds it for milliseconds)."""
        try:
            age = fs_now(osp.dirname(guard)) - os.path.getmtime(guard)
        except OSError:
            return
        if age > HEARTBEAT:
            try:
                os.remove(guard)
            except OSError:
                pass

    def _content(self) -> dict:
        pid = os.getpid()
        if self._started is None:
            self._started = datetime.datetime.now().isoformat(
                timespec='seconds')
        return dict(
            host=socket.gethostname(),
            pid=pid,
            proc_start=_process_start(pid),
            started=self._started,
            **self.job)

    def update(self, **fields) -> None:
        """Rewrite our lock with ``fields`` added (e.g. the running
        stage's ``stage_pgid``), in one step (temporary file, synced,
        renamed over it); not if it is no longer ours."""
        self.job.update(fields)
        if not self.owned():
            return
        tmp = osp.join(
            osp.dirname(self.path), f'.driver.lock.{uuid.uuid4().hex}')
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, 'w') as f:
            json.dump(self._content(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _refusal(self, info: dict) -> str:
        if info.get('unreadable'):
            return (
                f'the lock {self.path} is unreadable ({info.get("error")}, '
                f'{info["heartbeat_age"]:.0f} s old): a pipeline may be '
                'writing it this instant. Run the command again; a lock '
                f'left unreadable for {HEARTBEAT:.0f} s (its writer died, '
                'e.g. on a full disk) is taken over')
        orphan = ''
        if info.get('stage_pgid') and info.get('host') == \
                socket.gethostname() and not _alive(
                    int(info['pid']), info.get('proc_start')):
            orphan = (f' That pipeline is gone but its stage still runs '
                      f'(process group {info["stage_pgid"]}): stop it with '
                      f'kill -TERM -- -{info["stage_pgid"]}, then run this '
                      'command again.')
        return (
            f'the work dir {osp.dirname(osp.dirname(self.path))} is in use '
            f'by the pipeline of host {info.get("host")}, pid '
            f'{info.get("pid")}, started {info.get("started")} (lock '
            f'{self.path}, heartbeat {info["heartbeat_age"]:.0f} s ago).'
            f'{orphan} '
            'Wait for it to finish, or stop it and run this command again '
            '(it resumes), or use another --work-dir. To join that run as '
            'another node, give --nnodes/--node-rank/--master-addr. A lock '
            f'left by a dead run on another host is taken over after '
            f'{STALE_AFTER:.0f} s without heartbeat; delete it only if you '
            'are sure no pipeline runs there.')

    def owned(self) -> bool:
        """Whether the lock file is (still) ours (no clock probe: the
        heartbeat asks every 10 s)."""
        info = self.holder(age=False)
        return bool(info) and info.get('token') == self.job.get('token')

    def _beat(self) -> None:
        """One heartbeat: refresh the lock if it is still ours; say once
        what went wrong otherwise."""
        problem = None
        try:
            if self.owned():
                os.utime(self.path)
            else:
                info = self.holder(age=False) or {}
                problem = ('the lock is gone or was taken by host '
                           f'{info.get("host")}, pid {info.get("pid")}')
        except OSError as exc:
            problem = f'cannot refresh it: {exc}'
        if problem and problem != self.heartbeat_error:
            print(
                f'[pipeline] warning: work-dir lock {self.path}: {problem}; '
                'another pipeline may take this work dir over',
                file=sys.stderr,
                flush=True)
        self.heartbeat_error = problem

    def _start_heartbeat(self) -> None:

        def beat():
            while not self._stop.wait(HEARTBEAT):
                self._beat()

        self._thread = threading.Thread(target=beat, daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lock (if still ours)."""
        self._stop.set()
        if self.owned():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass


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
    info = lock.holder(age=False)
    while (info is None or info.get('token') != token) and \
            time.time() < deadline:
        time.sleep(1.0)
        info = lock.holder(age=False)
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


__all__ = [
    'HEARTBEAT', 'JobError', 'STALE_AFTER', 'WorkDirLock', 'WorkDirLocked',
    'check_shared_work_dir', 'fs_now'
]
