"""What each pipeline stage was made from, and what a change reruns.

Every stage of :class:`~.pipeline.CoBraPipeline` is made from its
*inputs*: the stage config it runs with the pipeline config's options for
it merged in (flattened to dotted keys), the pipeline config keys it reads
(``mask_value``, ``seed_eval_args``, a given checkpoint's path, size and
time...), and the fingerprints of the stages whose outputs it reads
(:data:`STAGE_NEEDS`). The fingerprint is a hash of those, so a change
anywhere upstream changes every stage below it, and only those.

When a stage starts, its inputs are written to
``<work_dir>/.stages/<stage>.inputs.json``; a finished stage (with a
record) or an interrupted one (inputs, no record) whose fingerprint no
longer matches the config is *stale*: its outputs, or the partial outputs
and checkpoints it would resume from, belong to other settings. The
pipeline then refuses to go on, naming the keys that changed, unless told
to rerun (``--rerun-from STAGE`` / ``--rerun-changed``): the stale stages'
records and outputs are moved to ``<work_dir>/superseded/<time>/`` (never
deleted) and the stages run again.
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

#: The pipeline's stages, in order.
STAGES = ('classifier', 'seeds', 'seed_eval', 'ir_labels', 'irn', 'masks',
          'mask_eval', 'final_masks', 'seg', 'seg_eval')

#: The stages whose outputs each stage reads (its checkpoint, seeds,
#: walks, masks, chosen mask value...).
STAGE_NEEDS: Dict[str, tuple] = dict(
    classifier=(),
    seeds=('classifier', ),
    seed_eval=('seeds', ),
    ir_labels=('seeds', ),
    irn=('ir_labels', ),
    masks=('irn', 'seeds'),
    mask_eval=('masks', 'seeds'),
    final_masks=('mask_eval', 'masks'),
    seg=('final_masks', ),
    seg_eval=('seg', ))

#: What each stage leaves in the work dir besides its record (relative
#: paths); moved aside when the stage is rerun.
STAGE_OUTPUTS: Dict[str, tuple] = dict(
    classifier=('cobra', ),
    seeds=('seeds', ),
    seed_eval=('seed_eval.json', ),
    ir_labels=('ir_labels', ),
    irn=('irn', ),
    masks=('masks', 'walks'),
    mask_eval=('mask_eval.json', ),
    final_masks=('final_masks', ),
    seg=('seg', ),
    seg_eval=('seg_eval', ))

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


def downstream(start: Iterable[str], stages: Sequence[str]) -> List[str]:
    """``start`` and every stage that reads their outputs, transitively,
    in pipeline order."""
    found = set(start)
    for stage in stages:  # pipeline order: needs come first
        if any(n in found for n in STAGE_NEEDS[stage]):
            found.add(stage)
    return [s for s in stages if s in found]


def upstream(targets: Iterable[str], stages: Sequence[str]) -> List[str]:
    """``targets`` and every stage whose outputs they read, transitively,
    in pipeline order."""
    found = set(targets)
    for stage in reversed(stages):
        if stage in found:
            found.update(STAGE_NEEDS[stage])
    return [s for s in stages if s in found]


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
        state_dir (str): ``<work_dir>/.stages``.
    """

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir

    def path(self, stage: str) -> str:
        return osp.join(self.state_dir, f'{stage}.inputs.json')

    def read(self, stage: str) -> Optional[dict]:
        """What the stage was started with, or None (never started, or
        started by a version that wrote no inputs)."""
        try:
            with open(self.path(stage)) as f:
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
                inputs=dict(inputs)), self.path(stage))


