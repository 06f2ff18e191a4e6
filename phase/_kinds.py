"""What kind of dynsys result a Dataset is, and the error for a result given to the wrong drawer.

Every drawing function checks its input with :func:`require`: a Dataset of another kind gets an
:class:`~dynsys.errors.InputError` that says what was given, where that kind comes from and which
function draws it; something that is not a Dataset gets an
:class:`~dynsys.errors.InputTypeError`.
"""

from __future__ import annotations

from typing import NamedTuple

import xarray as xr

from dynsys.errors import InputError, InputTypeError

__all__ = ["KINDS", "dataset_kind", "require"]


class Kind(NamedTuple):
    """A kind of result: what it is, the dynsys function that makes it, the phase function that
    draws it."""

    what: str
    source: str
    drawer: str


KINDS = {
    "equilibrium branch": Kind(
        "a branch of equilibria", "dynsys.continuation.continue_branch", "phase.draw_branch"
    ),
    "map branch": Kind(
        "a branch of fixed points or cycles of a map",
        "dynsys.continuation.continue_branch on a Map",
        "phase.draw_branch",
    ),
    "cycle branch": Kind(
        "a branch of periodic orbits",
        "dynsys.continuation.continue_cycle",
        "phase.draw_cycle_branch (or draw_cycle_family, draw_floquet_multipliers)",
    ),
    "cycle": Kind(
        "a periodic orbit",
        "dynsys.cycles.find_periodic_orbit",
        "phase.draw_periodic_orbit (or draw_floquet_multipliers)",
    ),
    "map cycles": Kind(
        "fixed points and cycles of a map",
        "dynsys.fixedpoints.find_cycles",
        "phase.draw_fixed_points",
    ),
    "fixed points": Kind(
        "fixed points", "dynsys.fixedpoints.find_fixed_points", "phase.draw_fixed_points"
    ),
    "attractors": Kind(
        "a table of attractors", "dynsys.attractors.find_attractors", "phase.draw_attractors"
    ),
    "lyapunov spectrum": Kind(
        "a Lyapunov spectrum",
        "dynsys.attractors.lyapunov_spectrum",
        "phase.draw_lyapunov_convergence",
    ),
    "map orbits": Kind("orbits of a map", "dynsys.integrate.iterate", "phase.draw_orbits"),
    "trajectory": Kind("a trajectory", "dynsys.integrate.trajectory", "phase.draw_orbits"),
    "two-parameter curve": Kind(
        "a fold or Hopf curve",
        "dynsys.continuation.continue_fold / continue_hopf",
        "phase.draw_fold_curve or phase.curves.draw_hopf_curve",
    ),
    "basin map": Kind("a basin map", "dynsys.basins.basin_map", "phase.draw_basin_map"),
}


def dataset_kind(ds) -> str:
    """The kind of dynsys result ``ds`` is (a key of :data:`KINDS`), or ``"unknown"``.

    Examples
    --------
    >>> import xarray as xr
    >>> dataset_kind(xr.Dataset({"x": (("point", "state"), [[0.0, 1.0]])}))
    'fixed points'
    >>> dataset_kind(xr.Dataset())
    'unknown'
    """
    if not isinstance(ds, xr.Dataset):
        return "unknown"
    dims, names = set(ds.dims), set(ds.variables)
    if "lyapunov_running" in names:
        return "lyapunov spectrum"
    if "attractor_samples" in names:
        return "attractors"
    if "step" in dims:
        if "x_cycle" in names:
            return "map branch"
        if "period" in names and "time" in dims:
            return "cycle branch"
        if "param2" in names:
            return "two-parameter curve"
        if "param" in names and "x" in names:
            return "equilibrium branch"
        return "unknown"
    if "cycle" in dims and "phase" in dims:
        return "map cycles"
    if "point" in dims and "x" in names:
        return "fixed points"
    if "period" in names and "mesh" in names and "time" in dims:
        return "cycle"
    if "orbit" in dims and "x_cycle" in names:
        return "map orbits"
    if "time" in dims and "x" in names:
        return "trajectory"
    if "label" in names and "attractor_kind" in names:
        return "basin map"
    return "unknown"


def require(ds, function: str, *accepted: str) -> str:
    """Check that ``ds`` is a Dataset of one of the ``accepted`` kinds; return its kind.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``ds`` is not an xarray Dataset.
    dynsys.errors.InputError
        If it is a Dataset of another kind: the message names what it is, where that comes
        from and the function that draws it.

    Examples
    --------
    >>> import xarray as xr
    >>> points = xr.Dataset({"x": (("point", "state"), [[0.0, 1.0]])})
    >>> from dynsys.errors import InputError
    >>> try:
    ...     require(points, "draw_cycle_branch", "cycle branch")
    ... except InputError as err:
    ...     print(str(err).split(": ")[-1])
    draw those with phase.draw_fixed_points.
    """
    wanted = " or ".join(f"{KINDS[k].what} (from {KINDS[k].source})" for k in accepted)
    if isinstance(ds, xr.DataTree):
        raise InputTypeError(
            f"{function} draws {wanted}; it was given a DataTree (a bifurcation diagram?): pick "
            "one node with tree['name'].to_dataset(), or draw the whole tree with "
            "phase.draw_diagram."
        )
    if not isinstance(ds, xr.Dataset):
        raise InputTypeError(f"{function} draws {wanted}; got a {type(ds).__name__}.")
    kind = dataset_kind(ds)
    if kind in accepted:
        return kind
    if kind == "unknown":
        raise InputError(
            f"{function} draws {wanted}; the Dataset given is none of the dynsys results phase "
            f"knows (variables {sorted(map(str, ds.data_vars))[:8]})."
        )
    other = KINDS[kind]
    raise InputError(
        f"{function} draws {wanted}; it was given {other.what} (from {other.source}): draw "
        f"those with {other.drawer}."
    )
