"""One hierarchy of exceptions for dynsys.

Every error raised at the boundary of the package (bad user input, a file that is not ours, a spec
with a wrong key) is a :class:`DynsysError`, and also a ``ValueError`` or ``TypeError`` so that
generic handlers keep working. Numerical failures inside batches are *not* raised: they are
reported per item through :class:`dynsys.Status`.
"""

from __future__ import annotations

__all__ = [
    "ContinuationError",
    "DynsysError",
    "FileFormatError",
    "InvalidSystemError",
    "SpecError",
    "UnknownParameterError",
]


class DynsysError(Exception):
    """Base class of every error dynsys raises on purpose."""


class ContinuationError(DynsysError, RuntimeError):
    """A continuation could not start (for example, the start state is not near an equilibrium)."""


class InvalidSystemError(DynsysError, ValueError):
    """A user callable (vector field, Jacobian, potential) broke its contract."""


class UnknownParameterError(DynsysError, ValueError):
    """A parameter name that the system does not have."""


class SpecError(DynsysError, ValueError):
    """A run specification (TOML) with an unknown key, a wrong type or an out-of-range value."""


class FileFormatError(DynsysError, ValueError):
    """A file that dynsys did not write, or that is damaged."""
