"""The whole CoBra pipeline as a sequence of tool invocations.

Each stage runs the same command a user would type (``tools/train.py``,
``tools/test.py``, ``tools/eval_seeds.py`` ...) in a subprocess, with the
paths between stages passed as ``--cfg-options``. A finished stage leaves
``<work_dir>/.stages/<stage>.json`` (its time and outputs) and is skipped on
the next run; an interrupted stage resumes (training from its last
checkpoint, seeds/IR labels/masks from the files already written).
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

from ..datasets.image_level_dataset import load_id_list
from ..utils.fault import fault_point
from ..utils.file_io import atomic_write, dump_json, write_text
from ..utils.records import RecordNotFoundError, load_test_metrics
from .dataset_description import (DescriptionError, apply_description,
                                  description_summary, normalise_description,
                                  validate_description)
from .mask_report import ROW_LABELS, RULE_VALUE
from .tools import tool_path

STAGES = ('classifier', 'seeds', 'seed_eval', 'ir_labels', 'irn', 'masks',
          'mask_eval', 'final_masks', 'seg', 'seg_eval')
#: what each stage's record must hold; a record without it was written by
#: an older version of the pipeline and the stage runs again (its tool
#: finds its outputs and only redoes what the record lacks)
RECORD_KEYS = dict(
    classifier=('checkpoint', ),
    seed_eval=('seed_fuse', 'seed_fuse_threshold'),
    mask_eval=('mask_miou', 'chosen', 'rows', 'boundary_F'),
    final_masks=('mask_dir', ),
    seg_eval=('seg_miou', ))
#: where the package's source tree is: the checkout (tools run there, as
#: before) or, installed, the directory above the package
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class PipelineError(RuntimeError):
    """A stage failed; the message names it and its log."""


def resolve_config_path(path: str) -> str:
    """A config path as given (relative to the working directory), else
    relative to the checkout, else one of the package's configs
    (``configs/<rel>``, ``mmseg_cobra::<rel>`` or ``<rel>``)."""
    if osp.exists(path):
        return osp.abspath(path)
    if osp.exists(osp.join(REPO, path)):
        return osp.abspath(osp.join(REPO, path))
    from ..configs import config_root
    rel = path.split('::', 1)[1] if '::' in path else path
    rel = rel[len('configs/'):] if rel.startswith('configs/') else rel
    shipped = osp.join(config_root(), rel)
    return osp.abspath(shipped if osp.exists(shipped) else path)


def prepare_synthetic_data(cfg, list_key: str, tag: str) -> None:
    """Write the synthetic dataset of ``cfg.synthetic`` into
    ``cfg.data_root`` unless ``cfg[list_key]`` is already there."""
    syn = cfg.get('synthetic')
    if not syn or osp.isfile(osp.join(cfg.data_root, cfg[list_key])):
        return
    from ..datasets import generate_synthetic_voc
    print(f'[{tag}] writing the synthetic dataset to {cfg.data_root}')
    generate_synthetic_voc(cfg.data_root, syn.num_train, syn.num_val,
                           syn.num_classes, tuple(syn.size), syn.seed)


def _opts(d: Dict[str, object], prefix: str = '') -> List[str]:
    """``--cfg-options`` arguments from a (possibly nested) dict."""
    out = []
    for k, v in d.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            out += _opts(v, key + '.')
            continue
        if isinstance(v, (list, tuple)):
            v = '[' + ','.join(str(x) for x in v) + ']'
        out.append(f'{key}={v}')
    return out


def resolve_pipeline_dataset(cfg) -> Optional[dict]:
    """Normalise the pipeline config's ``dataset`` description (if any) and
    set ``cfg.data_root`` / ``cfg.train_list`` from it; return it."""
    if not cfg.get('dataset'):
        return None
    desc = normalise_description(cfg.dataset)
    desc['data_root'] = osp.abspath(desc['data_root'])
    for key, value in (('data_root', desc['data_root']),
                       ('train_list', desc['train']['ann_file'])):
        given = cfg.get(key)
        if key == 'data_root' and given:
            given = osp.abspath(given)
        if given and given != value:
            raise DescriptionError(
                f'the pipeline config sets both dataset and {key}={given}: '
                'keep the dataset description only (dataset.data_root, '
                'dataset.train.ann_file)')
    cfg.data_root = desc['data_root']
    cfg.train_list = desc['train']['ann_file']
    return desc


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
        work_dir (str): Root of every output.
        launcher (str): ``none`` or ``pytorch`` (then ``nproc`` processes
            through ``tools/dist_train.sh`` / ``dist_test.sh``).
        nproc (int): Processes per distributed stage.
        python (str): Interpreter for the tools.
    """

    def __init__(self,
                 cfg,
                 work_dir: str,
                 launcher: str = 'none',
                 nproc: int = 1,
                 python: Optional[str] = None) -> None:
        self.cfg = cfg
        self.work_dir = osp.abspath(work_dir)
        self.launcher = launcher
        self.nproc = nproc
        self.python = python or sys.executable
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
        os.makedirs(self.state_dir, exist_ok=True)
        self._peak_rss_mb: Dict[str, float] = {}
        self.dataset = resolve_pipeline_dataset(cfg)
        # callers that run only some stages (tools/ablate.py) give only the
        # configs those need
        self.configs = {
            role: cfg.get(f'{role}_config')
            for role in ('cobra', 'irn', 'seg')
        }

    def prepare(self) -> Dict[str, str]:
        """Check the dataset description against the files and write the
        stage configs it describes (``<work_dir>/configs/<stage>.py``).

        Returns:
            dict[str, str]: The config each stage runs (``cobra``, ``irn``,
            ``seg``).

        Raises:
            PipelineError: The description is wrong (names the file and the
                fix); nothing has run.
        """
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
            with atomic_write(path) as tmp:
                stage_cfg.dump(tmp)
            self.configs[role] = path
        return self.configs

    # ---------------------------------------------------------------- utils
    def _options(self, stage: str) -> Dict[str, object]:
        return dict(self.cfg.get('cfg_options', {}).get(stage, {}))

    def _run(self,
             stage: str,
             args: List[str],
             dist: Optional[str] = None) -> str:
        """Run a tool; its output goes to ``<work_dir>/logs/<stage>.log``."""
        os.makedirs(osp.join(self.work_dir, 'logs'), exist_ok=True)
        log_path = osp.join(self.work_dir, 'logs', f'{stage}.log')
        if dist and self.launcher == 'pytorch':
            cmd = ['bash', tool_path(dist), args[0]]
            cmd += [args[1]] if dist == 'dist_test.sh' else []
            cmd += [str(self.nproc)]
            cmd += args[2:] if dist == 'dist_test.sh' else args[1:]
        else:
            tool = {
                'dist_train.sh': 'train.py',
                'dist_test.sh': 'test.py'
            }.get(dist)
            cmd = [self.python, tool_path(tool)] + args \
                if tool else [self.python] + args
        env = dict(os.environ, PYTHON=self.python)
        if self.in_checkout:  # the checkout's package before an installed one
            env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
        with open(log_path, 'a') as log:
            log.write(f'\n$ {" ".join(cmd)}\n')
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT)
            # wait4: this tool's own peak memory (and its waited children's)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        self._peak_rss_mb[stage] = max(
            self._peak_rss_mb.get(stage, 0.0), usage.ru_maxrss / 1024)
        if proc.returncode != 0:
            with open(log_path) as f:
                tail = ''.join(f.readlines()[-15:])
            raise PipelineError(f'stage {stage} failed (exit '
                                f'{proc.returncode}); log: {log_path}\n{tail}')
        with open(log_path) as f:
            return f.read()

    def _check_same_dataset(self) -> None:
        """Refuse a description that changed since stages were finished in
        this work dir (their outputs belong to the old one); record it
        otherwise (``.stages/dataset.json``)."""
        record = osp.join(self.state_dir, 'dataset.json')
        current = json.loads(json.dumps(self.dataset))  # tuples -> lists
        finished = [
            s for s in STAGES
            if osp.isfile(osp.join(self.state_dir, s + '.json'))
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
                    'Use another --work-dir, or delete the stage records '
                    'under .stages/ (and their outputs) to redo them')
        dump_json(current, record)

    def _train_split_options(self) -> Dict[str, str]:
        """Point a test dataset (the eval split) at the train split's masks
        (the eval split shares its images)."""
        if self.dataset is None:
            return {}
        return {
            'test_dataloader.dataset.data_prefix.seg_map_path':
            self.dataset['train']['mask_dir']
        }

    def _ids(self, list_key: str) -> List[str]:
        return load_id_list(osp.join(self.cfg.data_root, self.cfg[list_key]))

    def _allow_skipped(self) -> List[str]:
        """``--allow-skipped`` for the label writers when bad images are
        left out on purpose (their inputs do not exist); the stage then
        checks itself that every other image has its output."""
        return ['--allow-skipped'] if self.cfg.get('skip_bad_images') \
            else []

    def _check_flags(self) -> List[str]:
        """``--skip-bad-images`` for train.py/test.py when the pipeline
        config says ``skip_bad_images=True``."""
        return ['--skip-bad-images'] if self.cfg.get('skip_bad_images') \
            else []

    def bad_images(self) -> Dict[str, List[str]]:
        """Images the tools left out as bad files (``--skip-bad-images``):
        ``{list file (relative to work_dir): ids}``."""
        import glob
        found = {}
        for path in sorted(
                glob.glob(osp.join(self.work_dir, '*', 'bad_images_*.txt'))):
            found[osp.relpath(path, self.work_dir)] = load_id_list(path)
        return found

    def _complete(self, directory: str, suffix: str, list_key: str) -> bool:
        bad = {i for ids in self.bad_images().values() for i in ids}
        return all(
            osp.isfile(osp.join(directory, i + suffix))
            for i in self._ids(list_key) if i not in bad)

    @staticmethod
    def _last_checkpoint(work_dir: str) -> Optional[str]:
        path = osp.join(work_dir, 'last_checkpoint')
        if osp.isfile(path):
            with open(path) as f:
                ckpt = f.read().strip()
            if osp.isfile(ckpt):
                return ckpt
        return None

    def _train(self, stage: str, config: str, work_dir: str,
               options: Dict[str, object]) -> str:
        args = [config, '--work-dir', work_dir, *self._check_flags()]
        if self._last_checkpoint(work_dir):
            args.append('--resume')
        args += ['--cfg-options'] + _opts(options)
        self._run(stage, args, dist='dist_train.sh')
        ckpt = self._last_checkpoint(work_dir)
        if ckpt is None:
            raise PipelineError(f'stage {stage}: no checkpoint in {work_dir}')
        return ckpt

    # --------------------------------------------------------------- stages
    def _given_checkpoint(self, stage: str) -> Optional[dict]:
        """``<stage>_checkpoint`` of the pipeline config: a trained model
        (e.g. the reference implementation's, converted) used instead of
        training the stage."""
        given = self.cfg.get(f'{stage}_checkpoint')
        if not given:
            return None
        if not osp.isfile(given):
            raise PipelineError(
                f'{stage}_checkpoint {given} does not exist: give the '
                'converted checkpoint (tools/model_converters/'
                'reference_to_mmseg_cobra.py) or remove the key to train')
        print(f'[pipeline] {stage}: not trained, using {given}', flush=True)
        return dict(checkpoint=osp.abspath(given), given=True)

    def classifier(self) -> dict:
        given = self._given_checkpoint('classifier')
        if given:
            return given
        opts = self._options('classifier')
        opts['train_dataloader.dataset.data_root'] = self.cfg.data_root
        ckpt = self._train('classifier', self.configs['cobra'],
                           self.dirs['cobra'], opts)
        return dict(checkpoint=ckpt)

    def seeds(self) -> dict:
        ckpt = self._done('classifier')['checkpoint']
        opts = self._options('seeds')
        opts.update({
            'test_dataloader.dataset.data_root': self.cfg.data_root,
            'test_dataloader.dataset.ann_file': self.cfg.train_list,
            'custom_hooks.SeedWriterHook.out_dir': self.dirs['seeds'],
        })
        opts.update(self._train_split_options())
        self._run(
            'seeds',
            [
                self.configs['cobra'], ckpt, '--work-dir', self.dirs['cobra'],
                *self._check_flags(), '--cfg-options'
            ] + _opts(opts),
            dist='dist_test.sh')
        if not self._complete(self.dirs['seeds'], '.npz', 'train_list'):
            raise PipelineError('stage seeds: some seeds are missing')
        return dict(seed_dir=self.dirs['seeds'])

    def seed_eval(self) -> dict:
        out = osp.join(self.work_dir, 'seed_eval.json')
        self._run('seed_eval', [
            tool_path('eval_seeds.py'), self.configs['cobra'],
            self.dirs['seeds'], '--data-root', self.cfg.data_root, '--out',
            out, *self.cfg.get('seed_eval_args', [])
        ])
        with open(out) as f:
            report = json.load(f)
        return {
            f'seed_{source}': report[f'{source}/fixed']['mIoU']
            for source in ('cnn', 'vit', 'mean', 'max', 'fuse')
        } | dict(seed_fuse_threshold=report['fuse/fixed']['threshold'])

    def _irn_options(self) -> Dict[str, object]:
        opts = self._options('irn')
        opts.update({
            'ir_label_dataset.data_root':
            self.cfg.data_root,
            'ir_label_dataset.ann_file':
            self.cfg.train_list,
            'ir_label_cfg.seed_dir':
            self.dirs['seeds'],
            'ir_label_cfg.out_dir':
            self.dirs['ir_labels'],
            'train_dataloader.dataset.data_root':
            self.cfg.data_root,
            'train_dataloader.dataset.ann_file':
            self.cfg.train_list,
            'train_dataloader.dataset.data_prefix.seg_map_path':
            self.dirs['ir_labels'],
            'test_dataloader.dataset.data_root':
            self.cfg.data_root,
            'test_dataloader.dataset.seed_dir':
            self.dirs['seeds'],
        })
        return opts

    def ir_labels(self) -> dict:
        self._run('ir_labels', [
            tool_path('make_ir_labels.py'), self.configs['irn'], '--nproc',
            str(self.cfg.get('nproc_cpu', 2)), *self._allow_skipped(),
            '--cfg-options'
        ] + _opts(self._irn_options()))
        return dict(ir_label_dir=self.dirs['ir_labels'])

    def irn(self) -> dict:
        given = self._given_checkpoint('irn')
        if given:
            return given
        ckpt = self._train('irn', self.configs['irn'], self.dirs['irn'],
                           self._irn_options())
        return dict(checkpoint=ckpt)

    def masks(self) -> dict:
        opts = self._irn_options()
        opts.update({
            'test_dataloader.dataset.ann_file': self.cfg.train_list,
            'custom_hooks.MaskWriterHook.out_dir': self.dirs['masks'],
            'custom_hooks.WalkWriterHook.out_dir': self.dirs['walks'],
        })
        opts.update(self._train_split_options())
        self._run(
            'masks',
            [
                self.configs['irn'],
                self._done('irn')['checkpoint'], '--work-dir',
                self.dirs['irn'], *self._check_flags(), '--cfg-options'
            ] + _opts(opts),
            dist='dist_test.sh')
        if not self._complete(self.dirs['masks'], '.png', 'train_list'):
            raise PipelineError('stage masks: some masks are missing')
        return dict(mask_dir=self.dirs['masks'], walk_dir=self.dirs['walks'])

    def mask_eval(self) -> dict:
        out = osp.join(self.work_dir, 'mask_eval.json')
        self._run('mask_eval', [
            tool_path('mask_report.py'), self.configs['irn'], '--data-root',
            self.cfg.data_root, '--seeds', self.dirs['seeds'], '--walks',
            self.dirs['walks'], '--oracle',
            *(['--crf'] if self.cfg.get('mask_eval_crf', False) else []),
            '--masks', f'mask={self.dirs["masks"]}', '--out', out
        ])
        with open(out) as f:
            report = json.load(f)
        rows = {
            row: {
                k: r[k]
                for k in ('rule', 'best', 'mIoU', 'default', 'at_default')
            }
            for row, r in report['rows'].items()
        }
        return dict(
            mask_miou=report['masks']['mask']['mIoU'],
            chosen=report['chosen'],
            rows=rows,
            boundary_F=report['boundary']['F'])

    def final_masks(self) -> dict:
        """Masks of ``train_list`` with the mask rule's chosen value."""
        value = self.cfg.get('mask_value', 'swept')
        if value is None:
            return dict(mask_dir=self.dirs['masks'], value='config')
        chosen = self._done('mask_eval')['chosen']
        if value == 'swept':
            value = chosen['value']
        self._run('final_masks', [
            tool_path('masks_from_walks.py'), self.configs['irn'],
            self.dirs['walks'], self.dirs['final_masks'],
            *self._allow_skipped(), '--data-root', self.cfg.data_root,
            '--ann-file', self.cfg.train_list, '--rule', chosen['rule'],
            '--value',
            str(value), '--nproc',
            str(self.cfg.get('nproc_cpu', 2))
        ])
        if not self._complete(self.dirs['final_masks'], '.png', 'train_list'):
            raise PipelineError('stage final_masks: some masks are missing')
        return dict(
            mask_dir=self.dirs['final_masks'],
            rule=chosen['rule'],
            value=value)

    def seg(self) -> dict:
        opts = self._options('seg')
        opts.update({
            'train_dataloader.dataset.data_root':
            self.cfg.data_root,
            'train_dataloader.dataset.ann_file':
            self.cfg.train_list,
            'train_dataloader.dataset.data_prefix.seg_map_path':
            self._done('final_masks')['mask_dir'],
            'val_dataloader.dataset.data_root':
            self.cfg.data_root,
            'test_dataloader.dataset.data_root':
            self.cfg.data_root,
        })
        ckpt = self._train('seg', self.configs['seg'], self.dirs['seg'], opts)
        return dict(checkpoint=ckpt)

    def seg_eval(self) -> dict:
        opts = {
            'val_dataloader.dataset.data_root': self.cfg.data_root,
            'test_dataloader.dataset.data_root': self.cfg.data_root,
        }
        self._run(
            'seg_eval',
            [
                self.configs['seg'],
                self._done('seg')['checkpoint'], '--work-dir',
                self.dirs['seg_eval'], *self.cfg.get('seg_test_flags', []),
                *self._check_flags(), '--cfg-options'
            ] + _opts(opts),
            dist='dist_test.sh')
        try:  # what mmengine's LoggerHook recorded for this test run
            metrics = load_test_metrics(self.dirs['seg_eval'], 'mIoU')
        except RecordNotFoundError as exc:
            raise PipelineError(f'stage seg_eval: {exc}') from None
        return dict(
            seg_miou=float(metrics['mIoU']),
            seg_aacc=metrics.get('aAcc'),
            seg_macc=metrics.get('mAcc'))

    # ---------------------------------------------------------------- run
    def _done(self, stage: str) -> dict:
        path = osp.join(self.state_dir, stage + '.json')
        if not osp.isfile(path):
            raise PipelineError(f'stage {stage} has not finished yet')
        with open(path) as f:
            return json.load(f)

    def _outdated(self, stage: str) -> List[str]:
        """The keys of :data:`RECORD_KEYS` a finished stage's record lacks."""
        record = self._done(stage)
        return [k for k in RECORD_KEYS.get(stage, ()) if k not in record]

    def run(self, stages=STAGES) -> dict:
        """Run ``stages`` in order, skipping finished ones; write summary."""
        self.prepare()
        for stage in STAGES:
            if stage not in stages:
                continue
            state = osp.join(self.state_dir, stage + '.json')
            if osp.isfile(state):
                missing = self._outdated(stage)
                if not missing:
                    print(
                        f'[pipeline] {stage}: done before, skipped',
                        flush=True)
                    continue
                print(
                    f'[pipeline] {stage}: its record {state} was written by '
                    f'an older version (no {", ".join(missing)}): running '
                    'it again',
                    flush=True)
            print(
                f'[pipeline] {stage}: running (log: '
                f'{osp.join(self.work_dir, "logs", stage + ".log")})',
                flush=True)
            start = time.time()
            result = getattr(self, stage)()
            fault_point(f'stage_done.{stage}')  # kill-anywhere tests
            result['seconds'] = round(time.time() - start, 1)
            if stage in self._peak_rss_mb:  # peak resident memory, one process
                result['peak_rss_mb'] = round(self._peak_rss_mb[stage])
            dump_json(result, state)
            print(
                f'[pipeline] {stage}: finished in {result["seconds"]} s',
                flush=True)
        return self.summary()

    def summary(self) -> dict:
        """Collect every finished stage into ``summary.{json,md}``."""
        results = {}
        for stage in STAGES:
            path = osp.join(self.state_dir, stage + '.json')
            if osp.isfile(path):
                with open(path) as f:
                    results[stage] = json.load(f)
        rows = []
        seed = results.get('seed_eval', {})
        for source in ('cnn', 'vit', 'mean', 'max', 'fuse'):
            if f'seed_{source}' in seed:
                rows.append((f'seed mIoU ({source})', seed[f'seed_{source}']))
        if 'mask_eval' in results:
            # equal footing: every row swept the same way on the same images
            ev = results['mask_eval']
            scored = ev.get('rows', {})  # none in an older version's record
            for row, label in ROW_LABELS.items():
                r = scored.get(row)
                if r is None or row.startswith('seed_') and row != \
                        'seed_fuse':
                    continue
                rows.append((f'{label}, swept ({RULE_VALUE[r["rule"]]} '
                             f'{r["best"]:.2f})', r['mIoU']))
            for row in ('seed_fuse', 'walk_irn'):
                if row in scored:
                    rows.append((f'{ROW_LABELS[row]}, bg 0.25 (IRN default)',
                                 scored[row]['at_default']))
            rows.append(('mask mIoU (IRN config defaults)', ev['mask_miou']))
        if 'seg_eval' in results:
            rows.append(('segmentation mIoU', results['seg_eval']['seg_miou']))
        lines = ['| result | mIoU (%) |', '| --- | --- |']
        lines += [f'| {name} | {value:.2f} |' for name, value in rows]
        bad = self.bad_images()
        if bad:
            results['bad_images'] = {k: len(v) for k, v in bad.items()}
            n = len({i for ids in bad.values() for i in ids})
            lines += [
                '', f'{n} image(s) left out as bad files '
                '(skip_bad_images): ' + ', '.join(f'{k} ({len(v)})'
                                                  for k, v in bad.items())
            ]
        lines += [
            '', '| stage | seconds | peak memory (MiB, one process) |',
            '| --- | --- | --- |'
        ]
        lines += [
            f'| {s} | {r["seconds"]} | {r.get("peak_rss_mb", "-")} |'
            for s, r in results.items() if s in STAGES
        ]
        text = '\n'.join(lines) + '\n'
        write_text(text, osp.join(self.work_dir, 'summary.md'))
        dump_json(results, osp.join(self.work_dir, 'summary.json'))
        print(text)
        return results


__all__ = [
    'CoBraPipeline', 'PipelineError', 'STAGES', 'prepare_synthetic_data',
    'resolve_config_path', 'resolve_pipeline_dataset'
]
