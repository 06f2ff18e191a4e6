"""``MODELS``: the names a spec file may use for the factory functions of :mod:`dynsys.models`
(kept apart so that importing one model does not import them all)."""

from .classic import (
    bratu,
    bratu_2d,
    brusselator,
    double_well,
    duffing,
    fold_normal_form,
    lorenz,
    mueller_brown,
    pitchfork_normal_form,
    stiff_manifold,
)
from .families import young_family
from .normal_forms import bogdanov_takens_normal_form
from .oscillators import bautin_normal_form, bistable_hopf, stuart_landau, van_der_pol
from .reduced import theorem7

MODELS = {
    "bautin_normal_form": bautin_normal_form,
    "bogdanov_takens_normal_form": bogdanov_takens_normal_form,
    "bistable_hopf": bistable_hopf,
    "bratu": bratu,
    "bratu_2d": bratu_2d,
    "brusselator": brusselator,
    "double_well": double_well,
    "duffing": duffing,
    "fold_normal_form": fold_normal_form,
    "lorenz": lorenz,
    "mueller_brown": mueller_brown,
    "pitchfork_normal_form": pitchfork_normal_form,
    "stiff_manifold": stiff_manifold,
    "stuart_landau": stuart_landau,
    "theorem7": theorem7,
    "van_der_pol": van_der_pol,
    "young_family": young_family,
}

__all__ = ["MODELS"]
