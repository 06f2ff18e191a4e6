"""phase: pictures of dynsys results: phase portraits, bifurcation diagrams (equilibria, cycles of
flows and maps), periodic orbits and their multipliers, orbit diagrams of maps, attractors and
Lyapunov exponents, basins, graphs.

``phase`` imports ``dynsys``; ``dynsys`` never imports ``phase`` or matplotlib.

The drawing functions are imported on first use (PEP 562): a command that draws one kind of
picture does not import the libraries of the others (networkx for graphs, scipy.stats for
spectra).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "Region": "._region",
    "attractor_label": ".attractors",
    "draw_attractors": ".attractors",
    "draw_lyapunov_convergence": ".attractors",
    "basin_colors": ".basins",
    "draw_basin_map": ".basins",
    "draw_probabilities": ".basins",
    "draw_probability_curves": ".basins",
    "draw_branch": ".bifurcation",
    "draw_diagram": ".bifurcation",
    "draw_fold_curve": ".bifurcation",
    "measure_values": ".bifurcation",
    "draw_hopf_curve": ".curves",
    "draw_two_parameter_diagram": ".curves",
    "draw_cycle_branch": ".cycles",
    "draw_cycle_family": ".cycles",
    "draw_periodic_orbit": ".cycles",
    "draw_disconnectivity": ".graph",
    "draw_graph": ".graph",
    "draw_graph_on_portrait": ".graph",
    "graph_layout": ".graph",
    "draw_orbit_diagram": ".maps",
    "orbit_diagram_points": ".maps",
    "draw_floquet_multipliers": ".multipliers",
    "draw_energy": ".portrait",
    "draw_fixed_points": ".portrait",
    "draw_nullclines": ".portrait",
    "draw_orbits": ".portrait",
    "draw_vector_field": ".portrait",
    "portrait": ".portrait",
    "draw_spectral_density": ".spectra",
}
"""Each public name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'phase' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


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
