from .pipeline import STAGES, CoBraPipeline, PipelineError

__all__ = ['STAGES', 'CoBraPipeline', 'PipelineError']
