"""Saddle search between minima, every result verified by the flow."""

from ._options import SaddleOptions
from ._string import string_method

__all__ = ["SaddleOptions", "string_method"]
