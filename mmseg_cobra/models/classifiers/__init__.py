from .cobra import CoBra

__all__ = ['CoBra']
