"""Deterministic fault injection for the kill-anywhere tests.

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
- ``train_iter``: after a training iteration (``FaultInjectionHook``,
  which ``tools/train.py`` registers when the variable is set);
- ``stage_done.<stage>``: after a pipeline stage's outputs are all written,
  before the stage is recorded as finished.

Without the variable every call is a no-op.
"""
import os
import signal
import sys
from collections import Counter
from typing import Optional

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


__all__ = ['ENV', 'fault_point']
