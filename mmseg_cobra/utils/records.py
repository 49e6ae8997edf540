"""Read the metrics mmengine records in a work dir (no log scraping).

Every run of mmengine's ``Runner`` makes ``<work_dir>/<timestamp>/``. Its
``LoggerHook`` writes the test metrics of ``tools/test.py`` to
``<timestamp>/<timestamp>.json``, and every scalar of a training run
(losses, validation metrics, what hooks add through the visualizer) to
``<timestamp>/vis_data/scalars.json``, one JSON object per line. A resumed
run makes a new timestamp folder, so the readers take the newest record
that has the key asked for.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional


class RecordNotFoundError(FileNotFoundError):
    """No record of a work dir has the metric asked for."""


def run_dirs(work_dir: str) -> List[str]:
    """The run folders (``<work_dir>/<timestamp>/``), oldest first."""
    return sorted(
        d for d in glob.glob(osp.join(work_dir, '*_*'))
        if osp.isdir(d) and osp.basename(d)[:8].isdigit())


def _json_record(line: str) -> Optional[dict]:
    """The record a line holds, or None for a line cut by a kill.

    ``LoggerHook`` dumps the test metrics from every rank into the same
    ``<timestamp>.json`` (mode ``'w'``, no lock), and the ranks' records
    differ in length (each has its own ``time``): when two ranks open the
    file before either writes, the file is the last writer's record
    followed by the tail of a longer one. That first record is whole and
    its metrics are every rank's, so it is taken.
    """
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        try:
            record, _ = json.JSONDecoder().raw_decode(line)
        except json.JSONDecodeError:  # a line cut by a kill
            return None
        return record if isinstance(record, dict) else None


def _json_lines(path: str) -> List[dict]:
    out = []
    with open(path) as f:
        for line in f:
            record = _json_record(line.strip()) if line.strip() else None
            if record is not None:
                out.append(record)
    return out


def load_test_metrics(work_dir: str, key: str = 'mIoU') -> Dict[str, float]:
    """The metrics of the newest ``tools/test.py`` run in ``work_dir`` that
    recorded ``key``.

    Raises:
        RecordNotFoundError: No run recorded ``key`` (the message names the
            folder).
    """
    for run in reversed(run_dirs(work_dir)):
        path = osp.join(run, osp.basename(run) + '.json')
        if not osp.isfile(path):
            continue
        for record in reversed(_json_lines(path)):
            if key in record:
                return record
    raise RecordNotFoundError(
        f'no test run in {work_dir} recorded {key!r} '
        '(<timestamp>/<timestamp>.json): did tools/test.py finish?')


def scalar_history(work_dir: str, key: str) -> List[dict]:
    """Every record of ``key`` in the runs' ``vis_data/scalars.json``, oldest
    first (each a dict with ``key`` and its ``step``, plus whatever else
    that line recorded); empty when none has it."""
    out = []
    for run in run_dirs(work_dir):
        path = osp.join(run, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            out += [r for r in _json_lines(path) if key in r]
    return out


def last_scalars(work_dir: str, key: str) -> Optional[dict]:
    """The newest ``vis_data/scalars.json`` record that has ``key``."""
    history = scalar_history(work_dir, key)
    return history[-1] if history else None


__all__ = [
    'RecordNotFoundError', 'last_scalars', 'run_dirs', 'scalar_history',
    'load_test_metrics'
]
