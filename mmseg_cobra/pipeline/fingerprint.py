"""What each pipeline stage was made from, and what a change reruns.

Every stage of :class:`~.pipeline.CoBraPipeline` is made from its
*inputs*: the stage config it runs with the pipeline config's options for
it merged in (flattened to dotted keys), the pipeline config keys it reads
(``mask_value``, ``seed_eval_args``, a given checkpoint's path, size and
time...), and the fingerprints of the stages whose outputs it reads (its
``needs``). The fingerprint is a hash of those, so a change
anywhere upstream changes every stage below it, and only those.

When a stage starts, its inputs are written to
``<work_dir>/.stages/<stage>.inputs.json``; a finished stage (with a
record) or an interrupted one (inputs, no record) whose fingerprint no
longer matches the config is *stale*: its outputs, or the partial outputs
and checkpoints it would resume from, belong to other settings. The
pipeline then refuses to go on, naming the keys that changed, unless told
to rerun (``--rerun-from STAGE`` / ``--rerun-changed``): the stale stages'
records and outputs are moved to ``<work_dir>/superseded/<time>/`` (never
deleted) and the stages run again. The stages, what each reads and
writes, come from the pipeline's table (:mod:`.stages`).
"""
import datetime
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from ..utils.errors import UserError
from ..utils.file_io import dump_json

#: How many changed keys a refusal lists.
SHOWN_CHANGES = 8
WORK_DIR_MARK = '{work_dir}'


def flatten(obj: object, prefix: str = '') -> Dict[str, str]:
    """Nested dicts and lists as ``{dotted.key: json value}``.

    Args:
        obj: A config dict (``Config.to_dict()``) or any JSON-like value.
        prefix (str): Prefix of the keys.

    Returns:
        dict[str, str]: One entry per leaf; values as compact JSON (types
        kept apart: ``1`` and ``'1'`` differ).
    """
    out: Dict[str, str] = {}
    if isinstance(obj, Mapping):
        if not obj and prefix:
            out[prefix[:-1]] = '{}'
        for key, value in obj.items():
            out.update(flatten(value, f'{prefix}{key}.'))
    elif isinstance(obj, (list, tuple)):
        if not obj and prefix:
            out[prefix[:-1]] = '[]'
        for i, value in enumerate(obj):
            out.update(flatten(value, f'{prefix}{i}.'))
    else:
        out[prefix[:-1]] = json.dumps(obj, sort_keys=True, default=str)
    return out


