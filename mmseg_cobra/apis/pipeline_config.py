"""The pipeline config: where its files are, its synthetic data, its one
dataset description, and the per-stage options it passes to the tools."""
import os.path as osp
from typing import Dict, List, Optional

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
    out = []
    for key, v in flat_options(d).items():
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


__all__ = [
    'REPO', 'cfg_options_args', 'flat_options', 'prepare_synthetic_data',
    'resolve_config_path', 'resolve_pipeline_dataset'
]
