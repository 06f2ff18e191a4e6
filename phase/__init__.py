"""phase: pictures of dynsys results: phase portraits, bifurcation diagrams (equilibria, cycles of
flows and maps), periodic orbits and their multipliers, orbit diagrams of maps, attractors and
Lyapunov exponents, basins, graphs.

``phase`` imports ``dynsys``; ``dynsys`` never imports ``phase`` or matplotlib.
"""

from ._region import Region
from .attractors import attractor_label, draw_attractors, draw_lyapunov_convergence
from .basins import basin_colors, draw_basin_map, draw_probabilities, draw_probability_curves
from .bifurcation import draw_branch, draw_diagram, draw_fold_curve, measure_values
from .curves import draw_hopf_curve, draw_two_parameter_diagram
from .cycles import draw_cycle_branch, draw_cycle_family, draw_periodic_orbit
from .graph import draw_disconnectivity, draw_graph, draw_graph_on_portrait, graph_layout
from .maps import draw_orbit_diagram, orbit_diagram_points
from .multipliers import draw_floquet_multipliers
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
    "Region",
    "attractor_label",
    "basin_colors",
    "draw_attractors",
    "draw_basin_map",
    "draw_branch",
    "draw_cycle_branch",
    "draw_cycle_family",
    "draw_diagram",
    "draw_disconnectivity",
    "draw_energy",
    "draw_fixed_points",
    "draw_floquet_multipliers",
    "draw_fold_curve",
    "draw_graph",
    "draw_graph_on_portrait",
    "draw_hopf_curve",
    "draw_lyapunov_convergence",
    "draw_nullclines",
    "draw_orbit_diagram",
    "draw_orbits",
    "draw_periodic_orbit",
    "draw_probabilities",
    "draw_probability_curves",
    "draw_spectral_density",
    "draw_two_parameter_diagram",
    "draw_vector_field",
    "graph_layout",
    "measure_values",
    "orbit_diagram_points",
    "portrait",
]
