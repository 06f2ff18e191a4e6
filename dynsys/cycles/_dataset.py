"""The cycle Dataset: layout (documented in :func:`dynsys.cycles.find_periodic_orbit`), and
reading a cycle back into a collocation and its unknowns."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex, status_variable
from .._status import Status
from ..errors import InputError
from ._collocation import Collocation
from ._floquet import Floquet
from ._profile import extremes

__all__ = ["cycle_dataset", "read_cycle"]


def _var(dims, values, long_name: str, **attrs: Any) -> xr.Variable:
    return xr.Variable(dims, values, {"long_name": long_name, **attrs})


def cycle_dataset(
    system,
    col: Collocation,
    v: np.ndarray,
    floquet: Floquet,
    *,
    status: Status,
    iterations: int,
    residual: float,
    period_error: float = float("nan"),
    **attrs: Any,
) -> xr.Dataset:
    """Assemble the Dataset of one cycle (NaN values when ``status`` is not CONVERGED)."""
    X, T = col.split(v)
    n = col.n
    ok = status == Status.CONVERGED
    if ok:
        x_min, x_max = extremes(col, X)
    else:
        X = np.full_like(X, np.nan)
        T = float("nan")
        x_min = x_max = np.full(n, np.nan)
        floquet = Floquet.unknown(n)
    variables = {
        "x": _var(("time", "state"), X[:-1], "state over one period"),
        "period": _var((), T, "period"),
        "amplitude": _var(
            (), x_max[0] - x_min[0], "peak-to-peak amplitude of the first state (max - min)"
        ),
        "x_min": _var("state", x_min, "smallest value of each state over the period"),
        "x_max": _var("state", x_max, "largest value of each state over the period"),
        **split_complex(floquet.nontrivial, "mode", "multiplier", "nontrivial Floquet multiplier"),
        "trivial_multiplier": _var(
            (), floquet.trivial.real, "the Floquet multiplier along the flow (1 when exact)"
        ),
        "floquet_error": _var(
            (),
            floquet.error,
            "|trivial multiplier - 1|: how well the discretized linearization carries the flow",
        ),
        "stable": _var((), bool(ok and floquet.stable), "all nontrivial |multiplier| < 1"),
        "mesh": _var("mesh_point", col.mesh, "mesh points in normalized time"),
        "status": status_variable(int(status), ()),
        "newton_iterations": _var((), int(iterations), "Newton iterations, all passes"),
        "residual": _var((), float(residual), "largest residual of the collocation equations"),
        "period_error_estimate": _var(
            (),
            float(period_error),
            "estimated error of the period (NaN: not estimated)",
        ),
    }
    coords = {
        "time": ("time", col.times[:-1], {"long_name": "normalized time t / period"}),
        "state": list(system.state_names),
        "mode": np.arange(n - 1),
        "mesh_point": np.arange(col.ntst + 1),
    }
    settings = {"ntst": col.ntst, "ncol": col.ncol, **attrs}
    return xr.Dataset(variables, coords=coords, attrs=provenance(system, **settings))


def read_cycle(system, cycle: xr.Dataset) -> tuple[Collocation, np.ndarray, dict[str, float]]:
    """The collocation, unknowns and parameter values of a cycle Dataset (from
    :func:`~dynsys.cycles.find_periodic_orbit`)."""
    needed = ("x", "period", "mesh")
    missing = [k for k in needed if k not in cycle]
    if missing or "ncol" not in cycle.attrs:
        raise InputError(
            f"`cycle` is not a cycle Dataset of find_periodic_orbit (missing {missing or 'ncol'})."
        )
    if tuple(cycle["state"].values.tolist()) != tuple(system.state_names):
        raise InputError(
            f"`cycle` has states {cycle['state'].values.tolist()}, the system "
            f"{list(system.state_names)}."
        )
    T = float(cycle["period"])
    if not np.isfinite(T):
        raise InputError(
            "`cycle` holds no cycle (its period is NaN; status "
            f"{int(cycle['status']) if 'status' in cycle else '?'}): find one first."
        )
    mesh = np.asarray(cycle["mesh"].values, dtype=float)
    col = Collocation(system, mesh.size - 1, int(cycle.attrs["ncol"]), mesh)
    X = np.asarray(cycle["x"].values, dtype=float)
    X = np.vstack([X, X[:1]])
    stored = {
        k: cycle.attrs[f"param_{k}"] for k in system.param_names if f"param_{k}" in cycle.attrs
    }
    return col, col.join(X, T), system.resolve_params(stored)
