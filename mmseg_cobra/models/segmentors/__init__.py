from .irn import IRNBoundary

__all__ = ['IRNBoundary']
