"""``dynsys --version``: the version of the installed distribution.

The package imports as ``dynsys``; it is distributed as ``dynsys-toolkit`` (the name ``dynsys``
on the public package index belongs to an unrelated project). The version is read from the
installed distribution's metadata, else (running from a source tree that is not installed) from
:mod:`dynsys._version`, which the build reads too, so the two agree.
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "version"]

DISTRIBUTION = "dynsys-toolkit"


def version() -> str:
    """The version of dynsys, e.g. ``"0.1.0"``.

    Examples
    --------
    >>> from dynsys import __version__
    >>> version() == __version__
    True
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from .. import __version__

    try:
        found = installed(DISTRIBUTION)
    except PackageNotFoundError:
        return __version__
    return found
