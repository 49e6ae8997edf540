"""What a stage of the table (:mod:`.stages`) works with: the pipeline
config, the work dir's layout, the launcher, and the helpers that turn a
stage's options into the command a user would type."""
import copy
import glob
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from ..datasets.image_level_dataset import load_id_list
from ..utils.config import merge_cfg_options
from ..utils.errors import UserError
from ..utils.file_io import save_config
from ..utils.peer_watch import DEFAULT_TIMEOUT_MIN
from ..utils.peer_watch import ENV as PEER_TIMEOUT_ENV
from ..utils.tools import tool_path
from .config import flat_options
from .fingerprint import WORK_DIR_MARK, flatten
from .launchers import LaunchError, StageLauncher, split_total_batch
from .layout import WorkDirLayout

#: Pipeline config keys every stage reads.
COMMON_KEYS = ('data_root', 'train_list', 'skip_bad_images')


class PipelineError(UserError, RuntimeError):
    """A stage failed; the message names it and its log."""


@dataclass(frozen=True)
class Command:
    """One tool invocation of a stage: its argument vector and the
    environment it adds."""
    argv: List[str]
    env: Dict[str, str] = field(default_factory=dict)


class StageContext:
    """The run as the stages see it.

    Args:
        cfg (Config): The pipeline config.
        layout (WorkDirLayout): The work dir.
        launch (StageLauncher): How the stage tools start.
        dataset (dict, optional): The dataset description.
        device (str): ``--device`` of the training and testing tools.
    """

    def __init__(self,
                 cfg,
                 layout: WorkDirLayout,
                 launch: StageLauncher,
                 dataset: Optional[dict],
                 device: str = 'auto') -> None:
        self.cfg, self.layout, self.launch = cfg, layout, launch
        self.dataset, self.device = dataset, device
        # callers that run only some stages (tools/ablate.py) give only the
        # configs those need
        self.configs: Dict[str, Optional[str]] = {
            role: cfg.get(f'{role}_config')
            for role in ('cobra', 'irn', 'seg')
        }
        self._role_dicts: Dict[str, dict] = {}

    @property
    def tag(self) -> str:
        """What this node's terminal lines start with."""
        node = self.launch.node_rank
        return '[pipeline]' if node == 0 else f'[pipeline node {node}]'

    # ------------------------------------------------------------ options
    def options(self, key: str) -> Dict[str, object]:
        """The pipeline config's ``cfg_options[key]`` (a copy)."""
        return dict(self.cfg.get('cfg_options', {}).get(key, {}))

    def irn_options(self) -> Dict[str, object]:
        """The options of every IRN stage (IR labels, IRN, masks)."""
        opts = self.options('irn')
        data_root, train_list = self.cfg.data_root, self.cfg.train_list
        opts.update({
            'ir_label_dataset.data_root':
            data_root,
            'ir_label_dataset.ann_file':
            train_list,
            'ir_label_cfg.seed_dir':
            self.layout.seeds,
            'ir_label_cfg.out_dir':
            self.layout.ir_labels,
            'train_dataloader.dataset.data_root':
            data_root,
            'train_dataloader.dataset.ann_file':
            train_list,
            'train_dataloader.dataset.data_prefix.seg_map_path':
            self.layout.ir_labels,
            'test_dataloader.dataset.data_root':
            data_root,
            'test_dataloader.dataset.seed_dir':
            self.layout.seeds,
        })
        return opts

    def train_split_options(self) -> Dict[str, str]:
        """Point a test dataset (the eval split) at the train split's masks
        (the eval split shares its images)."""
        if self.dataset is None:
            return {}
        return {
            'test_dataloader.dataset.data_prefix.seg_map_path':
            self.dataset['train']['mask_dir']
        }

    def check_flags(self) -> List[str]:
        """``--skip-bad-images`` for every stage tool when the pipeline
        config says ``skip_bad_images=True``: train.py/test.py leave out
        the images their dataset check finds bad, the label writers succeed
        when the others are written (the stage then checks itself that
        every other image has its output)."""
        return ['--skip-bad-images'] if self.cfg.get('skip_bad_images') \
            else []

    @property
    def peer_timeout_min(self) -> float:
        """Minutes a rank or node waits for a silent peer
        (``peer_timeout_min``)."""
        return float(self.cfg.get('peer_timeout_min', DEFAULT_TIMEOUT_MIN))

    # ----------------------------------------------------------- commands
    def write_stage_config(self, stage: str, config: str,
                           options: Dict[str, object]) -> str:
        """Write ``config`` with ``options`` merged in (dotted keys, hook
        options by type) to the layout's stage config and return its path:
        the stage tools get every path in a file, never through
        ``--cfg-options`` (whose parser splits values at commas and drops
        spaces)."""
        from mmengine.config import Config
        cfg = Config.fromfile(config)
        merge_cfg_options(cfg, flat_options(options))
        return save_config(cfg, self.layout.stage_config(stage))

    def _distributed(self, tool: str, args: List[str]) -> Command:
        if self.device != 'auto':  # train.py / test.py: say it to each
            args = list(args) + ['--device', self.device]
        return Command(self.launch.distributed(tool_path(tool), args))

    def train_command(self, stage: str, config: str, work_dir: str,
                      options: Dict[str, object]) -> Command:
        """``tools/train.py`` of a training stage (``--resume`` when it
        has a checkpoint); prints its batch and learning rate."""
        options = self.batch_options(stage, config, options)
        args = [
            self.write_stage_config(stage, config, options), '--work-dir',
            work_dir, *self.check_flags()
        ]
        if last_checkpoint(work_dir):
            args.append('--resume')
        return self._distributed('train.py', args)

    def test_command(self, stage: str, config: str, ckpt: str, work_dir: str,
                     opts: Dict[str, object], *flags: str) -> Command:
        """``tools/test.py`` of a testing stage."""
        return self._distributed('test.py', [
            self.write_stage_config(stage, config, opts), ckpt, '--work-dir',
            work_dir, *flags, *self.check_flags()
        ])

    def cpu_command(self,
                    tool: str,
                    args: List[str],
                    pool: bool = True) -> Command:
        """A per-image CPU stage: one rank per node, each with a pool of
        ``nproc_cpu`` processes (``pool``) on its share of the images."""
        nproc = int(self.cfg.get('nproc_cpu', 2)) if pool else None
        env = dict(self.launch.cpu_env())
        env[PEER_TIMEOUT_ENV] = str(self.peer_timeout_min)
        return Command(self.launch.cpu(tool_path(tool), args, nproc), env)

    def batch_options(self, stage: str, config: str,
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
        print(f'{self.tag} {stage}: {line}', flush=True)
        return options

    # ------------------------------------------------------------ records
    def done(self, stage: str) -> dict:
        """The record of a finished stage."""
        path = self.layout.record(stage)
        if not osp.isfile(path):
            raise PipelineError(f'stage {stage} has not finished yet')
        with open(path) as f:
            return json.load(f)

    def given_checkpoint(self, stage: str) -> Optional[str]:
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
        print(f'{self.tag} {stage}: not trained, using {given}', flush=True)
        return osp.abspath(given)

    def given_record(self, stage: str) -> Optional[dict]:
        given = self.cfg.get(f'{stage}_checkpoint')
        return dict(checkpoint=osp.abspath(given), given=True) \
            if given else None

    @staticmethod
    def trained_checkpoint(stage: str, work_dir: str) -> str:
        ckpt = last_checkpoint(work_dir)
        if ckpt is None:
            raise PipelineError(f'stage {stage}: no checkpoint in {work_dir}')
        return ckpt

    def bad_images(self) -> Dict[str, List[str]]:
        """Images the tools left out as bad files (``--skip-bad-images``):
        ``{list file (relative to work_dir): ids}``."""
        found = {}
        for path in sorted(
                glob.glob(self.layout.path('*', 'bad_images_*.txt'))):
            found[osp.relpath(path, self.layout.root)] = load_id_list(path)
        return found

    def check_complete(self, stage: str, directory: str, suffix: str) -> None:
        """Every image of ``train_list`` (but the bad ones) has its output
        in ``directory``."""
        bad = {i for ids in self.bad_images().values() for i in ids}
        ids = load_id_list(osp.join(self.cfg.data_root, self.cfg.train_list))
        if not all(
                osp.isfile(osp.join(directory, i + suffix))
                for i in ids if i not in bad):
            raise PipelineError(
                f'stage {stage}: some {osp.basename(directory)} are missing')

    # --------------------------------------------------------- fingerprint
    def role_dict(self, role: str) -> dict:
        """The stage config of ``role`` as a plain dict (read once)."""
        if role not in self._role_dicts:
            from mmengine.config import Config
            self._role_dicts[role] = Config.fromfile(
                self.configs[role]).to_dict()
        return copy.deepcopy(self._role_dicts[role])

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

    def stage_inputs(self, stage) -> Dict[str, str]:
        """What ``stage`` (a :class:`~.stages.Stage`) is made from besides
        the outputs it reads, flattened to ``{dotted key: json value}``,
        the work dir written as ``{work_dir}`` (a moved work dir keeps its
        fingerprints)."""
        from mmengine.config import Config
        cfg = Config(self.role_dict(stage.role))
        if stage.option_key:
            merge_cfg_options(cfg,
                              flat_options(self.options(stage.option_key)))
        pipeline = {
            k: self._pipeline_value(k)
            for k in COMMON_KEYS + stage.keys
        }
        pipeline['dataset'] = self.dataset
        # the stage config's name (its content is in config.*)
        source = self.cfg.get(f'{stage.role}_config')
        pipeline[f'{stage.role}_config'] = osp.basename(source) \
            if source else None
        inputs = flatten(dict(config=cfg.to_dict(), pipeline=pipeline))
        return {
            k: v.replace(self.layout.root, WORK_DIR_MARK)
            for k, v in inputs.items()
        }


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names, if it exists."""
    path = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(path):
        with open(path) as f:
            ckpt = f.read().strip()
        if osp.isfile(ckpt):
            return ckpt
    return None


__all__ = [
    'COMMON_KEYS', 'Command', 'PipelineError', 'StageContext',
    'last_checkpoint'
]
