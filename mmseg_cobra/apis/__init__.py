from .cobra_inferencer import CoBraInferencer
from .dataset_description import (DescriptionError, apply_description,
                                  normalise_description, validate_description)
from .pipeline import (STAGES, CoBraPipeline, PipelineError,
                       prepare_synthetic_data, resolve_config_path,
                       resolve_pipeline_dataset)

__all__ = [
    'CoBraInferencer', 'STAGES', 'CoBraPipeline', 'PipelineError',
    'prepare_synthetic_data', 'resolve_config_path',
    'resolve_pipeline_dataset', 'DescriptionError', 'apply_description',
    'normalise_description', 'validate_description'
]
