"""The spec's own folder on the module search path, while its factory is imported.

A spec that names ``[model] factory = "my_model:build"`` usually sits beside ``my_model.py``.
:func:`spec_folder_on_path` makes that module importable without ``--import-path`` or
``PYTHONPATH``, and nothing more:

- only when the spec names a factory (``model.factory``); a spec that names a model of dynsys or
  an entry point never touches :data:`sys.path`;
- the folder is the spec file's own folder, resolved (never the current working folder);
- it is *appended* to :data:`sys.path`, so it has the lowest precedence: a module of the same
  name elsewhere on the path (the standard library, installed packages, ``PYTHONPATH``,
  ``--import-path``) wins, and a file in the spec's folder cannot shadow them;
- it is removed again when the block ends, whatever happened in it.

The factory must still be declared with ``@dynsys.model`` (:func:`dynsys.cli.spec.resolve_system`
checks it before calling it). When the block ends, the modules imported from the spec's folder
are dropped from :data:`sys.modules` (the system keeps them alive): what cannot be imported by
name is shipped by value (cloudpickle) to worker processes (``executor = "processes"``, a dask
cluster), which do not have the folder on their path either.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["spec_folder_on_path"]


@contextmanager
def spec_folder_on_path(spec_path: str | Path, model: Mapping[str, Any]) -> Iterator[Path | None]:
    """Put the spec's folder at the end of :data:`sys.path` while the block runs, when the spec
    names a factory module.

    Parameters
    ----------
    spec_path
        The spec file.
    model
        The validated ``[model]`` table of the spec.

    Yields
    ------
    pathlib.Path or None
        The folder added (resolved), or None when nothing was added (no factory, or the folder
        is on the path already).

    Examples
    --------
    >>> import sys
    >>> with spec_folder_on_path("specs/a.toml", {"name": "lorenz", "factory": ""}) as added:
    ...     print(added)
    None
    >>> with spec_folder_on_path("/tmp/a.toml", {"name": "", "factory": "m:f"}) as added:
    ...     sys.path[-1] == str(added)
    True
    >>> str(added) in sys.path
    False
    """
    if not model.get("factory"):
        yield None
        return
    folder = Path(spec_path).resolve().parent
    entry = str(folder)
    if entry in sys.path:
        yield None
        return
    before = set(sys.modules)
    sys.path.append(entry)
    try:
        yield folder
    finally:
        while entry in sys.path:
            sys.path.remove(entry)
        _forget(folder, set(sys.modules) - before)


def _forget(folder: Path, names: set[str]) -> None:
    """Drop the modules just imported from ``folder`` from :data:`sys.modules`.

    They stay alive through the functions of the system, but are no longer importable by name:
    so pickle cannot ship the system's functions by reference (a worker process, without the
    folder on its path, could not import them) and the system goes by value with cloudpickle."""
    for name in names:
        if _from_folder(sys.modules.get(name), folder):
            del sys.modules[name]


def _from_folder(module, folder: Path) -> bool:
    path = getattr(module, "__file__", None)
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder)
    except OSError:  # pragma: no cover - a file that vanished
        return False
