"""phase: pictures of dynsys results (phase portraits; later basins, diagrams and graphs).

``phase`` imports ``dynsys``; ``dynsys`` never imports ``phase`` or matplotlib.
"""

from .portrait import (
    draw_energy,
    draw_fixed_points,
    draw_nullclines,
    draw_orbits,
    draw_vector_field,
    portrait,
)

__all__ = [
    "draw_energy",
    "draw_fixed_points",
    "draw_nullclines",
    "draw_orbits",
    "draw_vector_field",
    "portrait",
]
