"""mmseg_cobra's registries: children of mmseg's, with scope ``mmseg_cobra``.

Every component of this package registers in mmseg's own registries
(``mmseg.registry.MODELS`` ...), so plain mmseg configs find them. A config
that inherits from this package's configs with ``mmseg_cobra::`` gets its
dicts tagged ``_scope_='mmseg_cobra'`` by mmengine; these children make that
scope resolve: a type not found in a child is looked up in its mmseg parent
(and from there in mmengine's root registries).
"""
from mmengine.registry import Registry
from mmseg import registry as _mmseg_registry

SCOPE = 'mmseg_cobra'

_NAMES = ('RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS',
          'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS',
          'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
          'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
          'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS',
          'LOG_PROCESSORS', 'INFERENCERS')


class ChildRegistry(Registry):
    """A child registry whose first lookup also imports its parent's
    modules: a lookup that falls through to the parent reads the parent's
    table without triggering the parent's own lazy import."""

    def import_from_location(self) -> None:
        super().import_from_location()
        if self.parent is not None:
            self.parent.import_from_location()


def _child(parent: Registry, *extra: str) -> Registry:
    existing = parent.children.get(SCOPE)
    # importing this package registers its components (in the parents);
    # ``extra``: the modules this package imports only on first use
    return existing if existing is not None else ChildRegistry(
        parent.name, parent=parent, scope=SCOPE, locations=[SCOPE, *extra])


RUNNERS = _child(_mmseg_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(_mmseg_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(_mmseg_registry.LOOPS)
HOOKS = _child(_mmseg_registry.HOOKS)
DATASETS = _child(_mmseg_registry.DATASETS)
DATA_SAMPLERS = _child(_mmseg_registry.DATA_SAMPLERS)
TRANSFORMS = _child(_mmseg_registry.TRANSFORMS)
# the mmpretrain-based backbones (mmseg_cobra.models imports them lazily)
MODELS = _child(_mmseg_registry.MODELS, 'mmseg_cobra.models.backbones')
MODEL_WRAPPERS = _child(_mmseg_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(_mmseg_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(_mmseg_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(_mmseg_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(_mmseg_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(_mmseg_registry.PARAM_SCHEDULERS)
METRICS = _child(_mmseg_registry.METRICS)
EVALUATOR = _child(_mmseg_registry.EVALUATOR)
TASK_UTILS = _child(_mmseg_registry.TASK_UTILS)
VISUALIZERS = _child(_mmseg_registry.VISUALIZERS)
VISBACKENDS = _child(_mmseg_registry.VISBACKENDS)
LOG_PROCESSORS = _child(_mmseg_registry.LOG_PROCESSORS)
INFERENCERS = _child(_mmseg_registry.INFERENCERS)

__all__ = list(_NAMES)
