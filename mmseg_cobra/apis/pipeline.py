"""The whole CoBra pipeline as a sequence of tool invocations.

Each stage runs the same command a user would type (``tools/train.py``,
``tools/test.py``, ``tools/eval_seeds.py`` ...) in a subprocess, with the
paths between stages passed as ``--cfg-options``. A finished stage leaves
``<work_dir>/.stages/<stage>.json`` (its time and outputs) and is skipped on
the next run; an interrupted stage resumes (training from its last
checkpoint, seeds/IR labels/masks from the files already written).

How each command starts (one process, torchrun on every node, srun in a
Slurm allocation) is :class:`.launchers.StageLauncher`'s business; the
driving node holds the work dir's lock and the other nodes of a torchrun
job join it (:mod:`.work_dir_lock`).
"""
import contextlib
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, Iterator, List, Optional, Sequence

from ..utils.fault import fault_point
from ..utils.file_io import check_writable, dump_json, save_config
from ..utils.peer_watch import DEFAULT_TIMEOUT_MIN
from ..utils.peer_watch import ENV as PEER_TIMEOUT_ENV
from .dataset_description import (DescriptionError, apply_description,
                                  description_summary, validate_description)
from .launchers import StageLauncher
from .pipeline_config import (REPO, prepare_synthetic_data,
                              resolve_config_path, resolve_pipeline_dataset)
from .pipeline_stages import PipelineError, PipelineStages
from .pipeline_summary import write_summary
from .stage_fingerprint import STAGES, StageInputs, StagePlan, downstream
from .stage_process import StageSignals
from .stage_progress import StageProgress, clock, describe_outputs
from .tools import tool_path
from .work_dir_lock import (JobRendezvous, WorkDirLock, check_shared_work_dir,
                            wait_for_record)


class _Joined(Exception):
    """A joining node ran its part of a stage; node 0 records it."""


