"""Models built on the dynsys core: classical test systems and neural-network landscapes.

``MODELS`` maps the names a spec file may use to the factory functions.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._registry import MODELS
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
    from .cnn import conv_teacher_student
    from .families import young_family, young_family_coordinates, young_family_embedding
    from .maps import henon, logistic
    from .normal_forms import bogdanov_takens_normal_form
    from .oscillators import bautin_normal_form, bistable_hopf, stuart_landau, van_der_pol
    from .reduced import theorem7, theorem7_embedding, theorem7_loss, theorem7_saddle
    from .relu import teacher_student

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "bratu": ".classic",
        "bratu_2d": ".classic",
        "brusselator": ".classic",
        "double_well": ".classic",
        "duffing": ".classic",
        "fold_normal_form": ".classic",
        "lorenz": ".classic",
        "mueller_brown": ".classic",
        "pitchfork_normal_form": ".classic",
        "stiff_manifold": ".classic",
        "conv_teacher_student": ".cnn",
        "young_family": ".families",
        "young_family_coordinates": ".families",
        "young_family_embedding": ".families",
        "henon": ".maps",
        "logistic": ".maps",
        "bogdanov_takens_normal_form": ".normal_forms",
        "bautin_normal_form": ".oscillators",
        "bistable_hopf": ".oscillators",
        "stuart_landau": ".oscillators",
        "van_der_pol": ".oscillators",
        "theorem7": ".reduced",
        "theorem7_embedding": ".reduced",
        "theorem7_loss": ".reduced",
        "theorem7_saddle": ".reduced",
        "teacher_student": ".relu",
        "MODELS": "._registry",
    },
)
__all__ = [
    "MODELS",
    "bautin_normal_form",
    "bistable_hopf",
    "bogdanov_takens_normal_form",
    "bratu",
    "bratu_2d",
    "brusselator",
    "conv_teacher_student",
    "double_well",
    "duffing",
    "fold_normal_form",
    "henon",
    "logistic",
    "lorenz",
    "mueller_brown",
    "pitchfork_normal_form",
    "stiff_manifold",
    "stuart_landau",
    "teacher_student",
    "theorem7",
    "theorem7_embedding",
    "theorem7_loss",
    "theorem7_saddle",
    "van_der_pol",
    "young_family",
    "young_family_coordinates",
    "young_family_embedding",
]
