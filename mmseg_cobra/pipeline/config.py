"""The pipeline config: where its files are, its synthetic data, its one
dataset description, and the per-stage options it passes to the tools."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from ..utils.errors import UserError
from .dataset_description import DescriptionError, normalise_description

#: where the package's source tree is: the checkout (tools run there, as
#: before) or, installed, the directory above the package
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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


class PipelineConfigError(UserError, ValueError):
    """A pipeline or ablation config that cannot run; the message names
    the file and the fix."""


def load_run_config(path: str,
                    cfg_options: Optional[dict] = None,
                    required: Sequence[str] = (),
                    stage_keys: Sequence[str] = (),
                    kind: str = 'pipeline'):
    """Read a pipeline (or ablation) config and check it before any work.

    Args:
        path (str): The config as given on the command line (looked up as
            :func:`resolve_config_path` does).
        cfg_options (dict, optional): ``--cfg-options``, merged in.
        required (Sequence[str]): Keys the config must set.
        stage_keys (Sequence[str]): Keys naming stage configs
            (``cobra_config``...): each resolved, and it must exist.
        kind (str): ``pipeline`` or ``ablation``, for the messages.

    Returns:
        Config: The config, its stage config paths absolute.

    Raises:
        PipelineConfigError: The file is missing or not a config mmengine
            can read, a required key is missing, or a stage config is not
            found.
    """
    from mmengine.config import Config
    full = resolve_config_path(path)
    if not osp.isfile(full):
        raise PipelineConfigError(
            f'{kind} config {path} not found (from the working directory, '
            'the checkout or the package\'s configs); give the path of a '
            f'config such as configs/pipeline/cobra_voc.py')
    try:
        cfg = Config.fromfile(full)
    except Exception as exc:  # SyntaxError, NameError, a missing base...
        raise PipelineConfigError(
            f'cannot read the {kind} config {full}: {type(exc).__name__}: '
            f'{exc}. Fix the file: it is Python that mmengine\'s '
            'Config.fromfile runs') from None
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    missing = [key for key in required if cfg.get(key) is None]
    if missing:
        raise PipelineConfigError(
            f'the {kind} config {full} does not set {", ".join(missing)}: '
            f'every {kind} config names them (see the package\'s '
            f'configs/{kind}/ for examples), or give them with '
            f'--cfg-options {missing[0]}=...')
    for key in stage_keys:
        stage = resolve_config_path(str(cfg[key]))
        if not osp.isfile(stage):
            raise PipelineConfigError(
                f'{key}={cfg[key]} in {full} not found (from the working '
                'directory, the checkout or the package\'s configs): fix '
                f'the path, or give it with --cfg-options {key}=...')
        cfg[key] = stage
    return cfg


#: The keys a pipeline config may set (tools/run_pipeline.py; the
#: docs' pipeline guide says what each does).
PIPELINE_KEYS = ('custom_imports', 'cobra_config', 'irn_config', 'seg_config',
                 'dataset', 'data_root', 'train_list', 'synthetic',
                 'nproc_cpu', 'cfg_options', 'total_batch_size',
                 'seed_eval_args', 'mask_eval_crf', 'mask_value',
                 'seg_test_flags', 'skip_bad_images', 'classifier_checkpoint',
                 'irn_checkpoint', 'stop_grace', 'peer_timeout_min',
                 'min_free_mb')
#: The stages a pipeline config's ``cfg_options`` and ``total_batch_size``
#: address.
OPTION_STAGES = dict(
    cfg_options=('classifier', 'seeds', 'irn', 'seg'),
    total_batch_size=('classifier', 'irn', 'seg'))


def check_pipeline_keys(cfg, cfg_options: Optional[dict], path: str) -> None:
    """Refuse keys a pipeline would ignore: a misspelt top-level key, or a
    stage under ``cfg_options`` / ``total_batch_size`` that has none.

    Args:
        cfg (Config): The pipeline config (options merged).
        cfg_options (dict, optional): The command line's
            ``--cfg-options`` (named in the message).
        path (str): The config file, for the message.

    Raises:
        PipelineConfigError: Names the key and the closest known one.
    """
    import difflib
    given = set(cfg_options or {})
    found = [(k, PIPELINE_KEYS) for k in cfg.keys() if k not in PIPELINE_KEYS]
    for key, stages in OPTION_STAGES.items():
        found += [(f'{key}.{s}', [f'{key}.{x}' for x in stages])
                  for s in (cfg.get(key) or {}) if s not in stages]
    for key, known in found:
        close = difflib.get_close_matches(key, known, 1)
        hint = f' Did you mean {close[0]}?' if close else ''
        where = '--cfg-options' if any(g == key or g.startswith(key + '.')
                                       for g in given) else path
        raise PipelineConfigError(
            f'{key} (in {where}) is not a key the pipeline reads, so it '
            f'would be ignored.{hint} The pipeline config keys: '
            f'{", ".join(PIPELINE_KEYS)}; cfg_options and total_batch_size '
            'take the stages ' + ', '.join(OPTION_STAGES['cfg_options']))


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


def flat_options(d: Dict[str, object], prefix: str = '') -> Dict[str, object]:
    """A (possibly nested) options dict with dotted keys."""
    out = {}
    for k, v in d.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            out.update(flat_options(v, key + '.'))
        else:
            out[key] = v
    return out


def cfg_options_args(d: Dict[str, object]) -> List[str]:
    """``--cfg-options`` arguments from a (possibly nested) dict."""
    return [f'{key}={_option_value(v)}' for key, v in flat_options(d).items()]


def _option_value(v: object) -> str:
    """A value as mmengine's ``DictAction`` reads it back: lists as
    ``[a,b]``, tuples as ``(a,b)`` (``(a,)`` for one item; transforms such
    as ``RandomResize(scale=...)`` require a tuple), nested ones too."""
    if isinstance(v, list):
        return '[' + ','.join(_option_value(x) for x in v) + ']'
    if isinstance(v, tuple):
        inner = ','.join(_option_value(x) for x in v)
        return f'({inner},)' if len(v) == 1 else f'({inner})'
    return str(v)


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


__all__ = [
    'OPTION_STAGES', 'PIPELINE_KEYS', 'REPO', 'cfg_options_args',
    'check_pipeline_keys', 'flat_options', 'prepare_synthetic_data',
    'resolve_config_path', 'resolve_pipeline_dataset', 'PipelineConfigError',
    'load_run_config'
]
