"""Models built on the dynsys core: classical test systems (and, later, neural-network landscapes).

``MODELS`` maps the names a spec file may use to the factory functions.
"""

from .classic import (
    bratu,
    brusselator,
    double_well,
    duffing,
    fold_normal_form,
    lorenz,
    mueller_brown,
    pitchfork_normal_form,
)

MODELS = {
    "bratu": bratu,
    "brusselator": brusselator,
    "double_well": double_well,
    "duffing": duffing,
    "fold_normal_form": fold_normal_form,
    "lorenz": lorenz,
    "mueller_brown": mueller_brown,
    "pitchfork_normal_form": pitchfork_normal_form,
}

__all__ = [
    "MODELS",
    "bratu",
    "brusselator",
    "double_well",
    "duffing",
    "fold_normal_form",
    "lorenz",
    "mueller_brown",
    "pitchfork_normal_form",
]
