"""The whole CoBra pipeline, stage by stage, on one machine or a cluster.

- :mod:`.stages`: the stage table (what each stage reads, runs, writes
  and records); :mod:`.context`: what a stage works with;
  :mod:`.layout`: where everything is in a work dir;
- :mod:`.runner`: :class:`CoBraPipeline`, which runs the table (skip,
  record, time, lock, joining nodes);
- :mod:`.fingerprint`: what each stage was made from, and what a changed
  config redoes;
- :mod:`.launchers` (one process, torchrun, srun), :mod:`.stage_process`
  (a stage's process group and the stop signals), :mod:`.work_dir_lock`
  and :mod:`.rendezvous` (one driver, the nodes that join it),
  :mod:`.progress`, :mod:`.summary`, :mod:`.figures`;
- :mod:`.config` (the pipeline config) and :mod:`.dataset_description`
  (the one description every stage receives).
"""
from .config import (PipelineConfigError, load_run_config,
                     prepare_synthetic_data, resolve_config_path,
                     resolve_pipeline_dataset)
from .context import PipelineError
from .dataset_description import (DescriptionError, apply_description,
                                  normalise_description, validate_description)
from .fingerprint import StaleStageError
from .layout import WorkDirLayout
from .runner import STAGES, CoBraPipeline
from .stage_process import PipelineInterrupted
from .stages import STAGE_TABLE, Stage

__all__ = [
    'CoBraPipeline', 'DescriptionError', 'PipelineConfigError',
    'PipelineError', 'PipelineInterrupted', 'STAGES', 'STAGE_TABLE', 'Stage',
    'StaleStageError', 'WorkDirLayout', 'apply_description', 'load_run_config',
    'normalise_description', 'prepare_synthetic_data', 'resolve_config_path',
    'resolve_pipeline_dataset', 'validate_description'
]
