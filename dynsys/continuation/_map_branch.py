"""Branches of fixed points and cycles of maps: ``continue_branch`` on a Map, and their Dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex
from .._validate import as_state_batch
from ..errors import InputError, UnknownParameterError
from ._map_problem import MapCycleProblem
from ._options import ContinuationOptions
from ._specials import end_status, labelled, special_variables
from ._trace import Traced, check_direction, initial_tangent, orient, refine_start, trace

__all__ = [
    "check_period",
    "continue_map_branch",
    "map_branch_dataset",
    "map_problem",
    "trace_map_branch",
]

MAP_SPECIAL_TYPES = "LP fold (multiplier +1), BP branch point, PD period doubling (-1), NS "
MAP_SPECIAL_TYPES += "Neimark-Sacker (complex pair on the unit circle)"


def check_period(period) -> int:
    """``period`` as a positive int, or an InputError."""
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
        raise InputError(
            f"`period` must be a positive integer (1: fixed points of the map, k: cycles of "
            f"period k); got {period!r}."
        )
    return int(period)


def map_problem(map, param: str, params, options, period: int):
    """The problem object and the map with the run's parameter values as defaults."""
    if not isinstance(param, str) or param not in map.param_names:
        raise UnknownParameterError(
            f"`param` {param!r} is not a parameter of map '{map.name}'; it has "
            f"{sorted(map.param_names)}."
        )
    values = map.resolve_params(params)
    map = map.with_params(**values)
    return MapCycleProblem(map, param, values, options, period), map


def _start_points(map, x0, period: int, p) -> np.ndarray:
    """The ``(period, n)`` start cycle: the given points, or the orbit of one given point."""
    n = map.n
    x = as_state_batch(x0, n, name="x0")
    if x.ndim == 1:
        points = [x]
        for _ in range(period - 1):
            points.append(np.asarray(map.g(points[-1], p), dtype=float))
        return np.stack(points)
    if x.shape != (period, n):
        raise InputError(
            f"`x0` has shape {x.shape}; give one point of the cycle, shape ({n},), or all its "
            f"points in the order of the map, shape ({period}, {n})."
        )
    return x


def trace_map_branch(map, x0, param, period, params, options, direction, progress):
    """Checks, start refinement and tracing behind :func:`continue_map_branch`."""
    check_direction(direction)
    period = check_period(period)
    problem, map = map_problem(map, param, params, options, period)
    p0 = float(problem.base[param])
    if not options.p_min <= p0 <= options.p_max:
        raise InputError(
            f"the start value {param}={p0!r} lies outside [p_min, p_max] = "
            f"[{options.p_min!r}, {options.p_max!r}]; widen the bounds or start elsewhere."
        )
    X = _start_points(map, x0, period, problem.base)
    u = refine_start(problem, np.append(X.ravel(), p0), options, "`x0`")
    _check_minimal(problem.points(u), period)
    t = orient(initial_tangent(problem, u))
    traced = trace(problem, u, t, direction, options, progress=progress, label=param)
    return problem, map, traced


def _check_minimal(X: np.ndarray, period: int) -> None:
    """Refuse a start cycle whose points repeat with a smaller period (it would be continued as
    a cycle of the larger one)."""
    scale = 1.0 + float(np.max(np.abs(X)))
    for q in range(1, period):
        if period % q == 0 and np.max(np.abs(np.roll(X, -q, axis=0) - X)) <= 1e-8 * scale:
            raise InputError(
                f"`x0` leads to a cycle of minimal period {q}, not {period}: its points repeat "
                f"every {q} iterations. Continue it with period={q}, or start on a cycle of "
                f"period {period} (switch_branch at a period doubling reaches the doubled one)."
            )


def continue_map_branch(
    map,
    x0,
    param: str,
    *,
    period: int = 1,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions,
    direction: int | str = "both",
    progress: bool = False,
) -> xr.Dataset:
    """:func:`dynsys.continuation.continue_branch` for a map (see its documentation)."""
    problem, map, traced = trace_map_branch(
        map, x0, param, period, params, options, direction, progress
    )
    return map_branch_dataset(problem, map, traced, options, direction=str(direction))


