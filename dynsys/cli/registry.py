"""The models a spec may name by ``model.name``: :data:`dynsys.models.MODELS`, imported lazily.

``dynsys.models.MODELS`` imports every model factory, and with them the machinery some of them
need (the symmetry package and scipy.optimize for ``young_family``), which costs a command that
runs the Lorenz system a fifth of a second. :class:`LazyModels` is the same mapping, name for
name and factory for factory, that imports only the factory it is asked for (through the lazy
public names of :mod:`dynsys.models`). A test keeps :data:`MODEL_NAMES` equal to the keys of
``MODELS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["MODEL_NAMES", "LazyModels"]

MODEL_NAMES = (
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
"""The keys of :data:`dynsys.models.MODELS`, in its order (each is the name of the factory in
:mod:`dynsys.models`)."""


_PACKAGE = dict.fromkeys(MODEL_NAMES, "dynsys.models")
"""Where each factory is looked up: the lazy public names of :mod:`dynsys.models`."""


class LazyModels(Mapping[str, Callable[..., Any]]):
    """:data:`dynsys.models.MODELS` as a mapping that imports a factory on first lookup.

    Examples
    --------
    >>> models = LazyModels()
    >>> "lorenz" in models, "henon" in models, len(models) == len(MODEL_NAMES)
    (True, False, True)
    >>> models["lorenz"]().name
    'lorenz'
    """

    def __getitem__(self, name: str) -> Callable[..., Any]:
        package = importlib.import_module(_PACKAGE[name])  # a KeyError: not a name of MODELS
        return getattr(package, name)

    def __iter__(self) -> Iterator[str]:
        return iter(MODEL_NAMES)

    def __len__(self) -> int:
        return len(MODEL_NAMES)

    def __contains__(self, name: object) -> bool:
        return name in MODEL_NAMES
