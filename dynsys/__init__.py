"""dynsys: dynamical-systems analysis with numerical continuation.

The public API on one screen. A System (or GradientSystem) is the object every algorithm takes;
each family of algorithms is a package (``dynsys.integrate``, ``dynsys.fixedpoints``,
``dynsys.symmetry``, ``dynsys.continuation``, ``dynsys.basins``, ``dynsys.graph``,
``dynsys.attractors``, ``dynsys.cycles``) over a small kernel: the System (a flow) and the Map
(a discrete-time system, gradient descent with a finite step among them), stability, the one
outcome table (:class:`Status`, :func:`explain`), the one options base (:class:`Options`), errors
and I/O.

Importing ``dynsys`` loads only the kernel it cannot do without (options, outcomes, errors); every
other public name, and every subpackage, is imported the first time it is used, so a script or a
command pays only for what it needs (xarray, scipy.stats, networkx and matplotlib among what it
need not load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._options import Options
from ._status import Status, explain, status_names
from ._version import __version__
from .errors import (
    ContinuationError,
    DynsysError,
    FileFormatError,
    InputError,
    InputTypeError,
    InvalidSystemError,
    OptionError,
    SpecError,
    UnknownParameterError,
)

if TYPE_CHECKING:  # the names imported on first use, for type checkers and editors
    from ._trapping import TrapGeometry, TrappingRegions
    from .attractors import AttractorOptions, find_attractors, lyapunov_spectrum
    from .basins import BasinOptions, basin_map, basin_probabilities, basin_probability_sweep
    from .continuation import (
        ContinuationOptions,
        bifurcation_diagram,
        continue_branch,
        continue_cycle,
        continue_fold,
        continue_hopf,
        switch_branch,
        two_parameter_diagram,
    )
    from .cycles import CycleOptions, find_periodic_orbit
    from .fixedpoints import NewtonOptions, find_cycles, find_fixed_points
    from .graph import GraphOptions, critical_point_graph
    from .integrate import FlowOptions, IterateOptions, flow, iterate, trajectory
    from .io import load, load_tree, save
    from .maps import Map, gradient_descent_map
    from .stability import classify, classify_eigenvalues
    from .system import DescentKernel, GradientSystem, System, model

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        **dict.fromkeys(
            ("AttractorOptions", "find_attractors", "lyapunov_spectrum"), ".attractors"
        ),
        **dict.fromkeys(
            ("BasinOptions", "basin_map", "basin_probabilities", "basin_probability_sweep"),
            ".basins",
        ),
        **dict.fromkeys(
            (
                "ContinuationOptions",
                "bifurcation_diagram",
                "continue_branch",
                "continue_cycle",
                "continue_fold",
                "continue_hopf",
                "switch_branch",
                "two_parameter_diagram",
            ),
            ".continuation",
        ),
        **dict.fromkeys(("CycleOptions", "find_periodic_orbit"), ".cycles"),
        **dict.fromkeys(("NewtonOptions", "find_cycles", "find_fixed_points"), ".fixedpoints"),
        **dict.fromkeys(("GraphOptions", "critical_point_graph"), ".graph"),
        **dict.fromkeys(
            ("FlowOptions", "IterateOptions", "flow", "iterate", "trajectory"), ".integrate"
        ),
        **dict.fromkeys(("load", "load_tree", "save"), ".io"),
        **dict.fromkeys(("Map", "gradient_descent_map"), ".maps"),
        **dict.fromkeys(("classify", "classify_eigenvalues"), ".stability"),
        **dict.fromkeys(("DescentKernel", "GradientSystem", "System", "model"), ".system"),
        **dict.fromkeys(("TrapGeometry", "TrappingRegions"), "._trapping"),
    },
    submodules=(
        "attractors",
        "basins",
        "cli",
        "continuation",
        "cycles",
        "display",
        "fixedpoints",
        "graph",
        "integrate",
        "io",
        "maps",
        "models",
        "saddles",
        "spectra",
        "stability",
        "symmetry",
        "system",
    ),
)

__all__ = [
    "AttractorOptions",
    "BasinOptions",
    "ContinuationError",
    "ContinuationOptions",
    "CycleOptions",
    "DescentKernel",
    "DynsysError",
    "FileFormatError",
    "FlowOptions",
    "GradientSystem",
    "GraphOptions",
    "InputError",
    "InputTypeError",
    "InvalidSystemError",
    "IterateOptions",
    "Map",
    "NewtonOptions",
    "OptionError",
    "Options",
    "SpecError",
    "Status",
    "System",
    "TrapGeometry",
    "TrappingRegions",
    "UnknownParameterError",
    "__version__",
    "basin_map",
    "basin_probabilities",
    "basin_probability_sweep",
    "bifurcation_diagram",
    "classify",
    "classify_eigenvalues",
    "continue_branch",
    "continue_cycle",
    "continue_fold",
    "continue_hopf",
    "critical_point_graph",
    "explain",
    "find_attractors",
    "find_cycles",
    "find_fixed_points",
    "find_periodic_orbit",
    "flow",
    "gradient_descent_map",
    "iterate",
    "load",
    "load_tree",
    "lyapunov_spectrum",
    "model",
    "save",
    "status_names",
    "switch_branch",
    "trajectory",
    "two_parameter_diagram",
]
