"""The stages of :class:`~.pipeline.CoBraPipeline`: what each one runs and
what it records.

Each stage method runs the command a user would type for it (through the
pipeline's ``_run``/``_run_cpu``/``_distributed``, which start it on every
node and follow its log) and returns the stage's record (its outputs and
scores), which the pipeline writes to ``<work_dir>/.stages/<stage>.json``.
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from ..datasets.image_level_dataset import load_id_list
from ..utils.config import merge_cfg_options
from ..utils.errors import UserError
from ..utils.file_io import save_config
from ..utils.records import RecordNotFoundError, load_test_metrics
from .launchers import LaunchError, split_total_batch
from .pipeline_config import flat_options
from .stage_fingerprint import WORK_DIR_MARK, flatten


class PipelineError(UserError, RuntimeError):
    """A stage failed; the message names it and its log."""


#: What each stage is made from besides the outputs of the stages it
#: reads (:data:`.stage_fingerprint.STAGE_NEEDS`): the stage config it runs
#: (``cobra``, ``irn``, ``seg``), the ``cfg_options`` entry of the pipeline
#: config merged into it (None: none), and the pipeline config keys it
#: reads (dotted for nested ones).
STAGE_RECIPES = dict(
    classifier=('cobra', 'classifier', ('classifier_checkpoint',
                                        'total_batch_size.classifier')),
    seeds=('cobra', 'seeds', ()),
    seed_eval=('cobra', None, ('seed_eval_args', )),
    ir_labels=('irn', 'irn', ()),
    irn=('irn', 'irn', ('irn_checkpoint', 'total_batch_size.irn')),
    masks=('irn', 'irn', ()),
    mask_eval=('irn', None, ('mask_eval_crf', )),
    final_masks=('irn', None, ('mask_value', )),
    seg=('seg', 'seg', ('total_batch_size.seg', )),
    seg_eval=('seg', None, ('seg_test_flags', )))
#: Pipeline config keys every stage reads.
COMMON_KEYS = ('data_root', 'train_list', 'skip_bad_images')


class PipelineStages:
    """The ten stages, mixed into :class:`~.pipeline.CoBraPipeline` (which
    provides the configs, folders, launcher and the ``_run`` helpers).

    Stage order: :meth:`classifier`, :meth:`seeds`, :meth:`seed_eval`,
    :meth:`ir_labels`, :meth:`irn`, :meth:`masks`, :meth:`mask_eval`,
    :meth:`final_masks`, :meth:`seg`, :meth:`seg_eval`; each returns its
    record (``dict``).
    """

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
        options = self._batch_options(stage, config, options)
        args = [
            self._stage_config(stage, config, options), '--work-dir', work_dir,
            *self._check_flags()
        ]
        if self._last_checkpoint(work_dir):
            args.append('--resume')
        self._run(stage, self._distributed('train.py', args))
        ckpt = self._last_checkpoint(work_dir)
        if ckpt is None:
            raise PipelineError(f'stage {stage}: no checkpoint in {work_dir}')
        return ckpt

    def _batch_options(self, stage: str, config: str,
                       options: Dict[str, object]) -> Dict[str, object]:
        """A training stage's options with its per-process batch
        (:func:`.launchers.split_total_batch`); prints what it uses."""
        from mmengine.config import Config
        try:
            options, line = split_total_batch(
                Config.fromfile(config), flat_options(options),
                self.launch.world_size,
                self.cfg.get('total_batch_size', {}).get(stage))
        except LaunchError as exc:
            raise PipelineError(f'stage {stage}: {exc}') from None
        print(f'{self._tag} {stage}: {line}', flush=True)
        return options

    def _stage_config(self, stage: str, config: str,
                      options: Dict[str, object]) -> str:
        """Write ``config`` with ``options`` merged in (dotted keys, hook
        options by type) to ``<work_dir>/configs/stages/<stage>.py`` and
        return its path: the stage tools get every path in a file, never
        through ``--cfg-options`` (whose parser splits values at commas
        and drops spaces)."""
        from mmengine.config import Config
        cfg = Config.fromfile(config)
        merge_cfg_options(cfg, flat_options(options))
        return save_config(
            cfg, osp.join(self.work_dir, 'configs', 'stages', f'{stage}.py'))

    def _role_dict(self, role: str) -> dict:
        """The stage config of ``role`` as a plain dict (read once)."""
        cache = self.__dict__.setdefault('_role_dicts', {})
        if role not in cache:
            from mmengine.config import Config
            cache[role] = Config.fromfile(self.configs[role]).to_dict()
        return copy.deepcopy(cache[role])

    def _pipeline_value(self, key: str) -> object:
        """A pipeline config key (dotted: nested) as a stage reads it; a
        given checkpoint with its size and time, so a replaced file
        counts as a change."""
        value = self.cfg
        for part in key.split('.'):
            value = value.get(part) if hasattr(value, 'get') else None
        if hasattr(value, 'to_dict'):
            value = value.to_dict()
        if key.endswith('_checkpoint') and value and osp.isfile(value):
            stat = os.stat(value)
            value = dict(
                path=osp.abspath(value),
                bytes=stat.st_size,
                mtime=int(stat.st_mtime))
        return value

    def stage_inputs(self, stage: str) -> Dict[str, str]:
        """What ``stage`` is made from (see :data:`STAGE_RECIPES`),
        flattened to ``{dotted key: json value}``, the work dir written as
        ``{work_dir}`` (a moved work dir keeps its fingerprints)."""
        from mmengine.config import Config
        role, option_key, keys = STAGE_RECIPES[stage]
        cfg = Config(self._role_dict(role))
        if option_key:
            merge_cfg_options(cfg, flat_options(self._options(option_key)))
        pipeline = {k: self._pipeline_value(k) for k in COMMON_KEYS + keys}
        pipeline['dataset'] = self.dataset
        # the stage config's name (its content is in config.*)
        source = self.cfg.get(f'{role}_config')
        pipeline[f'{role}_config'] = osp.basename(source) if source else None
        inputs = flatten(dict(config=cfg.to_dict(), pipeline=pipeline))
        return {
            k: v.replace(self.work_dir, WORK_DIR_MARK)
            for k, v in inputs.items()
        }

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

    def _check_flags(self) -> List[str]:
        """``--skip-bad-images`` for every stage tool when the pipeline
        config says ``skip_bad_images=True``: train.py/test.py leave out
        the images their dataset check finds bad, the label writers succeed
        when the others are written (the stage then checks itself that
        every other image has its output)."""
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
        print(f'{self._tag} {stage}: not trained, using {given}', flush=True)
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
            self._distributed('test.py', [
                self._stage_config('seeds', self.configs['cobra'], opts), ckpt,
                '--work-dir', self.dirs['cobra'], *self._check_flags()
            ]))
        if not self._complete(self.dirs['seeds'], '.npz', 'train_list'):
            raise PipelineError('stage seeds: some seeds are missing')
        return dict(seed_dir=self.dirs['seeds'])

    def seed_eval(self) -> dict:
        out = osp.join(self.work_dir, 'seed_eval.json')
        self._run_cpu(
            'seed_eval',
            'eval_seeds.py', [
                self.configs['cobra'], '--seed-dir', self.dirs['seeds'],
                '--data-root', self.cfg.data_root, '--out', out,
                *self.cfg.get('seed_eval_args', [])
            ],
            pool=False)
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
        self._run_cpu('ir_labels', 'make_ir_labels.py', [
            self._stage_config('ir_labels', self.configs['irn'],
                               self._irn_options()), *self._check_flags()
        ])
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
            self._distributed('test.py', [
                self._stage_config('masks', self.configs['irn'], opts),
                self._done('irn')['checkpoint'], '--work-dir',
                self.dirs['irn'], *self._check_flags()
            ]))
        if not self._complete(self.dirs['masks'], '.png', 'train_list'):
            raise PipelineError('stage masks: some masks are missing')
        return dict(mask_dir=self.dirs['masks'], walk_dir=self.dirs['walks'])

    def mask_eval(self) -> dict:
        out = osp.join(self.work_dir, 'mask_eval.json')
        self._run_cpu(
            'mask_eval',
            'mask_report.py', [
                self.configs['irn'], '--data-root', self.cfg.data_root,
                '--seed-dir', self.dirs['seeds'], '--walk-dir',
                self.dirs['walks'], '--oracle',
                *(['--crf'] if self.cfg.get('mask_eval_crf', False) else []),
                '--mask-dirs', f'mask={self.dirs["masks"]}', '--out', out
            ],
            pool=False)
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
        self._run_cpu('final_masks', 'masks_from_walks.py', [
            self.configs['irn'], '--walk-dir', self.dirs['walks'], '--out-dir',
            self.dirs['final_masks'], *self._check_flags(), '--data-root',
            self.cfg.data_root, '--ann-file', self.cfg.train_list, '--rule',
            chosen['rule'], '--value',
            str(value)
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
            self._distributed('test.py', [
                self._stage_config('seg_eval', self.configs['seg'], opts),
                self._done('seg')['checkpoint'], '--work-dir',
                self.dirs['seg_eval'], *self.cfg.get('seg_test_flags', []),
                *self._check_flags()
            ]))
        try:  # what mmengine's LoggerHook recorded for this test run
            metrics = load_test_metrics(self.dirs['seg_eval'], 'mIoU')
        except RecordNotFoundError as exc:
            raise PipelineError(f'stage seg_eval: {exc}') from None
        return dict(
            seg_miou=float(metrics['mIoU']),
            seg_aacc=metrics.get('aAcc'),
            seg_macc=metrics.get('mAcc'))
