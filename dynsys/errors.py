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
    "InputError",
    "InputTypeError",
    "InvalidSystemError",
    "MissingFileError",
    "OptionError",
    "SpecError",
    "UnknownParameterError",
    "WorkerLostError",
    "WriteError",
]


class DynsysError(Exception):
    """Base class of every error dynsys raises on purpose."""


class InputError(DynsysError, ValueError):
    """An argument with a wrong value or shape; the message names it and says what to give."""


class InputTypeError(DynsysError, TypeError):
    """An argument of the wrong type; the message names it and the type expected."""


class OptionError(InputError):
    """An option out of its range, or options that contradict each other.

    ``owner`` is the options class (``"FlowOptions"``), ``option`` the field (dotted for nested
    options) and ``detail`` the rule without the names ("must be a positive number; got -1."), so
    that a spec reader can name its own key (``basins.flow.rtol``) instead.
    """

    def __init__(
        self, message: str, *, owner: str = "", option: str = "", detail: str = ""
    ) -> None:
        super().__init__(message)
        self.owner = owner
        self.option = option
        self.detail = detail or message


class ContinuationError(DynsysError, RuntimeError):
    """A continuation could not start (for example, the start state is not near an equilibrium)."""


class InvalidSystemError(InputError):
    """A user callable (vector field, Jacobian, potential) broke its contract."""


class UnknownParameterError(InputError):
    """A parameter name that the system does not have."""


class SpecError(DynsysError, ValueError):
    """A run specification (TOML) with an unknown key, a wrong type or an out-of-range value."""


class FileFormatError(DynsysError, ValueError):
    """A file that dynsys did not write, or that is damaged."""


class MissingFileError(DynsysError, FileNotFoundError):
    """A file or folder to read from or write into that does not exist."""


class WorkerLostError(DynsysError, RuntimeError):
    """Chunks of a run could not be computed because the worker processes running them died
    (killed, out of memory) more often than the run retries them."""


class WriteError(DynsysError, OSError):
    """A file could not be written: no space left, a read-only file system, no permission.

    Raised by :func:`dynsys.io.save` after it removed its temporary file, so the earlier file at
    the target path (if any) is unchanged. ``errno`` is the code of the operating-system error
    (``errno.ENOSPC``, ``errno.EROFS``, ...) and ``filename`` the target path; ``str()`` is the
    one-line message.
    """

    def __init__(self, message: str, *, errno: int | None = None, filename: str | None = None):
        super().__init__(message)
        self.errno = errno
        self.filename = filename

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
