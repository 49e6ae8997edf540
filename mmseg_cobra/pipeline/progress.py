"""What the pipeline shows on the terminal while a stage's tool runs.

The stage tools write their whole output to ``<work_dir>/logs/<stage>.log``.
:class:`StageProgress` follows that file from a thread while the tool runs
and turns the progress the tools already print into one status line:

- mmengine's ``ProgressBar`` (per-image stages: seeds' test loop excepted,
  IR labels, masks, evaluations): ``[>>>  ] 12/100, 3.4 task/s, elapsed:
  3s, ETA: 26s``;
- mmengine's ``LogProcessor`` lines (training and testing loops):
  ``Epoch(train)  [3][ 50/331]  ... eta: 1:02:03`` or ``Iter(train)
  [ 50/40000] ... eta: ...``.

On a terminal the line is rewritten in place; elsewhere (a CI log, a Slurm
output file) a new line is printed at most once per tenth of a count (and
once per epoch of a training), so the log stays short. ``verbose`` streams
the tool's whole output instead.
"""
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import IO, Optional

#: mmengine ProgressBar with a known task count
_BAR = re.compile(r'(\d+)/(\d+), ([\d.]+) task/s, elapsed: (\d+)s, '
                  r'ETA:\s*(\d+)s')
#: mmengine LogProcessor: Epoch(train) [e][i/n] or Iter(train) [i/n]
_LOOP = re.compile(r'(Epoch|Iter)\((train|val|test)\)\s*'
                   r'(?:\[(\d+)\])?\s*\[\s*(\d+)/(\d+)\]')
_ETA = re.compile(r'eta: ((?:\d+ days?, )?\d+:\d\d:\d\d)')


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


@dataclass
class Progress:
    """The last progress a stage's tool printed.

    Attributes:
        phase (str): ``images`` (a progress bar), ``train``, ``val`` or
            ``test`` (a loop's log line).
        done (int): Images or iterations done (of this epoch, in training
            by epochs).
        total (int): Their number.
        epoch (int, optional): The epoch of a training by epochs.
        eta (str): The tool's estimate of the time left (``H:MM:SS``), or
            ``''``.
        rate (str): ``3.4 img/s`` for a progress bar, else ``''``.
    """
    phase: str
    done: int
    total: int
    epoch: Optional[int] = None
    eta: str = ''
    rate: str = ''

    @classmethod
    def parse(cls, text: str) -> Optional['Progress']:
        """The progress of one line of tool output, if it has any."""
        bar = _BAR.search(text)
        if bar:
            done, total, rate, _, eta = bar.groups()
            return cls('images', int(done), int(total), None,
                       _clock(float(eta)), f'{float(rate):.1f} img/s')
        loop = _LOOP.search(text)
        if loop:
            kind, phase, epoch, done, total = loop.groups()
            eta = _ETA.search(text)
            return cls(phase, int(done), int(total),
                       int(epoch) if epoch else None,
                       eta.group(1) if eta else '')
        return None

    @property
    def by_epoch(self) -> bool:
        """A training by epochs (one printed line per epoch)."""
        return self.phase == 'train' and self.epoch is not None

    def describe(self, count: bool = True) -> str:
        """``train epoch 3: 50/331 iterations, ETA 1:02:03``; without
        ``count`` a training by epochs says the epoch's length instead of
        where in it the tool is (``train epoch 3 (331 iterations), ETA
        ...``: the line printed once per epoch)."""
        what = 'images' if self.phase == 'images' else 'iterations'
        head = '' if self.phase == 'images' else self.phase
        if self.epoch is not None:
            head += f' epoch {self.epoch}'
        if not count and self.by_epoch:
            text = f'{head} ({self.total} {what})'
        else:
            text = (f'{head + ": " if head else ""}{self.done}/{self.total} '
                    f'{what}')
        if self.rate:
            text += f', {self.rate}'
        if self.eta:
            text += f', ETA {self.eta}'
        return text

    def step(self) -> tuple:
        """Changes when a non-terminal output should print a new line."""
        tenth = 10 * self.done // max(self.total, 1)
        if self.by_epoch:
            return (self.phase, self.epoch)
        return (self.phase, self.epoch, tenth)


class StageProgress:
    """Follow a stage's log while its tool runs (a context manager).

    Args:
        log_path (str): The log the tool's output is appended to.
        tag (str): What each line starts with (``[pipeline] seeds``).
        verbose (bool): Stream the tool's whole output instead of a status
            line.
        out (IO, optional): Where to print; default ``sys.stdout``.
        poll (float): Seconds between reads of the log.
    """

    def __init__(self,
                 log_path: str,
                 tag: str,
                 verbose: bool = False,
                 out: Optional[IO] = None,
                 poll: float = 0.5) -> None:
        self.log_path = log_path
        self.tag = tag
        self.verbose = verbose
        self.out = out or sys.stdout
        self.poll = poll
        self.tty = hasattr(self.out, 'isatty') and self.out.isatty()
        self.last: Optional[Progress] = None
        self._printed_step: Optional[tuple] = None
        self._pending = ''
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def __enter__(self) -> 'StageProgress':
        self._offset = os.path.getsize(self.log_path) \
            if os.path.exists(self.log_path) else 0
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._read()  # what the tool wrote last
        if self.tty and self.last is not None:
            self.out.write('\r\033[K')
            self.out.flush()

    def _follow(self) -> None:
        while not self._stop.wait(self.poll):
            self._read()

    def _read(self) -> None:
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return
        if not chunk:
            return
        self._offset += len(chunk)
        text = chunk.decode('utf-8', errors='replace')
        if self.verbose:
            self.out.write(text)
            self.out.flush()
            return
        # progress bars rewrite their line with '\r'; log lines end in '\n'
        pieces = re.split(r'[\r\n]', self._pending + text)
        self._pending = pieces.pop()
        for piece in pieces:
            progress = Progress.parse(piece)
            if progress is not None:
                self.last = progress
        if self._pending:  # a bar's current state, not yet overwritten
            progress = Progress.parse(self._pending)
            if progress is not None:
                self.last = progress
        self._show()

    def _show(self) -> None:
        if self.last is None:
            return
        # a terminal rewrites one line; a log file gets one line per epoch
        line = f'{self.tag}: {self.last.describe(count=self.tty)}'
        if self.tty:
            self.out.write('\r\033[K' + line[:200])
            self.out.flush()
        elif self.last.step() != self._printed_step:
            self._printed_step = self.last.step()
            self.out.write(line + '\n')
            self.out.flush()


def describe_outputs(record: dict) -> str:
    """A stage record's outputs for its end line: the files and folders it
    names (a folder with its number of files) and its scores.

    Args:
        record (dict): What a stage returned (``.stages/<stage>.json``).

    Returns:
        str: ``seed_dir work/seeds (1464 files)``, ``mask_miou 75.10``,
        joined by ``'; '`` (``''`` when there is nothing to show).
    """
    parts = []
    for key, value in record.items():
        if isinstance(value, str) and os.path.isdir(value):
            count = sum(not n.startswith('.') for n in os.listdir(value))
            parts.append(f'{key} {value} ({count} files)')
        elif isinstance(value, str) and os.path.isfile(value):
            parts.append(f'{key} {value}')
        elif isinstance(value, float) and ('miou' in key.lower()
                                           or key.startswith('seed_')
                                           or key == 'boundary_F'):
            parts.append(f'{key} {value:.2f}')
    return '; '.join(parts)


def clock(seconds: float) -> str:
    """``H:MM:SS`` of a number of seconds."""
    return _clock(seconds)
