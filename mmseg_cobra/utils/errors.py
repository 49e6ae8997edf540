"""Errors a user can act on, and how the command-line tools report them.

Library code never ends the process: it raises a :class:`UserError` (a
missing or malformed file, a config that does not fit, a device that is
not there, a stage that failed ...) whose message names what is wrong and
the fix. A tool runs
its ``main`` through :func:`run_cli`, which prints that message as
``error: <message>`` and returns the exit status the tool exits with.
"""
import sys
from typing import Callable, Optional


class UserError(Exception):
    """What a user can act on; the message names the file and the fix."""


def run_cli(main: Callable[[], Optional[int]]) -> int:
    """Run a tool's ``main``: its return value (None: 0) is the exit
    status, a :class:`UserError` is printed to stderr as ``error: ...``
    and gives 1.

    Args:
        main (Callable): The tool's entry point.

    Returns:
        int: The exit status, for ``sys.exit(run_cli(main))``.
    """
    try:
        return int(main() or 0)
    except UserError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