class CoBraPipeline(PipelineStages):
    """Run the stages of a pipeline config.

    Args:
        cfg (Config): Pipeline config: ``cobra_config``, ``irn_config``,
            ``seg_config``, and either ``dataset`` (one description every
            stage receives, see :mod:`.dataset_description`; checked
            before the first stage, written into each stage config under
            ``<work_dir>/configs/``) or ``data_root`` and ``train_list``
            (images that get seeds/masks; the stage configs' own datasets
            otherwise), optional per-stage ``cfg_options`` dicts
            (``classifier``,
            ``irn``, ``seg``), ``mask_value`` (``'swept'``, default: the
            final masks use the mask rule's value swept on ``eval_list`` by
            the mask evaluation, as the reference does; a number fixes it;
            ``None`` keeps the IRN config's), ``mask_eval_crf`` (score
            the CRF rows too), ``skip_bad_images`` (the tools leave
            images that fail the dataset check out instead of stopping;
            they are counted in the summary), and ``classifier_checkpoint``
            / ``irn_checkpoint`` (a trained model used instead of training
            that stage, e.g. the reference implementation's converted
            weights).
        work_dir (str): Root of every output (shared by every node).
        launch (StageLauncher, optional): How the stages start (one
            process, torchrun on each node, srun); default one process.
        join_timeout (float): Seconds a joining node waits for node 0.
        device (str): ``--device`` of every training and testing stage
            (``auto``, ``cuda``: refuse to run without a GPU, ``cpu``).
        verbose (bool): Stream every stage tool's output to the terminal
            (it always goes to ``<work_dir>/logs/``); otherwise one status
            line per stage shows its progress and ETA.
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
        self.device = device
        self.work_dir = osp.abspath(work_dir)
        self.launch = launch or StageLauncher(python=sys.executable)
        self.python = self.launch.python
        self.join_timeout = join_timeout
        self.rendezvous: Optional[JobRendezvous] = None
        # in a checkout the tools run from its root, as before (relative
        # data paths resolve there); installed, from the working directory
        self.in_checkout = osp.isfile(tool_path('train.py'))
        self.cwd = REPO if self.in_checkout else os.getcwd()
        self.dirs = dict(
            cobra=osp.join(self.work_dir, 'cobra'),
            seeds=osp.join(self.work_dir, 'seeds'),
            ir_labels=osp.join(self.work_dir, 'ir_labels'),
            irn=osp.join(self.work_dir, 'irn'),
            masks=osp.join(self.work_dir, 'masks'),
            walks=osp.join(self.work_dir, 'walks'),
            final_masks=osp.join(self.work_dir, 'final_masks'),
            seg=osp.join(self.work_dir, 'seg'),
            seg_eval=osp.join(self.work_dir, 'seg_eval'))
        self.state_dir = osp.join(self.work_dir, '.stages')
        check_writable(self.state_dir)  # read-only, full: said at once
        self.inputs = StageInputs(self.state_dir)
        # what run() was told to redo (see _check_fresh)
        self._rerun: set = set()
        self._rerun_changed = False
        self._plan: Dict[str, tuple] = {}
        self.signals = StageSignals(float(cfg.get('stop_grace', 60)))
        self._peak_rss_mb: Dict[str, float] = {}
        self.dataset = resolve_pipeline_dataset(cfg)
        # callers that run only some stages (tools/ablate.py) give only the
        # configs those need
        self.configs = {
            role: cfg.get(f'{role}_config')
            for role in ('cobra', 'irn', 'seg')
        }

    def prepare(self) -> Dict[str, str]:
        """Write the synthetic dataset of ``cfg.synthetic`` if missing, check
        the dataset description against the files and write the
        stage configs it describes (``<work_dir>/configs/<stage>.py``).

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
            return self.configs
        from mmengine.config import Config
        try:
            counts = validate_description(self.dataset)
        except DescriptionError as exc:
            raise PipelineError(f'dataset description: {exc}') from None
        print(
            f'[pipeline] dataset: '
            f'{description_summary(self.dataset, counts)}',
            flush=True)
        self._check_same_dataset()
        out_dir = osp.join(self.work_dir, 'configs')
        os.makedirs(out_dir, exist_ok=True)
        sources = {
            role: self.cfg.get(f'{role}_config')
            for role in ('cobra', 'irn', 'seg')
        }
        for role, src in sources.items():
            if src is None:
                continue
            stage_cfg = Config.fromfile(src)
            apply_description(stage_cfg, self.dataset, role)
            path = osp.join(out_dir, f'{role}.py')
            save_config(stage_cfg, path)
            self.configs[role] = path
        return self.configs

    def _prepared_configs(self) -> None:
        """A joining node: the stage configs node 0 wrote."""
        if self.dataset is None:
            return
        for role in ('cobra', 'irn', 'seg'):
            if self.cfg.get(f'{role}_config') is not None:
                self.configs[role] = osp.join(self.work_dir, 'configs',
                                              f'{role}.py')

    # ---------------------------------------------------------------- utils
    def _options(self, stage: str) -> Dict[str, object]:
        return dict(self.cfg.get('cfg_options', {}).get(stage, {}))

    @property
    def _tag(self) -> str:
        """What this node's terminal lines start with."""
        node = self.launch.node_rank
        return '[pipeline]' if node == 0 else f'[pipeline node {node}]'

    def _log_path(self, stage: str) -> str:
        node = self.launch.node_rank
        name = stage if node == 0 else f'{stage}.node{node}'
        return osp.join(self.work_dir, 'logs', f'{name}.log')

    def _run(self,
             stage: str,
             cmd: List[str],
             env: Optional[Dict[str, str]] = None) -> str:
        """Run a stage's command (from :attr:`launch`); its output goes to
        ``<work_dir>/logs/<stage>.log`` (``<stage>.node<R>.log`` on node
        R). On a joining node, raises :class:`_Joined` once it is done."""
        log_path = self._log_path(stage)
        check_writable(
            osp.dirname(log_path), float(self.cfg.get('min_free_mb', 100)))
        start = osp.getsize(log_path) if osp.isfile(log_path) else 0
        env = dict(
            os.environ, PYTHON=self.python, **self.launch.env(), **(env or {}))
        if self.in_checkout:  # the checkout's package before an installed one
            env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
        with open(log_path, 'a') as log:
            log.write(f'\n$ {" ".join(cmd)}\n')
            log.flush()
            with StageProgress(log_path, f'{self._tag} {stage}', self.verbose):
                # its own process group, stopped with the driver
                returncode, usage = self.signals.run(stage, cmd, self.cwd, env,
                                                     log)
        self._peak_rss_mb[stage] = max(
            self._peak_rss_mb.get(stage, 0.0), usage.ru_maxrss / 1024)
        if returncode != 0:
            with open(log_path) as f:
                f.seek(start)  # this run's lines only
                tail = ''.join(f.readlines()[-15:]) or (
                    '(it wrote nothing to its log: is the disk full?)\n')
            raise PipelineError(f'stage {stage} failed (exit '
                                f'{returncode}); log: {log_path}\n{tail}')
        if not self.launch.drives:
            raise _Joined(stage)
        with open(log_path) as f:
            return f.read()

    def _distributed(self, tool: str, args: List[str]) -> List[str]:
        if self.device != 'auto':  # train.py / test.py: say it to each
            args = list(args) + ['--device', self.device]
        return self.launch.distributed(tool_path(tool), args)

    def _run_cpu(self,
                 stage: str,
                 tool: str,
                 args: List[str],
                 pool: bool = True) -> str:
        """Run a per-image CPU stage: one rank per node, each with a pool of
        ``nproc_cpu`` processes (``pool``) on its share of the images."""
        nproc = int(self.cfg.get('nproc_cpu', 2)) if pool else None
        env = dict(self.launch.cpu_env())
        env[PEER_TIMEOUT_ENV] = str(self._peer_timeout_min)
        return self._run(stage, self.launch.cpu(tool_path(tool), args, nproc),
                         env)

    @property
    def _peer_timeout_min(self) -> float:
        """Minutes a rank or node waits for a silent peer
        (``peer_timeout_min``)."""
        return float(self.cfg.get('peer_timeout_min', DEFAULT_TIMEOUT_MIN))

    def _check_same_dataset(self) -> None:
        """Refuse a description that changed since stages were finished in
        this work dir (their outputs belong to the old one); record it
        otherwise (``.stages/dataset.json``)."""
        record = osp.join(self.state_dir, 'dataset.json')
        current = json.loads(json.dumps(self.dataset))  # tuples -> lists
        finished = [
            s for s in STAGES
            if osp.isfile(osp.join(self.state_dir, s +
                                   '.json')) and s not in self._rerun
        ]
        if osp.isfile(record) and finished and not self._rerun_changed:
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

    # ---------------------------------------------------------------- run
    def _done(self, stage: str) -> dict:
        path = osp.join(self.state_dir, stage + '.json')
        if not osp.isfile(path):
            raise PipelineError(f'stage {stage} has not finished yet')
        with open(path) as f:
            return json.load(f)

    def _pending(self, stage: str) -> bool:
        """Whether ``stage`` has to run (it has no record yet)."""
        if not osp.isfile(osp.join(self.state_dir, stage + '.json')):
            return True
        print(f'[pipeline] {stage}: done before, skipped', flush=True)
        return False

    def run(self,
            stages: Sequence[str] = STAGES,
            rerun_from: Optional[str] = None,
            rerun_changed: bool = False) -> dict:
        """Run ``stages`` in order, skipping finished ones; write summary.

        Node 0 (or the only node) takes the work-dir lock, checks the
        dataset and that every finished or interrupted stage was made with
        the current settings (:mod:`.stage_fingerprint`), records each
        stage and writes the summary; a joining node (``launch.node_rank >
        0``) runs its part of every stage node 0 runs and returns ``{}``.

        Args:
            stages (Sequence[str]): The stages to run.
            rerun_from (str, optional): Redo this stage and every stage
                that reads its outputs (their records and outputs are moved
                to ``superseded/``).
            rerun_changed (bool): Redo every stage whose settings changed,
                and the stages that read its outputs; otherwise a changed
                stage stops the run, naming what changed.

        Raises:
            PipelineError: A stage failed, or one was made with other
                settings (and is not to be redone).
        """
        with self.signals.installed():
            return self._drive(stages, rerun_from, rerun_changed)

    def _drive(self, stages: Sequence[str], rerun_from: Optional[str],
               rerun_changed: bool) -> dict:
        if not self.launch.drives:
            return self._join()
        if rerun_from is not None:
            self._rerun = set(downstream([rerun_from], STAGES))
        self._rerun_changed = rerun_changed
        with self._driving(stages):
            plan = StagePlan(self.work_dir, self.stage_inputs)
            self._plan = plan.check(stages, self._rerun, rerun_changed)
            for stage in STAGES:
                if stage in stages and self._pending(stage):
                    self._check_lock()
                    self._run_stage(stage)
        return self.summary()

    def _check_lock(self) -> None:
        """Stop before a stage if the work-dir lock is no longer ours
        (another driver took it over: two runs must not share outputs)."""
        if not self._lock.owned():
            holder = self._lock.holder() or {}
            raise PipelineError(
                f'the work-dir lock {self._lock.path} is no longer this '
                f'run\'s (now: host {holder.get("host")}, pid '
                f'{holder.get("pid")}); stopping before the next stage. '
                'Another pipeline took this work dir over (its file system '
                'clock or heartbeat failed: see the warnings above); let '
                'one run finish, then rerun the command')

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

    def _run_stage(self, stage: str) -> None:
        state = osp.join(self.state_dir, stage + '.json')
        print(
            f'[pipeline] {stage} (stage {STAGES.index(stage) + 1} of '
            f'{len(STAGES)}): running (log: {self._log_path(stage)})',
            flush=True)
        start = time.time()
        if stage in self._plan:  # what it is made from, before any output
            self.inputs.write(stage, *self._plan[stage])
        result = getattr(self, stage)()
        fault_point(f'stage_done.{stage}')  # kill-anywhere tests
        result['seconds'] = round(time.time() - start, 1)
        if stage in self._peak_rss_mb:  # peak resident memory, one process
            result['peak_rss_mb'] = round(self._peak_rss_mb[stage])
        dump_json(result, state)
        outputs = describe_outputs(result)
        print(
            f'[pipeline] {stage}: finished in {clock(result["seconds"])}'
            f'{": " + outputs if outputs else ""}',
            flush=True)

    def _multinode(self) -> bool:
        return self.launch.launcher == 'pytorch' and self.launch.nnodes > 1

    @contextlib.contextmanager
    def _driving(self, stages: Sequence[str]) -> Iterator[None]:
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
            print(f'[pipeline] {launch.describe()}', flush=True)
            self.prepare()
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

    def _join(self) -> dict:
        """A joining node: follow node 0's job stage by stage."""
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
        job = self.rendezvous.job()
        lock = WorkDirLock(self.work_dir, {})
        check_shared_work_dir(lock, job['token'], launch.node_rank)
        print(
            f'[pipeline node {launch.node_rank}] joined the run of '
            f'{launch.master_addr} in {self.work_dir}',
            flush=True)
        self._prepared_configs()
        for stage in STAGES:
            if stage not in job['stages']:
                continue
            state = osp.join(self.state_dir, stage + '.json')
            if not osp.isfile(state):
                print(
                    f'{self._tag} {stage}: joining '
                    f'(log: {self._log_path(stage)})',
                    flush=True)
                try:
                    getattr(self, stage)()
                except _Joined:
                    pass
                wait_for_record(state, self.rendezvous, lock,
                                60 * self._peer_timeout_min)
        self.rendezvous.finished(launch.node_rank)
        print(f'[pipeline node {launch.node_rank}] done', flush=True)
        return {}

    def summary(self) -> dict:
        """Collect every finished stage into ``summary.{json,md}``
        (:func:`.pipeline_summary.write_summary`)."""
        return write_summary(self.work_dir, self.state_dir, STAGES,
                             self.bad_images())


__all__ = [
    'CoBraPipeline', 'PipelineError', 'STAGES', 'prepare_synthetic_data',
    'resolve_config_path', 'resolve_pipeline_dataset'
]
