from .dense_crf_postprocessor import DenseCRFPostProcessor
from .irn import IRNBoundary

__all__ = ['DenseCRFPostProcessor', 'IRNBoundary']
