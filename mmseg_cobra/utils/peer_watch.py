"""Waiting for the other ranks of a CPU stage, bounded by their silence.

The ranks of a CPU stage finish their shards hours apart on COCO, so a
collective cannot have a short timeout; but a rank that is stopped (a
SIGSTOPped or hung node) keeps its connections open and would hold the
others for the whole timeout (a rank that dies closes them, which the
others see at once). Each rank therefore beats on the process group's
store (a counter it increments every :data:`BEAT` seconds from a thread);
while a rank is in a collective, a watchdog reads the others' beats and
ends it, naming the silent rank and its host, once one has not moved for
the peer timeout (``MMSEG_COBRA_PEER_TIMEOUT_MIN`` minutes, the pipeline
config's ``peer_timeout_min``, default :data:`DEFAULT_TIMEOUT_MIN`). A
slow rank beats, and is waited for however long its shard takes.
"""
import contextlib
import os
import signal
import socket
import sys
import threading
import time
from typing import Dict, Iterator, Optional

from .errors import UserError

ENV = 'MMSEG_COBRA_PEER_TIMEOUT_MIN'
#: Minutes of silence after which a peer rank counts as lost.
DEFAULT_TIMEOUT_MIN = 10.0
#: Seconds between beats.
BEAT = 5.0


class PeerLost(UserError, RuntimeError):
    """A rank of the stage stopped answering; the message names it."""


def peer_timeout() -> float:
    """The peer timeout in seconds (from :data:`ENV`)."""
    return 60.0 * float(os.environ.get(ENV, DEFAULT_TIMEOUT_MIN))


class PeerWatch:
    """Beats of this rank, arrivals of all ranks, on a ``Store``.

    Args:
        store: The process group's ``torch.distributed.Store``.
        rank (int): This rank.
        world (int): Ranks of the stage.
        timeout (float): Seconds a silent peer is waited for.
        beat (float, optional): Seconds between this rank's beats
            (default :data:`BEAT`, or a quarter of a shorter timeout).
    """

    def __init__(self,
                 store,
                 rank: int,
                 world: int,
                 timeout: float,
                 beat: Optional[float] = None) -> None:
        self.store, self.rank, self.world = store, rank, world
        # at least four beats in a timeout
        self.timeout = timeout
        self.beat = min(BEAT, timeout / 4) if beat is None else beat
        self._stop = threading.Event()
        store.set(f'host/{rank}', socket.gethostname())
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.beat):
            try:
                self.store.add(f'beat/{self.rank}', 1)
            except Exception:  # noqa: BLE001 - the store is gone: stop
                return

    def close(self) -> None:
        """Stop beating and let go of the store (before the process group
        is destroyed: a store or a thread left to interpreter exit can
        abort the process, "terminate called without an active
        exception")."""
        self._stop.set()
        self._thread.join(5.0)
        self.store = None

    def _bounded(self, call, *args, limit: Optional[float] = None):
        """``call(*args)`` on the store, given up after ``limit`` s (default
        the timeout): a store whose server (rank 0) is stopped never
        answers, and a call to it would never return.

        Raises:
            PeerLost: Rank 0 did not answer, or the store failed.
        """
        limit = self.timeout if limit is None else limit
        box: dict = {}

        def run():
            try:
                box['value'] = call(*args)
            except Exception as exc:  # noqa: BLE001 - reported below
                box['error'] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(limit)
        if thread.is_alive():
            raise self._lost(
                0, 'holds the stage\'s store and has not answered for '
                f'{limit / 60:.1f} minutes')
        if 'error' in box:
            raise self._lost(0, f'does not answer ({box["error"]})')
        return box.get('value')

    def _host(self, rank: int) -> str:
        if rank == 0:  # the store's own host
            return os.environ.get('MASTER_ADDR', 'unknown host')
        try:
            return self._bounded(
                self.store.get, f'host/{rank}', limit=5.0).decode()
        except PeerLost:
            return 'unknown host'

    def _lost(self, rank: int, what: str) -> PeerLost:
        return PeerLost(
            f'rank {rank} of this stage (node {rank}, host '
            f'{self._host(rank)}) {what}; rank {self.rank} stops instead of '
            'waiting longer. Is that node stopped (SIGSTOP, a hung file '
            'system, swapping)? Stop the whole job and rerun it; it '
            f'resumes. The wait is {ENV} minutes '
            '(the pipeline config\'s peer_timeout_min)')

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the other ranks while this block (a collective) runs.

        A rank that dies closes its connections and the collective fails
        at once; one that is stopped keeps them open and the collective
        would wait for it for hours. So while the block runs, a thread
        reads every other rank's beats; once one has not moved for
        :attr:`timeout` seconds (or rank 0, which holds the store, does
        not answer), it prints :class:`PeerLost`'s message and ends this
        process with SIGTERM, the only way out of a blocked collective.
        """
        done = threading.Event()
        thread = threading.Thread(
            target=self._watch, args=(done, ), daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(2.0)  # not left in a store call at exit

    def _watch(self, done: threading.Event) -> None:
        last: Dict[int, tuple] = {}
        while not done.wait(min(1.0, self.beat)):
            try:
                self.check_peers(last)
            except PeerLost as exc:
                if done.is_set():
                    return
                print(f'error: {exc}', file=sys.stderr, flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def check_peers(self, last: Dict[int, tuple]) -> None:
        """One look at the other ranks' beats; ``last`` keeps, per rank,
        its last count and when it changed.

        Raises:
            PeerLost: A rank silent for :attr:`timeout` seconds, or rank 0
                (the store) not answering.
        """
        now = time.monotonic()
        for peer in range(self.world):
            if peer == self.rank:
                continue
            beats = self._bounded(self.store.add, f'beat/{peer}', 0)
            seen: Optional[tuple] = last.get(peer)
            if seen is None or seen[0] != beats:
                last[peer] = (beats, now)
            elif now - seen[1] > self.timeout:
                raise self._lost(
                    peer, 'has given no sign of life for '
                    f'{self.timeout / 60:.1f} minutes')


__all__ = [
    'BEAT', 'DEFAULT_TIMEOUT_MIN', 'ENV', 'PeerLost', 'PeerWatch',
    'peer_timeout'
]
