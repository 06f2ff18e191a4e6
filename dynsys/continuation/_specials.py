"""The variables every special-point table shares (private): type, state, step and status."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = ["labelled", "special_variables"]


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
    >>> s = NS(type="LP", point=NS(u=np.array([1.0, 2.0, 0.5])), step=3, status="converged")
    >>> v = special_variables([s], 2, "LP fold")
    >>> v["special_x"].values.tolist(), int(v["special_step"][0])
    ([[1.0, 2.0]], 3)
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
        "special_status": labelled(
            "special",
            np.array([s.status for s in specials], dtype="<U9"),
            "location status (converged or guess)",
        ),
    }
