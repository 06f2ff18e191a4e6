"""Models built on the dynsys core: classical test systems and neural-network landscapes.

``MODELS`` maps the names a spec file may use to the factory functions.
"""

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
