"""The variables every branch and special-point table shares (private): type, state, step and
status of the special points, and why each end of the curve stopped."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import status_variable
from .._status import Status

__all__ = ["END_LABELS", "end_status", "labelled", "special_variables"]

END_LABELS = ("backward", "forward")


def labelled(dims, values, long_name: str, **attrs: Any) -> xr.Variable:
    """An ``xr.Variable`` with a ``long_name`` (and further attributes)."""
    return xr.Variable(dims, values, {"long_name": long_name, **attrs})


def special_variables(specials, n: int, types: str) -> dict[str, xr.Variable]:
    """``special_type``, ``special_x``, ``special_step`` and ``special_status`` of located special
    points (objects with ``type``, ``point.u`` (state first), ``step`` and ``status``); ``types``
    explains the type codes.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> s = NS(type="LP", point=NS(u=np.array([1.0, 2.0, 0.5])), step=3, status=Status.CONVERGED)
    >>> v = special_variables([s], 2, "LP fold")
    >>> v["special_x"].values.tolist(), int(v["special_step"][0]), int(v["special_status"][0])
    ([[1.0, 2.0]], 3, 0)
    """
    m = len(specials)
    return {
        "special_type": labelled(
            "special",
            np.array([s.type for s in specials], dtype="<U2"),
            f"type of special point ({types})",
        ),
        "special_x": labelled(
            ("special", "state"),
            np.array([s.point.u[:n] for s in specials], dtype=float).reshape(m, n),
            "state at the special point",
        ),
        "special_step": labelled(
            "special",
            np.array([s.step for s in specials], dtype=np.int64),
            "step before the special point (it lies in [step, step + 1])",
        ),
        "special_status": _special_status([s.status for s in specials]),
    }


def _special_status(codes) -> xr.Variable:
    var = status_variable(np.array(codes, dtype=np.int8).reshape(len(codes)), "special")
    var.attrs["long_name"] = (
        "location of the special point: converged, or max_iter (not located to locate_tol; the "
        "point is the best estimate, inside its bracket)"
    )
    return var


def end_status(stop_backward: Status | None, stop_forward: Status | None):
    """The ``status(end)`` variable and its ``end`` coordinate: why each traced direction of a
    curve stopped (a Status from ``RESULTS["continuation"]``). Only traced directions have an
    end: a one-way run, or a closed loop found going forward, has ``end = ["forward"]`` (or
    ``["backward"]``).

    Examples
    --------
    >>> var, end = end_status(None, Status.CLOSED_LOOP)
    >>> end, var.values.tolist(), var.dims
    (['forward'], [16], ('end',))
    """
    stops = dict(zip(END_LABELS, (stop_backward, stop_forward), strict=True))
    end = [label for label, code in stops.items() if code is not None]
    var = status_variable([int(stops[label]) for label in end], "end")
    var.attrs["long_name"] = (
        "why the curve stopped at each traced end (dynsys.explain(code) says what to change)"
    )
    return var, end