def fingerprint(inputs: Mapping[str, str], needs: Mapping[str, str]) -> str:
    """The hash of a stage's inputs and its upstream fingerprints."""
    text = json.dumps(
        dict(inputs=dict(inputs), needs=dict(needs)), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def downstream(start: Iterable[str], table: Sequence) -> List[str]:
    """``start`` and every stage of ``table`` (stages with ``name`` and
    ``needs``, in pipeline order) that reads their outputs, transitively,
    in pipeline order."""
    found = set(start)
    for stage in table:  # pipeline order: needs come first
        if any(n in found for n in stage.needs):
            found.add(stage.name)
    return [s.name for s in table if s.name in found]


def upstream(targets: Iterable[str], table: Sequence) -> List[str]:
    """``targets`` and every stage whose outputs they read, transitively,
    in pipeline order."""
    found = set(targets)
    for stage in reversed(table):
        if stage.name in found:
            found.update(stage.needs)
    return [s.name for s in table if s.name in found]


def describe_change(before: Mapping[str, str],
                    now: Mapping[str, str],
                    limit: int = SHOWN_CHANGES) -> List[str]:
    """The keys whose value differs, as ``key: old -> new`` lines
    (pipeline keys first, then the shallowest: the lines a reader
    recognises, ``seg_config`` or a loss weight, come first)."""
    keys = sorted(
        (k for k in set(before) | set(now) if before.get(k) != now.get(k)),
        key=lambda k: (not k.startswith('pipeline.'), k.count('.'), k))
    lines = [
        f'{k}: {before.get(k, "(not set)")} -> {now.get(k, "(not set)")}'
        for k in keys[:limit]
    ]
    if len(keys) > limit:
        lines.append(f'... and {len(keys) - limit} more keys')
    return lines


class StageInputs:
    """The inputs files of a work dir (``.stages/<stage>.inputs.json``).

    Args:
        layout (WorkDirLayout): The work dir.
    """

    def __init__(self, layout) -> None:
        self.layout = layout

    def read(self, stage: str) -> Optional[dict]:
        """What the stage was started with, or None (never started, or
        started by a version that wrote no inputs)."""
        try:
            with open(self.layout.inputs(stage)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except ValueError:  # cut short: the stage never really started
            return None

    def write(self, stage: str, inputs: Mapping[str, str],
              needs: Mapping[str, str]) -> None:
        dump_json(
            dict(
                fingerprint=fingerprint(inputs, needs),
                needs=dict(needs),
                inputs=dict(inputs)), self.layout.inputs(stage))


def why_stale(recorded: dict, inputs: Mapping[str, str],
              needs: Mapping[str, str]) -> List[str]:
    """Lines naming what differs between a stage's recorded inputs and
    the current ones (empty: the same)."""
    lines = []
    for need, fp in needs.items():
        if recorded.get('needs', {}).get(need) != fp:
            lines.append(f'its input stage {need} has other settings')
    return lines + describe_change(recorded.get('inputs', {}), inputs)


class StaleStageError(UserError, RuntimeError):
    """A stage was made with other settings; the message names them and
    how to redo it."""


class StagePlan:
    """The fingerprints of a run's stages, checked against the work dir.

    Args:
        layout (WorkDirLayout): The work dir.
        table (Sequence[Stage]): The stages (``name``, ``needs``,
            ``outputs``), in pipeline order.
        stage_inputs (callable): ``stage -> inputs`` (flat dict) as the
            config gives them now.
    """

    def __init__(self, layout, table: Sequence,
                 stage_inputs: Callable[[object], Dict[str, str]]) -> None:
        self.layout = layout
        self.table = tuple(table)
        self.by_name = {s.name: s for s in self.table}
        self.names = [s.name for s in self.table]
        self.inputs = StageInputs(layout)
        self.stage_inputs = stage_inputs

    def fingerprints(self, stages: Sequence[str]) -> Dict[str, tuple]:
        """``{stage: (inputs, needs)}`` of ``stages`` and the stages they
        read from, as the config gives them now."""
        plan: Dict[str, tuple] = {}
        for name in upstream(stages, self.table):
            stage = self.by_name[name]
            needs = {n: fingerprint(*plan[n]) for n in stage.needs}
            plan[name] = (self.stage_inputs(stage), needs)
        return plan

    def _recorded(self, stage: str) -> bool:
        return osp.isfile(self.layout.record(stage))

    def stale(self, plan: Dict[str, tuple]) -> Dict[str, List[str]]:
        """The stages started or finished with other settings, each with
        what changed; a record from before fingerprints is adopted (its
        inputs written as the current ones)."""
        stale = {}
        for stage, (inputs, needs) in plan.items():
            recorded = self.inputs.read(stage)
            if recorded is None:
                if self._recorded(stage):
                    self.inputs.write(stage, inputs, needs)
                continue
            if not self._recorded(stage) and not self.has_outputs(stage):
                continue  # stopped before writing anything: nothing stale
            if recorded.get('fingerprint') != fingerprint(inputs, needs):
                stale[stage] = why_stale(recorded, inputs, needs)
        return stale

    def has_outputs(self, stage: str) -> bool:
        """Whether the stage left any output (a file, or a folder with
        one)."""
        for name in self.by_name[stage].outputs:
            path = getattr(self.layout, name)
            if osp.isfile(path) or (osp.isdir(path)
                                    and any(files
                                            for _, _, files in os.walk(path))):
                return True
        return False

    def check(self, stages: Sequence[str], rerun: Iterable[str],
              rerun_changed: bool) -> Dict[str, tuple]:
        """Refuse stale stages, or move the ones to redo aside.

        Args:
            stages (Sequence[str]): The stages of this run.
            rerun (Iterable[str]): Stages to redo whatever their state
                (``--rerun-from``: a stage and what reads it).
            rerun_changed (bool): Also redo the stale stages and what
                reads them.

        Returns:
            dict: The plan (:meth:`fingerprints`).

        Raises:
            StaleStageError: A stale stage is not to be redone.
        """
        plan = self.fingerprints(stages)
        stale = self.stale(plan)
        redo = set(rerun)
        if rerun_changed:
            redo |= set(downstream(stale, self.table))
        refused = [s for s in self.names if s in stale and s not in redo]
        if refused:
            raise StaleStageError(self._message(refused[0], stale))
        redo = [
            s for s in self.names
            if s in redo and (self.inputs.read(s) or self._recorded(s))
        ]
        moved = self.supersede(redo)
        if moved:
            print(
                f'[pipeline] redoing {", ".join(redo)}: their records and '
                f'outputs moved to {moved}',
                flush=True)
        return plan

    def _message(self, first: str, stale: Dict[str, List[str]]) -> str:
        started = '' if self._recorded(first) else \
            ' (interrupted: it would resume from files made with them)'
        changes = '\n  '.join(stale[first])
        after = [s for s in downstream([first], self.table) if s != first]
        return (f'stage {first} in {self.layout.root} was made with other '
                f'settings than the config gives now{started}:\n  {changes}\n'
                f'Its outputs, and those of the stages that read them '
                f'({", ".join(after) or "none"}), belong to the old settings. '
                f'Redo them with --rerun-from {first} (or --rerun-changed for '
                'every changed stage): their records and outputs are moved to '
                f'{self.layout.superseded}/, nothing is deleted. Or undo the '
                'change, or use another --work-dir.')

    def supersede(self, stages: Sequence[str]) -> Optional[str]:
        """Move the records, inputs and outputs of ``stages`` to
        ``<work_dir>/superseded/<time>/`` (same layout), so that they run
        again from nothing; nothing is deleted.

        Returns:
            str: The folder they went to, or None if there was nothing.
        """
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        target = osp.join(self.layout.superseded, stamp)
        moved = False
        for stage in stages:
            paths = [self.layout.record(stage), self.layout.inputs(stage)]
            paths += [
                getattr(self.layout, name)
                for name in self.by_name[stage].outputs
            ]
            for src in paths:
                if not osp.lexists(src):
                    continue
                dst = osp.join(target, osp.relpath(src, self.layout.root))
                os.makedirs(osp.dirname(dst), exist_ok=True)
                shutil.move(src, dst)
                moved = True
        return target if moved else None


__all__ = [
    'StageInputs', 'StagePlan', 'StaleStageError', 'describe_change',
    'downstream', 'fingerprint', 'flatten', 'upstream', 'why_stale'
]
