"""How the other nodes of a ``--launcher pytorch`` job follow node 0.

Node 0's pipeline serves a small key-value store
(``torch.distributed.TCPStore`` on ``master_port + 1``) with the job's
token and stages; a joining node reads them, checks that it sees the same
token in the lock file of its work dir (:mod:`.work_dir_lock`), runs each
stage's command with its node rank and waits for node 0's stage records
between stages. Every wait is bounded: node 0 gone or stopped is named.
A joining node that fails reports it in the store
(:meth:`JobRendezvous.report_failure`): node 0 stops its running stage at
once and names that node and its error, instead of waiting out the
stage's rendezvous and peer timeouts for ranks that never come.
"""
import datetime
import json
import os.path as osp
import time
import uuid
from typing import Optional, Tuple

from ..utils.errors import UserError


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
                 timeout: float = 600.0,
                 node_rank: int = 0) -> None:
        from torch.distributed import TCPStore
        self.drives = drives
        self.node_rank = node_rank
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

    def job(self, poll: float = 0.5) -> dict:
        """A joining node: node 0's job (waits until it is published).

        Raises:
            JobError: Node 0 stopped before publishing it (its message,
                e.g. a dataset error in its preparation), or went away.
        """
        while True:
            try:
                if self.store.check(['job']):
                    return json.loads(self.store.get('job'))
            except Exception:  # noqa: BLE001 - the store went away
                raise JobError(
                    "node 0's pipeline is gone before it started the job "
                    "(its store closed); see node 0's output") from None
            self.check_driver()
            time.sleep(poll)

    def fail(self, message: str, nnodes: int = 1, wait: float = 10.0) -> None:
        """Node 0: tell the joining nodes the run stopped; wait (at most
        ``wait`` s) for them to read it before the store closes."""
        self.store.set('failed', message)
        keys = [f'seen_failure/{r}' for r in range(1, nnodes)]
        deadline = time.time() + wait
        while keys and time.time() < deadline:
            try:
                if self.store.check(keys):
                    return
            except Exception:  # noqa: BLE001
                return
            time.sleep(0.2)

    def check_driver(self) -> None:
        """A joining node: raise :class:`JobError` if node 0 stopped."""
        try:
            failed = self.store.check(['failed'])
            message = self.store.get('failed').decode() if failed else None
        except Exception:  # noqa: BLE001 - the store went away
            message = 'node 0\'s pipeline is gone (its store closed)'
        if message:
            try:
                self.store.set(f'seen_failure/{self.node_rank}', '1')
            except Exception:  # noqa: BLE001
                pass
            raise JobError(f'node 0 stopped: {message}')

    def report_failure(self, message: str) -> None:
        """A joining node: tell node 0 this node stopped (``message``:
        why), so that node 0 stops its stage at once instead of waiting
        for this node's ranks (:meth:`node_failure`)."""
        try:
            self.store.set(f'node_failed/{self.node_rank}', message[:2000])
        except Exception:  # noqa: BLE001 - node 0 is gone: nobody to tell
            pass

    def node_failure(self, nnodes: int) -> Optional[Tuple[int, str]]:
        """Node 0: the first joining node that reported a failure.

        Returns:
            tuple | None: ``(node rank, its message)``, None while every
            node is running.
        """
        for rank in range(1, nnodes):
            key = f'node_failed/{rank}'
            try:
                if self.store.check([key]):
                    return rank, self.store.get(key).decode()
            except Exception:  # noqa: BLE001 - our own store: never gone
                return None
        return None

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


def wait_for_record(path: str,
                    rendezvous: JobRendezvous,
                    lock=None,
                    silence: float = 600.0,
                    poll: float = 1.0) -> None:
    """A joining node: wait until node 0 has recorded a stage (``path``).

    Raises:
        JobError: Node 0 stopped, or its lock (``lock``, refreshed every
            ``HEARTBEAT`` s, see :mod:`.work_dir_lock`) has not been
            refreshed for ``silence`` seconds: node 0 is stopped or hung
            (a store call to it would block).
    """
    while not osp.isfile(path):
        info = lock.holder() if lock is not None else None
        if info and info.get('heartbeat_age', 0.0) > silence:
            raise JobError(
                f'node 0 (host {info.get("host")}, pid {info.get("pid")}) '
                f'has not refreshed its lock {lock.path} for '
                f'{info["heartbeat_age"] / 60:.1f} minutes: it is stopped '
                'or hung. Stop the job on every node and rerun it (it '
                'resumes); the wait is the pipeline config\'s '
                'peer_timeout_min')
        rendezvous.check_driver()
        if osp.isfile(path):
            return
        time.sleep(poll)


__all__ = ['JobError', 'JobRendezvous', 'wait_for_record']
