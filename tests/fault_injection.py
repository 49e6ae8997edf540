"""Deterministic fault injection for the kill-anywhere tests: the plugin of
the library's fault points (``mmseg_cobra/utils/fault.py``), loaded in
every tool process the tests start (``conftest.py`` sets
``MMSEG_COBRA_FAULT_PLUGIN`` to this file).

Set ``MMSEG_COBRA_FAULT`` to one or more ``SITE@N`` (comma-separated) and
the process that reaches ``SITE`` for the ``N``-th time kills its whole
process group with SIGKILL, as an out-of-memory killer or a lost node
would (with the pipeline's driver, ``MMSEG_COBRA_DRIVER_PGID``).
``SITE@N:term`` sends SIGTERM to the pipeline's driver instead
(``MMSEG_COBRA_DRIVER_PID``; the process itself without one), as ``kill``,
``scancel`` or a cluster's time limit would. Sites:

- ``seed``, ``walk``, ``ir_label``, ``mask``, ``final_mask``,
  ``crf_mask``: right after that output file is complete under its name;
- ``<kind>.partial``: in the middle of writing it (the temporary file is
  cut to half its size, the final name does not exist yet);
- ``train_iter``: after a training iteration (:class:`FaultInjectionHook`,
  which ``tools/train.py`` registers from :func:`training_hooks`);
- ``stage_done.<stage>``: after a pipeline stage's outputs are all written,
  before the stage is recorded as finished.

Without the variable every call is a no-op.
"""
import os
import signal
import sys
from collections import Counter
from typing import List, Optional

from mmengine.hooks import Hook

ENV = 'MMSEG_COBRA_FAULT'
_counts: Counter = Counter()


def fault_point(site: str, path: Optional[str] = None) -> None:
    """Kill the process group here if ``MMSEG_COBRA_FAULT`` asks for it.

    Args:
        site (str): Name of this point (see the module doc).
        path (str, optional): For ``*.partial`` sites, the temporary file
            being written; it is cut to half its size first.
    """
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted, how = {}, {}
    for item in spec.split(','):
        name, _, n = item.strip().partition('@')
        n, _, how[name] = n.partition(':')
        wanted[name] = int(n or 1)
    if site not in wanted:
        return
    _counts[site] += 1
    if _counts[site] != wanted[site]:
        return
    if how[site] == 'term':  # a polite stop: SIGTERM to the driver
        target = int(os.environ.get('MMSEG_COBRA_DRIVER_PID', os.getpid()))
        print(
            f'\n[fault injection] {site} #{_counts[site]}: SIGTERM to pid '
            f'{target}',
            file=sys.stderr,
            flush=True)
        os.kill(target, signal.SIGTERM)
        return
    if path and site.endswith('.partial') and os.path.isfile(path):
        with open(path, 'r+b') as f:
            f.truncate(os.path.getsize(path) // 2)
    print(
        f'\n[fault injection] {site} #{_counts[site]}: SIGKILL to the '
        'process group',
        file=sys.stderr,
        flush=True)
    # a pipeline stage runs in its own process group: its driver's
    # (MMSEG_COBRA_DRIVER_PGID) goes with it, as on a lost node
    driver = os.environ.get('MMSEG_COBRA_DRIVER_PGID')
    if driver and int(driver) != os.getpgrp():
        try:
            os.killpg(int(driver), signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.killpg(os.getpgrp(), signal.SIGKILL)


class FaultInjectionHook(Hook):
    """The ``train_iter`` point: after each training iteration of this
    process (``train_iter@N`` kills it after the N-th)."""

    priority = 'LOWEST'  # after the checkpoint hook of the same iteration

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        fault_point('train_iter')


def training_hooks() -> List[Hook]:
    """What ``tools/train.py`` adds to a training: the ``train_iter`` point
    when ``MMSEG_COBRA_FAULT`` is set, nothing otherwise."""
    return [FaultInjectionHook()] if os.environ.get(ENV) else []


__all__ = ['ENV', 'FaultInjectionHook', 'fault_point', 'training_hooks']