def why_stale(stage: str, recorded: dict, inputs: Mapping[str, str],
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
        work_dir (str): The pipeline's work dir.
        stage_inputs (callable): ``stage -> inputs`` (flat dict) as the
            config gives them now.
    """

    def __init__(self, work_dir: str,
                 stage_inputs: Callable[[str], Dict[str, str]]) -> None:
        self.work_dir = work_dir
        self.state_dir = osp.join(work_dir, '.stages')
        self.inputs = StageInputs(self.state_dir)
        self.stage_inputs = stage_inputs

    def fingerprints(self, stages: Sequence[str]) -> Dict[str, tuple]:
        """``{stage: (inputs, needs)}`` of ``stages`` and the stages they
        read from, as the config gives them now."""
        plan: Dict[str, tuple] = {}
        for stage in upstream(stages, STAGES):
            needs = {n: fingerprint(*plan[n]) for n in STAGE_NEEDS[stage]}
            plan[stage] = (self.stage_inputs(stage), needs)
        return plan

    def _record(self, stage: str) -> str:
        return osp.join(self.state_dir, stage + '.json')

    def stale(self, plan: Dict[str, tuple]) -> Dict[str, List[str]]:
        """The stages started or finished with other settings, each with
        what changed; a record from before fingerprints is adopted (its
        inputs written as the current ones)."""
        stale = {}
        for stage, (inputs, needs) in plan.items():
            recorded = self.inputs.read(stage)
            if recorded is None:
                if osp.isfile(self._record(stage)):
                    self.inputs.write(stage, inputs, needs)
                continue
            if not osp.isfile(self._record(stage)) and \
                    not self.has_outputs(stage):
                continue  # stopped before writing anything: nothing stale
            if recorded.get('fingerprint') != fingerprint(inputs, needs):
                stale[stage] = why_stale(stage, recorded, inputs, needs)
        return stale

    def has_outputs(self, stage: str) -> bool:
        """Whether the stage left any output (a file, or a folder with
        one)."""
        for rel in STAGE_OUTPUTS[stage]:
            path = osp.join(self.work_dir, rel)
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
            redo |= set(downstream(stale, STAGES))
        refused = [s for s in STAGES if s in stale and s not in redo]
        if refused:
            raise StaleStageError(self._message(refused[0], stale))
        redo = [
            s for s in STAGES if s in redo and (
                self.inputs.read(s) or osp.isfile(self._record(s)))
        ]
        moved = supersede(self.work_dir, redo)
        if moved:
            print(
                f'[pipeline] redoing {", ".join(redo)}: their records and '
                f'outputs moved to {moved}',
                flush=True)
        return plan

    def _message(self, first: str, stale: Dict[str, List[str]]) -> str:
        started = '' if osp.isfile(self._record(first)) else \
            ' (interrupted: it would resume from files made with them)'
        changes = '\n  '.join(stale[first])
        after = [s for s in downstream([first], STAGES) if s != first]
        return (
            f'stage {first} in {self.work_dir} was made with other settings '
            f'than the config gives now{started}:\n  {changes}\n'
            f'Its outputs, and those of the stages that read them '
            f'({", ".join(after) or "none"}), belong to the old settings. '
            f'Redo them with --rerun-from {first} (or --rerun-changed for '
            'every changed stage): their records and outputs are moved to '
            f'{osp.join(self.work_dir, "superseded")}/, nothing is '
            'deleted. Or undo the change, or use another --work-dir.')


def supersede(work_dir: str, stages: Sequence[str]) -> Optional[str]:
    """Move the records, inputs and outputs of ``stages`` to
    ``<work_dir>/superseded/<time>/`` (same layout), so that they run
    again from nothing; nothing is deleted.

    Returns:
        str: The folder they went to, or None if there was nothing.
    """
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
    target = osp.join(work_dir, 'superseded', stamp)
    moved = False
    for stage in stages:
        paths = [
            osp.join('.stages', f'{stage}.json'),
            osp.join('.stages', f'{stage}.inputs.json'), *STAGE_OUTPUTS[stage]
        ]
        for rel in paths:
            src = osp.join(work_dir, rel)
            if not osp.lexists(src):
                continue
            dst = osp.join(target, rel)
            os.makedirs(osp.dirname(dst), exist_ok=True)
            shutil.move(src, dst)
            moved = True
    return target if moved else None


__all__ = [
    'STAGES', 'StagePlan', 'StaleStageError', 'STAGE_NEEDS', 'STAGE_OUTPUTS',
    'StageInputs', 'describe_change', 'downstream', 'fingerprint', 'flatten',
    'supersede', 'upstream', 'why_stale'
]
