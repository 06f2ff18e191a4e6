"""dynsys: dynamical-systems analysis with numerical continuation.

The public API on one screen; each name lives in a module with one job.
"""

from ._status import Status, explain, status_names
from .continuation import (
    ContinuationOptions,
    bifurcation_diagram,
    continue_branch,
    continue_fold,
    switch_branch,
)
from .errors import (
    ContinuationError,
    DynsysError,
    FileFormatError,
    InvalidSystemError,
    SpecError,
    UnknownParameterError,
)
from .fixedpoints import NewtonOptions, find_fixed_points
from .graph import GraphOptions, critical_point_graph
from .integrate import FlowOptions, flow, trajectory
from .io import load, load_tree, save
from .stability import classify, classify_eigenvalues
from .system import GradientSystem, System

__version__ = "0.1.0"

__all__ = [
    "ContinuationError",
    "ContinuationOptions",
    "DynsysError",
    "FileFormatError",
    "FlowOptions",
    "GradientSystem",
    "GraphOptions",
    "InvalidSystemError",
    "NewtonOptions",
    "SpecError",
    "Status",
    "System",
    "UnknownParameterError",
    "__version__",
    "bifurcation_diagram",
    "classify",
    "classify_eigenvalues",
    "continue_branch",
    "continue_fold",
    "critical_point_graph",
    "explain",
    "find_fixed_points",
    "flow",
    "load",
    "load_tree",
    "save",
    "status_names",
    "switch_branch",
    "trajectory",
]
