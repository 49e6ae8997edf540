from .pipeline import (STAGES, CoBraPipeline, PipelineError,
                       prepare_synthetic_data, resolve_config_path)

__all__ = [
    'STAGES', 'CoBraPipeline', 'PipelineError', 'prepare_synthetic_data',
    'resolve_config_path'
]