def _special_table(problem, traced: Traced, index: np.ndarray) -> dict[str, xr.Variable]:
    specials = traced.specials
    m, k, d = len(specials), problem.period, problem.dim
    last = len(traced.points) - 1
    delta = []
    for s in specials:
        lo, hi = (
            (max(s.step - 1, 0), min(s.step + 1, last))
            if s.info.get("junction")
            else (
                s.step,
                min(s.step + 1, last),
            )
        )
        delta.append(int(index[hi] - index[lo]))
    s_left = traced.arclength
    arclength = [
        float(s_left[s.step] + traced.points[s.step].t @ (s.point.u - traced.points[s.step].u))
        for s in specials
    ]
    mu = np.array([s.point.data["eig"] for s in specials], dtype=complex).reshape(m, d)
    info = {
        key: np.array([s.info.get(key, np.nan) for s in specials], dtype=float)
        for key in ("fold_a", "flip_c", "ns_angle")
    }
    return {
        **special_variables(specials, d, MAP_SPECIAL_TYPES),
        "special_x_cycle": labelled(
            ("special", "phase", "state"),
            np.array([s.point.u[: k * d] for s in specials], dtype=float).reshape(m, k, d),
            "points of the cycle at the special point",
        ),
        "special_param": labelled(
            "special",
            np.array([s.point.u[-1] for s in specials], dtype=float),
            f"parameter {problem.param} at the special point",
        ),
        **split_complex(
            mu, ("special", "mode"), "special_multiplier", "multiplier at the special point"
        ),
        "special_delta_index": labelled(
            "special",
            np.array(delta, dtype=np.int64),
            "change of the number of multipliers outside the unit circle across the point",
        ),
        "special_fold_a": labelled(
            "special", info["fold_a"], "fold quadratic coefficient (NaN if not LP)"
        ),
        "special_flip_c": labelled(
            "special",
            info["flip_c"],
            "period-doubling coefficient c: > 0 supercritical, < 0 subcritical (NaN if not PD)",
        ),
        "special_ns_angle": labelled(
            "special",
            info["ns_angle"],
            "argument of the critical multiplier pair exp(+-i theta) (NaN if not NS)",
            units="rad",
        ),
        "special_arclength": labelled(
            "special", np.array(arclength, dtype=float).reshape(m), "pseudo-arclength"
        ),
    }


def map_branch_dataset(
    problem: MapCycleProblem, map, traced: Traced, options: ContinuationOptions, **attrs: Any
) -> xr.Dataset:
    """The branch Dataset of a map (layout in :func:`dynsys.continuation.continue_branch`)."""
    k, d = problem.period, problem.dim
    pts = traced.points
    U = np.array([p.u for p in pts])
    mu = np.array([p.data["eig"] for p in pts], dtype=complex)
    index = np.array([p.data["index"] for p in pts], dtype=np.int64)
    nullity = np.array([p.data["nullity"] for p in pts], dtype=np.int64)
    kind = np.array([p.data["kind"] for p in pts], dtype=str)
    variables: dict[str, xr.Variable] = {
        "param": labelled("step", U[:, -1], f"parameter {problem.param}"),
        "x": labelled(("step", "state"), U[:, :d], "state (phase 0 of the cycle)"),
        "x_cycle": labelled(
            ("step", "phase", "state"), U[:, :-1].reshape(-1, k, d), "points of the cycle"
        ),
        **split_complex(mu, ("step", "mode"), "multiplier", f"multiplier (eigenvalue of Dg^{k})"),
        "stable": labelled(
            "step", (index == 0) & (nullity == 0), "asymptotically stable: every |mu| < 1"
        ),
        "index": labelled("step", index, "number of multipliers outside the unit circle"),
        "nullity": labelled("step", nullity, "number of multipliers on the unit circle"),
        "kind": labelled("step", kind, "kind of cycle"),
        "arclength": labelled("step", traced.arclength, "pseudo-arclength from the start point"),
        "newton_iterations": labelled(
            "step", np.array([p.iterations for p in pts], dtype=np.int64), "corrector iterations"
        ),
        "tangent_param": labelled(
            "step",
            np.array([p.t[-1] for p in pts]),
            "parameter component of the unit tangent (fold test function)",
        ),
        **_special_table(problem, traced, index),
    }
    variables["status"], end = end_status(traced.stop_backward, traced.stop_forward)
    settings = {
        "continuation_param": problem.param,
        "period": k,
        **options.as_attrs(),
        "index_method": "all multipliers",
        "start_step": traced.start_step,
        "n_points": len(pts),
        "n_special": len(traced.specials),
        "n_newton_iterations": traced.n_newton,
        "n_rejected_steps": traced.n_rejected,
        **attrs,
    }
    return xr.Dataset(
        variables,
        coords={
            "step": np.arange(len(pts)),
            "state": list(map.state_names),
            "phase": np.arange(k),
            "mode": np.arange(d),
            "special": np.arange(len(traced.specials)),
            "end": end,
        },
        attrs=provenance(map, **settings),
    )
