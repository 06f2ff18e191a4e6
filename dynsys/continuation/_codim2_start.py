"""Starting a two-parameter curve at a special point of a result Dataset: a Hopf or fold point of
a branch, or a Bogdanov-Takens point of another two-parameter curve (where the fold and Hopf
curves meet)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._status import Status
from ..errors import InputError
from ._detect import Special

__all__ = ["bt_start", "is_curve", "special_row", "stored_values", "with_start_special"]

_NAMES = {"H": "Hopf point (H)", "LP": "fold (LP)", "BT": "Bogdanov-Takens point (BT)"}


def is_curve(data) -> bool:
    """Whether ``data`` is a two-parameter curve (from continue_fold or continue_hopf)."""
    return isinstance(data, xr.Dataset) and "continuation_param2" in data.attrs


def special_row(data: xr.Dataset, kind: str, special, what: str, hint: str) -> int:
    """The row of the special point of type ``kind`` to start from: ``special``, or the first."""
    types = data["special_type"].values
    rows = np.flatnonzero(types == kind)
    if special is None:
        if rows.size == 0:
            raise InputError(f"{what} has no {_NAMES[kind]} in its special-point table; {hint}")
        return int(rows[0])
    if not (
        isinstance(special, int | np.integer)
        and not isinstance(special, bool)
        and 0 <= special < types.size
        and types[special] == kind
    ):
        raise InputError(
            f"`special`={special!r} is not the row of a {kind!r} in {what}; its {kind} rows "
            f"are {rows.tolist()}."
        )
    return int(special)


def stored_values(system, data: xr.Dataset, params) -> dict:
    """The parameter values stored in a result, overridden by ``params``."""
    stored = {k: data.attrs[f"param_{k}"] for k in system.param_names if f"param_{k}" in data.attrs}
    return system.resolve_params({**stored, **dict(params or {})})


def bt_start(system, curve: xr.Dataset, param1, param2, params, special, what: str):
    """State and parameter values of a Bogdanov-Takens point of a two-parameter curve."""
    given = (curve.attrs.get("continuation_param"), curve.attrs.get("continuation_param2"))
    if given != (param1, param2):
        raise InputError(
            f"{what} is a curve in {given!r}, not in (`param1`, `param2`) = "
            f"{(param1, param2)!r}; pass the same two parameters."
        )
    row = special_row(
        curve, "BT", special, what, "start from a curve through one, or from a branch."
    )
    values = stored_values(system, curve, params)
    values[param1] = float(curve["special_param"].values[row])
    values[param2] = float(curve["special_param2"].values[row])
    return np.asarray(curve["special_x"].values[row], dtype=float), values


def with_start_special(problem, traced, kind: str) -> None:
    """Put the start point of ``traced`` into its special table as a located ``kind`` point
    (a curve started at a codimension-two point skips its first interval: it does not detect
    the point it starts from)."""
    point = traced.points[traced.start_step]
    entry = Special(kind, traced.start_step, point, Status.CONVERGED, problem.describe(kind, point))
    position = sum(1 for s in traced.specials if s.step < traced.start_step)
    traced.specials.insert(position, entry)
