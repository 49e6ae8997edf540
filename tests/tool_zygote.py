"""A warm process that runs the tools for the tests, one fork per run.

Started once per test process by ``conftest.run_tool``, it imports the
third-party stack every tool imports (torch, mmcv, mmengine's runner,
mmseg's and mmpretrain's models: about 3 s of each fresh process's start,
most of a short tool run) and then, for each request read from stdin, forks
a child that runs one tool script as ``python TOOL ARGS`` would: its own
session (so a tool that kills its process group kills only itself), the
working directory and environment asked for, stdout/stderr into the files
asked for, ``sys.argv`` and ``sys.path[0]`` as for a script, ``__main__``
run by :func:`runpy.run_path`, exit handlers run, the exit status reported.
This package (``mmseg_cobra``) is not imported here: each child imports it
from the tool, configs' ``custom_imports`` included, as a fresh process.

Protocol: one JSON line per request on stdin (``script``, ``args``, ``cwd``,
``env``, ``stdout``, ``stderr``, ``timeout``), one JSON line per answer on
the original stdout (``returncode``, negative for a signal, or
``timeout``).
"""
import json
import os
import runpy
import signal
import sys
import time
import traceback


def _warm_up() -> None:
    import cv2  # noqa: F401
    import mmcv  # noqa: F401
    import mmengine.runner  # noqa: F401
    import mmpretrain.models  # noqa: F401
    import mmseg.datasets  # noqa: F401
    import mmseg.models  # noqa: F401
    import numpy  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import torch  # noqa: F401


def _child(req: dict) -> None:
    """Run the tool in this (forked) process; never returns."""
    code = 1
    try:
        os.setsid()
        os.chdir(req['cwd'])
        os.environ.clear()
        os.environ.update(req['env'])
        for fd, path in ((1, req['stdout']), (2, req['stderr'])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.stdout = open(1, 'w', buffering=1, closefd=False)
        sys.stderr = open(2, 'w', buffering=1, closefd=False)
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)  # not the requests' pipe
        os.close(stdin)
        sys.stdin = open(0, closefd=False)
        threads = os.environ.get('OMP_NUM_THREADS')
        if threads:
            import torch
            torch.set_num_threads(int(threads))
        script = os.path.abspath(req['script'])
        sys.argv = [req['script'], *req['args']]
        sys.path[0] = os.path.dirname(script)
        try:
            runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        import atexit
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _wait(pid: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return dict(returncode=os.waitstatus_to_exitcode(status))
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return dict(timeout=True)
        time.sleep(0.02)


def main() -> None:
    answers = os.fdopen(os.dup(1), 'w', buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # import-time chatter stays out of the answers
    _warm_up()
    answers.write('ready\n')
    for line in sys.stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            answers.close()
            _child(req)
        answers.write(json.dumps(_wait(pid, req['timeout'])) + '\n')


if __name__ == '__main__':
    main()
