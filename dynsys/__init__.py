"""dynsys: dynamical-systems analysis with numerical continuation.

The public API on one screen; each name lives in a module with one job.
"""

from ._status import Status, explain, status_names
from .errors import (
    DynsysError,
    FileFormatError,
    InvalidSystemError,
    SpecError,
    UnknownParameterError,
)
from .system import GradientSystem, System

__version__ = "0.1.0"

__all__ = [
    "DynsysError",
    "FileFormatError",
    "GradientSystem",
    "InvalidSystemError",
    "SpecError",
    "Status",
    "System",
    "UnknownParameterError",
    "__version__",
    "explain",
    "status_names",
]
