"""The whole CoBra pipeline: the stage table run as tool invocations.

Each stage of :data:`~.stages.STAGE_TABLE` runs the commands a user would
type (``tools/train.py``, ``tools/test.py``, ``tools/eval_seeds.py`` ...),
every path in a written stage config or an argument. A finished stage
leaves ``<work_dir>/.stages/<stage>.json`` (its record, time and peak
memory) and is skipped on the next run while its fingerprint matches the
config (:mod:`.fingerprint`); an interrupted stage resumes (training from
its last checkpoint, seeds/IR labels/masks from the files already
written).

How each command starts (one process, torchrun on every node, srun in a
Slurm allocation) is :class:`.launchers.StageLauncher`'s business; the
driving node holds the work dir's lock (:mod:`.work_dir_lock`) and the
other nodes of a torchrun job follow it (:mod:`.rendezvous`): they run
each stage's commands and wait for node 0's record.
"""
import contextlib
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, Iterator, Optional, Sequence

from ..utils.fault import fault_point
from ..utils.file_io import check_writable, dump_json, save_config
from ..utils.tools import tool_path
from .config import REPO, prepare_synthetic_data, resolve_pipeline_dataset
from .context import Command, PipelineError, StageContext
from .dataset_description import (DescriptionError, apply_description,
                                  description_summary, validate_description)
from .fingerprint import StagePlan, downstream
from .launchers import StageLauncher
from .layout import WorkDirLayout
from .progress import StageProgress, clock, describe_outputs
from .rendezvous import JobRendezvous, wait_for_record
from .stage_process import StageSignals
from .stages import STAGE_TABLE, Stage
from .summary import write_summary
from .work_dir_lock import WorkDirLock, check_shared_work_dir

#: The stages' names, in order.
STAGES = tuple(stage.name for stage in STAGE_TABLE)


