"""Public names of a package imported on first use (PEP 562 module ``__getattr__``).

A package lists where each public name lives; ``import package`` then loads none of those
modules, and ``package.name`` (or ``from package import name``) imports the one module that
defines ``name``. So ``import dynsys`` does not pay for xarray, scipy.stats, networkx or dask
unless a command needs them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["check_name", "lazy_names", "load_name"]


def lazy_names(
    namespace: dict[str, Any], where: Mapping[str, str], submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose public names load lazily.

    Parameters
    ----------
    namespace : dict
        The package's ``globals()``; a name, once imported, is stored there so later lookups
        are ordinary attribute lookups.
    where : mapping
        Public name -> the module that defines it, relative to the package (``"._find"``,
        ``"..attractors"``).
    submodules : iterable of str
        Subpackages and modules reachable as attributes (``package.sub``) without an import
        statement.

    Examples
    --------
    >>> space = {"__name__": "dynsys"}
    >>> getattr_, dir_ = lazy_names(space, {"explain": "._status"})
    >>> getattr_("explain").__name__, "explain" in space, "explain" in dir_()
    ('explain', True, True)
    """
    package = namespace["__name__"]
    modules = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module, package), name)
        elif name in modules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where) | modules)

    return __getattr__, __dir__


def check_name(label: str, value: str) -> None:
    """Raise :class:`dynsys.errors.InputError` unless ``value`` looks like
    ``"package.module:name"`` (``label`` names the argument in the message).

    Examples
    --------
    >>> check_name("function", "dynsys.models.classic:duffing")
    """
    from .errors import InputError

    module, sep, attr = str(value).partition(":")
    if not (module and sep and attr):
        raise InputError(f"`{label}` must look like 'package.module:name'; got {value!r}.")


def load_name(name: str) -> Any:
    """The object a ``"package.module:name"`` names (its module is imported).

    Examples
    --------
    >>> load_name("math:pi") > 3
    True
    """
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)
