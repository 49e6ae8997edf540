from .cobra_inferencer import CoBraInferencer

__all__ = ['CoBraInferencer']
