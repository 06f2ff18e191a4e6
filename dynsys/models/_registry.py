"""``MODELS``: the names a spec file may use for the factory functions of :mod:`dynsys.models`.

The mapping imports a factory the first time it is looked up (through the lazy public names of
:mod:`dynsys.models`), so a spec that names the Lorenz system does not import every model and
what some of them need (the symmetry package and scipy.optimize for ``young_family``: about a
fifth of a second of a command's start).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["MODELS", "ModelRegistry"]


class ModelRegistry(Mapping[str, Callable[..., Any]]):
    """A read-only mapping of model names to factories of :mod:`dynsys.models`, each imported
    on first lookup.

    Parameters
    ----------
    names : sequence of str
        The names, each that of a factory in :mod:`dynsys.models`, in the mapping's order.

    Examples
    --------
    >>> from dynsys.models import MODELS
    >>> "lorenz" in MODELS, "henon" in MODELS
    (True, False)
    >>> MODELS["lorenz"]().name
    'lorenz'
    """

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = dict.fromkeys(names)  # ordered; a lookup of another name is a KeyError

    def __getitem__(self, name: str) -> Callable[..., Any]:
        self._names[name]  # a KeyError for a name the mapping does not hold
        return getattr(importlib.import_module("dynsys.models"), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._names

    def __repr__(self) -> str:
        return f"ModelRegistry({list(self._names)})"


MODELS = ModelRegistry(
    (
        "bautin_normal_form",
        "bogdanov_takens_normal_form",
        "bistable_hopf",
        "bratu",
        "bratu_2d",
        "brusselator",
        "double_well",
        "duffing",
        "fold_normal_form",
        "lorenz",
        "mueller_brown",
        "pitchfork_normal_form",
        "stiff_manifold",
        "stuart_landau",
        "theorem7",
        "van_der_pol",
        "young_family",
    )
)