class CoBraPipeline:
    """Run the stages of a pipeline config.

    Args:
        cfg (Config): Pipeline config: ``cobra_config``, ``irn_config``,
            ``seg_config``, and either ``dataset`` (one description every
            stage receives, see :mod:`.dataset_description`; checked
            before the first stage, written into each stage config under
            ``<work_dir>/configs/``) or ``data_root`` and ``train_list``
            (images that get seeds/masks; the stage configs' own datasets
            otherwise), optional per-stage ``cfg_options`` dicts
            (``classifier``, ``seeds``, ``irn``, ``seg``), ``mask_value``
            (``'swept'``, default: the final masks use the mask rule's
            value swept on the eval list by the mask evaluation, as the
            reference does; a number fixes it; ``None`` keeps the IRN
            config's), ``mask_eval_crf`` (score the CRF rows too),
            ``skip_bad_images`` (the tools leave images that fail the
            dataset check out instead of stopping; they are counted in the
            summary), ``classifier_checkpoint`` / ``irn_checkpoint`` (a
            trained model used instead of training that stage, e.g. the
            reference implementation's converted weights), ``stop_grace``,
            ``peer_timeout_min`` and ``min_free_mb`` (docs: cluster).
        work_dir (str): Root of every output (shared by every node).
        launch (StageLauncher, optional): How the stages start (one
            process, torchrun on each node, srun); default one process.
        join_timeout (float): Seconds a joining node waits for node 0.
        verbose (bool): Stream every stage tool's output to the terminal
            (it always goes to ``<work_dir>/logs/``); otherwise one status
            line per stage shows its progress and ETA.
        device (str): ``--device`` of every training and testing stage
            (``auto``, ``cuda``: refuse to run without a GPU, ``cpu``).
    """

    def __init__(self,
                 cfg,
                 work_dir: str,
                 launch: Optional[StageLauncher] = None,
                 join_timeout: float = 600.0,
                 verbose: bool = False,
                 device: str = 'auto') -> None:
        self.cfg = cfg
        self.verbose = verbose
        self.layout = WorkDirLayout(osp.abspath(work_dir))
        self.work_dir = self.layout.root
        self.launch = launch or StageLauncher(python=sys.executable)
        self.join_timeout = join_timeout
        self.rendezvous: Optional[JobRendezvous] = None
        # in a checkout the tools run from its root, as before (relative
        # data paths resolve there); installed, from the working directory
        self.in_checkout = osp.isfile(tool_path('train.py'))
        self.cwd = REPO if self.in_checkout else os.getcwd()
        check_writable(self.layout.state)  # read-only, full: said at once
        self.dataset = resolve_pipeline_dataset(cfg)
        self.ctx = StageContext(cfg, self.layout, self.launch, self.dataset,
                                device)
        self.signals = StageSignals(float(cfg.get('stop_grace', 60)))
        self.plan = StagePlan(self.layout, STAGE_TABLE, self.ctx.stage_inputs)
        self._fingerprints: Dict[str, tuple] = {}
        self._peak_rss_mb: Dict[str, float] = {}
        self._lock: Optional[WorkDirLock] = None

    # -------------------------------------------------------------- prepare
    def prepare(self, finished_ok: Sequence[str] = ()) -> Dict[str, str]:
        """Write the synthetic dataset of ``cfg.synthetic`` if missing, check
        the dataset description against the files and write the stage
        configs it describes (``<work_dir>/configs/<role>.py``).

        Args:
            finished_ok (Sequence[str]): Finished stages about to be redone
                (a changed description does not stop them).

        Returns:
            dict[str, str]: The config each stage runs (``cobra``, ``irn``,
            ``seg``).

        Raises:
            PipelineError: The description is wrong (names the file and the
                fix); nothing has run.
        """
        if self.cfg.get('data_root') and self.cfg.get('train_list'):
            prepare_synthetic_data(self.cfg, 'train_list', 'pipeline')
        if self.dataset is None:
            return self.ctx.configs
        from mmengine.config import Config
        try:
            counts = validate_description(self.dataset)
        except DescriptionError as exc:
            raise PipelineError(f'dataset description: {exc}') from None
        print(
            f'[pipeline] dataset: '
            f'{description_summary(self.dataset, counts)}',
            flush=True)
        self._check_same_dataset(finished_ok)
        for role in ('cobra', 'irn', 'seg'):
            src = self.cfg.get(f'{role}_config')
            if src is None:
                continue
            stage_cfg = Config.fromfile(src)
            apply_description(stage_cfg, self.dataset, role)
            self.ctx.configs[role] = save_config(stage_cfg,
                                                 self.layout.role_config(role))
        return self.ctx.configs

    def _prepared_configs(self) -> None:
        """A joining node: the stage configs node 0 wrote."""
        if self.dataset is None:
            return
        for role in ('cobra', 'irn', 'seg'):
            if self.cfg.get(f'{role}_config') is not None:
                self.ctx.configs[role] = self.layout.role_config(role)

    def _check_same_dataset(self, finished_ok: Sequence[str]) -> None:
        """Refuse a description that changed since stages were finished in
        this work dir (their outputs belong to the old one); record it
        otherwise (``.stages/dataset.json``)."""
        record = self.layout.dataset_record
        current = json.loads(json.dumps(self.dataset))  # tuples -> lists
        finished = [
            s for s in STAGES
            if osp.isfile(self.layout.record(s)) and s not in finished_ok
        ]
        if osp.isfile(record) and finished:
            with open(record) as f:
                before = json.load(f)
            changed = sorted(
                k for k in set(before) | set(current)
                if before.get(k) != current.get(k))
            if changed:
                raise PipelineError(
                    f'the dataset description changed since stages '
                    f'{", ".join(finished)} were run in {self.work_dir} '
                    f'(dataset.{", dataset.".join(changed)}; recorded in '
                    f'{record}): their outputs belong to the old dataset. '
                    'Use another --work-dir, or redo them with --rerun-from '
                    f'{finished[0]} (their records and outputs are moved '
                    'to superseded/ in the work dir)')
        dump_json(current, record)

    def check(self) -> Dict[str, str]:
        """``--check``: :meth:`prepare` under the work dir's lock (a live
        run's stage configs are not rewritten under it)."""
        lock = WorkDirLock(self.work_dir,
                           dict(token=JobRendezvous.new_token()))
        lock.acquire()
        try:
            return self.prepare()
        finally:
            lock.release()

    # ------------------------------------------------------------------ run
    def bad_images(self) -> Dict[str, list]:
        """Images the tools left out as bad files (``--skip-bad-images``)."""
        return self.ctx.bad_images()

    def run(self,
            stages: Sequence[str] = STAGES,
            rerun_from: Optional[str] = None,
            rerun_changed: bool = False) -> dict:
        """Run ``stages`` in order, skipping finished ones; write summary.

        Node 0 (or the only node) takes the work-dir lock, checks the
        dataset and that every finished or interrupted stage was made with
        the current settings (:mod:`.fingerprint`), records each stage and
        writes the summary; a joining node (``launch.node_rank > 0``) runs
        its part of every stage node 0 runs and returns ``{}``.

        Args:
            stages (Sequence[str]): The stages to run.
            rerun_from (str, optional): Redo this stage and every stage
                that reads its outputs (their records and outputs are moved
                to ``superseded/``).
            rerun_changed (bool): Redo every stage whose settings changed,
                and the stages that read its outputs; otherwise a changed
                stage stops the run, naming what changed.

        Raises:
            PipelineError: A stage failed.
            StaleStageError: A stage was made with other settings (and is
                not to be redone).
            PipelineInterrupted: SIGTERM/SIGINT (the stage was stopped).
        """
        with self.signals.installed():
            if not self.launch.drives:
                return self._join()
            rerun = downstream([rerun_from], STAGE_TABLE) if rerun_from \
                else []
            with self._driving(stages, rerun, rerun_changed):
                self._fingerprints = self.plan.check(stages, rerun,
                                                     rerun_changed)
                for stage in STAGE_TABLE:
                    if stage.name in stages and self._pending(stage.name):
                        self._check_lock()
                        self._run_stage(stage)
        return self.summary()

    def _pending(self, stage: str) -> bool:
        """Whether ``stage`` has to run (it has no record yet)."""
        if not osp.isfile(self.layout.record(stage)):
            return True
        print(f'[pipeline] {stage}: done before, skipped', flush=True)
        return False

    def _check_lock(self) -> None:
        """Stop before a stage if the work-dir lock is no longer ours
        (another driver took it over: two runs must not share outputs)."""
        if not self._lock.owned():
            holder = self._lock.holder(age=False) or {}
            raise PipelineError(
                f'the work-dir lock {self._lock.path} is no longer this '
                f'run\'s (now: host {holder.get("host")}, pid '
                f'{holder.get("pid")}); stopping before the next stage. '
                'Another pipeline took this work dir over (its file system '
                'clock or heartbeat failed: see the warnings above); let '
                'one run finish, then rerun the command')

    def _run_stage(self, stage: Stage) -> None:
        name = stage.name
        print(
            f'[pipeline] {name} (stage {STAGES.index(name) + 1} of '
            f'{len(STAGES)}): running (log: {self.layout.log(name)})',
            flush=True)
        start = time.time()
        if name in self._fingerprints:  # what it is made of, before output
            self.plan.inputs.write(name, *self._fingerprints[name])
        for command in stage.commands(self.ctx):
            self._execute(name, command)
        result = stage.record(self.ctx)
        fault_point(f'stage_done.{name}')  # kill-anywhere tests
        result['seconds'] = round(time.time() - start, 1)
        if name in self._peak_rss_mb:  # peak resident memory, one process
            result['peak_rss_mb'] = round(self._peak_rss_mb[name])
        dump_json(result, self.layout.record(name))
        outputs = describe_outputs(result)
        print(
            f'[pipeline] {name}: finished in {clock(result["seconds"])}'
            f'{": " + outputs if outputs else ""}',
            flush=True)

    def _execute(self, stage: str, command: Command) -> None:
        """Run one of a stage's commands (its own process group, stopped
        with the driver); its output goes to ``logs/<stage>.log``
        (``<stage>.node<R>.log`` on node R)."""
        log_path = self.layout.log(stage, self.launch.node_rank)
        check_writable(
            osp.dirname(log_path), float(self.cfg.get('min_free_mb', 100)))
        start = osp.getsize(log_path) if osp.isfile(log_path) else 0
        env = dict(
            os.environ,
            PYTHON=self.launch.python,
            **self.launch.env(),
            **command.env)
        if self.in_checkout:  # the checkout's package before an installed one
            env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
        with open(log_path, 'a') as log:
            log.write(f'\n$ {" ".join(command.argv)}\n')
            log.flush()
            with StageProgress(log_path, f'{self.ctx.tag} {stage}',
                               self.verbose):
                returncode, usage = self.signals.run(stage, command.argv,
                                                     self.cwd, env, log)
        self._peak_rss_mb[stage] = max(
            self._peak_rss_mb.get(stage, 0.0), usage.ru_maxrss / 1024)
        if returncode != 0:
            with open(log_path) as f:
                f.seek(start)  # this run's lines only
                tail = ''.join(f.readlines()[-15:]) or (
                    '(it wrote nothing to its log: is the disk full?)\n')
            # the watcher stops a stage when a peer reports; a stage whose
            # collective broke as the peer went can end before its next
            # poll, so look once more: both errors, ours with its tail
            peer = self._node_failure() if self.signals.peer_check else None
            raise PipelineError(
                f'stage {stage} failed (exit {returncode}); log: {log_path}'
                f'\n{tail}' + (f'\n{peer}' if peer else ''))

    def _multinode(self) -> bool:
        return self.launch.launcher == 'pytorch' and self.launch.nnodes > 1

    @contextlib.contextmanager
    def _driving(self, stages: Sequence[str], rerun: Sequence[str],
                 rerun_changed: bool) -> Iterator[None]:
        """Node 0: hold the work-dir lock, prepare the stage configs and,
        with several nodes, serve the job to the joining nodes."""
        launch = self.launch
        token = JobRendezvous.new_token()
        lock = WorkDirLock(
            self.work_dir,
            dict(
                token=token,
                launcher=launch.launcher,
                nnodes=launch.nnodes,
                master_addr=launch.master_addr,
                master_port=launch.master_port,
                slurm_job_id=os.environ.get('SLURM_JOB_ID')))
        self._lock = lock
        self.signals.on_group = lambda pgid: lock.update(stage_pgid=pgid)
        stale = lock.acquire()
        if stale:
            print(
                f'[pipeline] took over the lock of a stopped run (host '
                f'{stale.get("host")}, pid {stale.get("pid")}, started '
                f'{stale.get("started")}): resuming',
                flush=True)
        try:
            if self._multinode():
                self.rendezvous = JobRendezvous(
                    launch.master_addr, launch.master_port + 1, drives=True)
                self.signals.peer_check = self._node_failure
            print(f'[pipeline] {launch.describe()}', flush=True)
            # a changed description is for the fingerprints to judge when
            # every changed stage is to be redone
            self.prepare(STAGES if rerun_changed else rerun)
            if self.rendezvous:
                self.rendezvous.publish(dict(token=token, stages=list(stages)))
            yield
            if self.rendezvous:
                self.rendezvous.wait_finished(launch.nnodes)
        except BaseException as exc:
            if self.rendezvous:
                self.rendezvous.fail(f'{type(exc).__name__}: {exc}'[:2000],
                                     launch.nnodes)
            raise
        finally:
            lock.release()

    def _node_failure(self) -> Optional[str]:
        """Node 0, while a stage runs: a joining node's reported failure."""
        failed = self.rendezvous.node_failure(self.launch.nnodes)
        if failed is None:
            return None
        rank, message = failed
        return (f'node {rank} of this job stopped: {message}\n(its output '
                f'and {self.layout.logs}/<stage>.node{rank}.log say more)')

    def _join(self) -> dict:
        """A joining node: follow node 0's job stage by stage; a failure
        here is reported to node 0, which stops its stage at once."""
        launch = self.launch
        if not self._multinode():
            raise PipelineError(
                f'--node-rank {launch.node_rank}: joining a run needs '
                '--launcher pytorch and --nnodes > 1')
        self.rendezvous = JobRendezvous(
            launch.master_addr,
            launch.master_port + 1,
            drives=False,
            timeout=self.join_timeout,
            node_rank=launch.node_rank)
        try:
            return self._follow()
        except BaseException as exc:
            self.rendezvous.report_failure(f'{type(exc).__name__}: {exc}')
            raise

    def _follow(self) -> dict:
        """A joining node's part of every stage node 0 runs."""
        launch = self.launch
        job = self.rendezvous.job()
        lock = WorkDirLock(self.work_dir, {})
        check_shared_work_dir(lock, job['token'], launch.node_rank)
        print(
            f'[pipeline node {launch.node_rank}] joined the run of '
            f'{launch.master_addr} in {self.work_dir}',
            flush=True)
        self._prepared_configs()
        for stage in STAGE_TABLE:
            if stage.name not in job['stages'] or osp.isfile(
                    self.layout.record(stage.name)):
                continue
            print(
                f'{self.ctx.tag} {stage.name}: joining '
                f'(log: {self.layout.log(stage.name, launch.node_rank)})',
                flush=True)
            for command in stage.commands(self.ctx):
                self._execute(stage.name, command)
            wait_for_record(
                self.layout.record(stage.name), self.rendezvous, lock,
                60 * self.ctx.peer_timeout_min)
        self.rendezvous.finished(launch.node_rank)
        print(f'[pipeline node {launch.node_rank}] done', flush=True)
        return {}

    def summary(self) -> dict:
        """Collect every finished stage into ``summary.{json,md}``
        (:func:`.summary.write_summary`)."""
        return write_summary(self.work_dir, self.layout.state, STAGES,
                             self.bad_images())


__all__ = ['CoBraPipeline', 'STAGES']
