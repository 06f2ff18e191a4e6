"""phase: pictures of dynsys results: phase portraits, bifurcation diagrams, basins, graphs.

``phase`` imports ``dynsys``; ``dynsys`` never imports ``phase`` or matplotlib.
"""

from .basins import basin_colors, draw_basin_map, draw_probabilities, draw_probability_curves
from .bifurcation import draw_branch, draw_diagram, draw_fold_curve, measure_values
from .graph import draw_disconnectivity, draw_graph, draw_graph_on_portrait, graph_layout
from .portrait import (
    draw_energy,
    draw_fixed_points,
    draw_nullclines,
    draw_orbits,
    draw_vector_field,
    portrait,
)
from .spectra import draw_spectral_density

__all__ = [
    "basin_colors",
    "draw_basin_map",
    "draw_branch",
    "draw_diagram",
    "draw_disconnectivity",
    "draw_energy",
    "draw_fixed_points",
    "draw_fold_curve",
    "draw_graph",
    "draw_graph_on_portrait",
    "draw_nullclines",
    "draw_orbits",
    "draw_probabilities",
    "draw_probability_curves",
    "draw_spectral_density",
    "draw_vector_field",
    "graph_layout",
    "measure_values",
    "portrait",
]
