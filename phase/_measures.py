"""Measures of states for diagrams: a state variable, the norm, the loss, or any function; and
the largest and smallest value of a sampled periodic profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from dynsys.errors import InputError, InputTypeError

__all__ = [
    "LOSS_NAMES",
    "Measure",
    "branch_context",
    "evaluate",
    "periodic_extremes",
    "state_index",
]

LOSS_NAMES = ("loss", "energy", "potential")

Measure = str | int | Callable[[np.ndarray], Any] | None


def _loss(system, param: str | None, base, X: np.ndarray, P: np.ndarray) -> np.ndarray:
    if system is None or not system.has_potential:
        raise InputError(
            "the measure 'loss' needs `system=`, a system with a potential (a GradientSystem, "
            "a LyapunovSystem or a gradient-descent map); pass the system the states belong to."
        )
    if param not in system.param_names:
        raise InputError(
            f"`system` has no parameter {param!r} (the parameter that varies here); pass the "
            "system the states belong to."
        )
    values = system.resolve_params(base)
    return np.array(
        [float(system.potential(x, {**values, param: float(p)})) for x, p in zip(X, P, strict=True)]
    ).reshape(len(X))


def branch_context(branch: xr.Dataset, system) -> tuple[str, dict[str, float]]:
    """The continued parameter of a branch and the other parameter values stored with it."""
    param = str(branch.attrs.get("continuation_param", ""))
    if system is None:
        return param, {}
    stored = {
        name: float(branch.attrs[f"param_{name}"])
        for name in system.param_names
        if f"param_{name}" in branch.attrs
    }
    return param, stored


def _apply(fn: Callable, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.zeros(0)
    values = np.asarray(fn(X), dtype=float)
    if values.shape != (len(X),):  # not vectorised over the leading axis: one state at a time
        values = np.array([float(np.asarray(fn(x), dtype=float)) for x in X])
    return values


def state_index(measure, names: list[str], n: int) -> int | None:
    """The state a measure names (an index or a state name), None if it names none."""
    if isinstance(measure, int | np.integer) and not isinstance(measure, bool):
        k = int(measure)
        if not -n <= k < n:
            raise InputError(f"`measure`={k} is not a state index; the state has {n} variables.")
        return k % n
    if isinstance(measure, str) and measure in names:
        return names.index(measure)
    return None


def evaluate(
    measure: Measure,
    X: np.ndarray,
    P: np.ndarray,
    names: list[str],
    *,
    system=None,
    param: str | None = None,
    params: dict[str, float] | None = None,
    extra: str = "",
) -> tuple[np.ndarray, str]:
    """The measure of states ``X`` (shape ``(m, n)``) and an axis label.

    The loss is the potential of ``system`` at parameter ``param`` equal to ``P`` (shape
    ``(m,)``) and the other parameters at ``params`` (default: the system's). ``extra`` lists
    further measure names the caller accepts, for the error message.
    """
    n = X.shape[-1]
    if measure is None:
        measure = 0
    if callable(measure):
        return _apply(measure, X), getattr(measure, "__name__", "measure")
    if not isinstance(measure, str | int | np.integer) or isinstance(measure, bool):
        raise InputTypeError(
            "`measure` must be None, a state index, a state name, 'norm', 'loss'"
            f"{extra} or a callable; got {measure!r}."
        )
    k = state_index(measure, names, n)
    if k is not None:
        return X[:, k], names[k] if names else f"x[{k}]"
    if measure == "norm":
        return np.linalg.norm(X, axis=-1), "|x|"
    if measure in LOSS_NAMES:
        return _loss(system, param, params or {}, X, P), str(measure)
    raise InputError(
        f"`measure` {measure!r} is not a state variable {names}, 'norm' or 'loss'{extra}; "
        "choose one of those or pass a function of the state."
    )


def periodic_extremes(values: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest and smallest value of periodic profiles sampled at normalized times.

    ``values`` and ``tau`` have shape ``(..., samples)``, ``tau`` increasing in ``[0, 1)``. The
    extreme sample and its two neighbours (across the end of the period too) are joined by a
    parabola whose vertex gives the extreme: exact for a profile that is quadratic near its
    extreme, and far closer than the best sample for a smooth one.

    Examples
    --------
    >>> tau = np.arange(40) / 40  # the best sample of this cosine is 2e-3 below its maximum
    >>> high, low = periodic_extremes(np.cos(2 * np.pi * (tau - 0.01)), tau)
    >>> bool(abs(high - 1) < 2e-5 and abs(low + 1) < 2e-5)
    True
    """
    values = np.asarray(values, dtype=float)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), values.shape)

    def vertex(v, t):
        m = v.shape[-1]
        j = np.argmax(v, axis=-1)[..., None]
        prev, after = (j - 1) % m, (j + 1) % m
        v0, v1, v2 = (np.take_along_axis(v, i, -1)[..., 0] for i in (prev, j, after))
        t1 = np.take_along_axis(t, j, -1)[..., 0]
        t0 = np.take_along_axis(t, prev, -1)[..., 0] - (j[..., 0] == 0)
        t2 = np.take_along_axis(t, after, -1)[..., 0] + (j[..., 0] == m - 1)
        h0, h2 = t0 - t1, t2 - t1  # h0 < 0 < h2
        with np.errstate(all="ignore"):
            d0, d2 = (v0 - v1) / h0, (v2 - v1) / h2
            a = (d2 - d0) / (h2 - h0)  # v = v1 + b s + a s^2 with s = t - t1
            b = d0 - a * h0
            top = v1 - b * b / (4 * a)
        ok = np.isfinite(top) & (a < 0) & (top >= v1)
        return np.where(ok, top, v1)

    if values.shape[-1] < 3:
        return np.max(values, axis=-1), np.min(values, axis=-1)
    return vertex(values, tau), -vertex(-values, tau)
