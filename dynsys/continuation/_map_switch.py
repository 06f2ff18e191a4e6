"""Branch switching for maps: onto the period-doubled cycle at a PD, onto the other branch at a
BP, and bifurcation diagrams that follow both (the period-doubling cascade among them).

At a period doubling of a ``k``-cycle ``(x_0, ..., x_(k-1))`` the multiplier ``-1`` has an
eigenvector ``v_0`` of ``M = D g^k(x_0)``; carried along the cycle, ``v_(i+1) = Dg(x_i) v_i``, it
comes back as ``v_k = M v_0 = -v_0``. In the unknowns of the ``2k``-cycle (the ``k``-cycle
traversed twice, ``(x, x, p)``) the period doubling is a branch point: the old cycle continues as
a symmetric solution, and the doubled cycle leaves along the antisymmetric direction
``w = (v_0, ..., v_(k-1), -v_0, ..., -v_(k-1), 0)``, with the parameter stationary
(``p - p_PD = O(h^2)`` at amplitude ``h``). The new branch is traced from ``(x, x, p_PD)`` along
``w`` by the pseudo-arclength corrector: its first step fixes the amplitude along ``w`` at the
first step length ``ds`` and solves for the cycle and the parameter (Newton at a small offset
along ``w``), so no normal-form coefficient is needed to choose the parameter; the old branch
cannot attract the corrector because every symmetric vector is orthogonal to ``w``. The two
directions ``+-w`` give one cycle shifted by ``k`` points, so one direction is traced.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from .._status import Status
from ..errors import ContinuationError, InputError
from ._detect import Special
from ._linalg import SingularMatrixError
from ._map_branch import map_branch_dataset, map_problem, trace_map_branch
from ._map_problem import MapCycleProblem
from ._options import ContinuationOptions
from ._trace import Traced, check_direction, trace

__all__ = ["doubling_direction", "map_bifurcation_diagram", "switch_map_branch", "switch_pd"]

_SAME_POINT_RTOL = 1e-6


def doubling_direction(problem: MapCycleProblem, u: np.ndarray):
    """The ``2k`` problem, the start ``(x, x, p)`` and the unit direction ``w`` of the doubled
    cycle at the period doubling ``u`` of a ``k``-cycle (see the module docstring)."""
    k = problem.period
    D, _ = problem.blocks(u)
    M = problem.monodromy(u)
    values, vectors = np.linalg.eig(M)
    i = int(np.argmin(np.abs(values + 1.0)))
    if abs(values[i] + 1.0) > 1e-4:
        raise ContinuationError(
            f"no multiplier near -1 at the period-doubling point (nearest {values[i]:.6g}); it "
            "was not located. Tighten locate_tol or use smaller steps."
        )
    v = [np.real(vectors[:, i])]
    for block in D[:-1]:
        v.append(block @ v[-1])
    half = np.concatenate(v)
    w = np.concatenate([half, -half, [0.0]])
    w /= np.linalg.norm(w)
    X = problem.points(u)
    start = np.concatenate([X.ravel(), X.ravel(), [u[-1]]])
    return problem.with_period(2 * k), start, w


def switch_pd(
    problem: MapCycleProblem,
    u: np.ndarray,
    options,
    *,
    direction=1,
    progress: bool = False,
    label: str = "",
) -> tuple[MapCycleProblem, Traced]:
    """Trace the doubled cycle from the period doubling ``u`` of ``problem`` (internal form);
    the start carries a junction special point of type "PD"."""
    doubled, start, w = doubling_direction(problem, u)
    sign = -1 if direction == -1 else 1
    traced = trace(
        doubled, start, sign * w, 1, options, progress=progress, label=label, at_branch_point=True
    )
    first = traced.points[traced.start_step]
    junction = Special("PD", traced.start_step, first, Status.CONVERGED, {"junction": True})
    traced.specials = [junction, *traced.specials]
    traced.extra = {"switch_method": "period doubling (critical eigenvector)"}
    return doubled, traced


def _check_special(branch: xr.Dataset, special) -> str:
    types = branch["special_type"].values
    if not isinstance(special, int | np.integer) or not 0 <= special < types.size:
        raise InputError(
            f"`special` must be an index into the {types.size} special points of `branch`; "
            f"got {special!r}."
        )
    kind = str(types[special])
    if kind not in ("BP", "PD"):
        raise InputError(
            f"special point {special} is of type {kind!r}; branch switching on a map needs a "
            "'PD' (period doubling: the doubled cycle) or a 'BP' (branch point)."
        )
    return kind


def switch_map_branch(
    map,
    branch: xr.Dataset,
    special: int,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions,
    direction: int | str = "both",
    progress: bool = False,
    bp_switch: Callable[..., Traced],
) -> xr.Dataset:
    """:func:`dynsys.continuation.switch_branch` for a map (see its documentation);
    ``bp_switch`` is the engine's switch at a simple branch point (``switch_traced``)."""
    check_direction(direction)
    if "period" not in branch.attrs or "x_cycle" not in branch:
        raise InputError(
            "`branch` is not a branch of a map (no `period` attribute or `x_cycle`); pass a "
            "result of continue_branch(map, ...)."
        )
    kind = _check_special(branch, special)
    param = str(branch.attrs.get("continuation_param", ""))
    stored = {
        k: branch.attrs[f"param_{k}"] for k in map.param_names if f"param_{k}" in branch.attrs
    }
    period = int(branch.attrs["period"])
    problem, map = map_problem(map, param, {**stored, **dict(params or {})}, options, period)
    u = np.append(
        branch["special_x_cycle"].values[special].ravel(), branch["special_param"].values[special]
    )
    if kind == "PD":
        problem, traced = switch_pd(
            problem, u, options, direction=direction, progress=progress, label=param
        )
    else:
        k = int(branch["special_step"].values[special])
        X = np.column_stack(
            [branch["x_cycle"].values.reshape(branch.sizes["step"], -1), branch["param"].values]
        )
        secant = X[k + 1] - X[k] if k + 1 < X.shape[0] else X[k] - X[k - 1]
        traced = bp_switch(
            problem,
            u,
            secant / np.linalg.norm(secant),
            options,
            direction=direction,
            progress=progress,
            label=param,
        )
    return map_branch_dataset(
        problem,
        map,
        traced,
        options,
        direction=str(direction),
        parent_special=int(special),
        parent_period=period,
        **traced.extra,
    )


def map_bifurcation_diagram(
    map,
    x0,
    param: str,
    *,
    period: int = 1,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions,
    max_depth: int = 2,
    max_branches: int = 50,
    direction: int | str = "both",
    progress: bool = False,
    bp_switch: Callable[..., Traced],
) -> xr.DataTree:
    """:func:`dynsys.continuation.bifurcation_diagram` for a map: switches at branch points
    (with ``bp_switch``, the engine's ``switch_traced``) and onto the doubled cycle at every
    period doubling (see its documentation)."""
    problem, map, first = trace_map_branch(
        map, x0, param, period, params, options, direction, progress
    )
    nodes = [("branch0", problem, first, 0, "", -1)]
    known: list[list[Any]] = []  # [u, number of branches seen through it, period]
    queue: deque = deque()

    def register(name: str, prob: MapCycleProblem, traced: Traced, depth: int) -> None:
        for row, special in enumerate(traced.specials):
            junction = bool(special.info.get("junction"))
            entry = None
            if special.type == "BP":
                entry = _seen(known, prob.period, special.point.u, traced, special)
                if entry[1] > 1:
                    continue
            elif special.type != "PD" or junction:
                continue
            if depth < max_depth and not junction:
                queue.append((name, row, special, prob, entry, depth))

    register("branch0", problem, first, 0)
    failed = 0
    while queue and len(nodes) < max_branches:
        parent, row, special, prob, entry, depth = queue.popleft()
        if entry is not None and entry[1] >= 2:
            continue
        name = f"branch{len(nodes)}"
        try:
            if special.type == "PD":
                child_problem, child = switch_pd(prob, special.point.u, options, label=name)
            else:
                child_problem = prob
                child = bp_switch(prob, special.point.u, special.point.t, options, label=name)
        except (SingularMatrixError, ContinuationError):
            failed += 1
            continue
        nodes.append((name, child_problem, child, depth + 1, parent, row))
        register(name, child_problem, child, depth + 1)
    tree: dict[str, xr.Dataset] = {
        "/": xr.Dataset(
            attrs=provenance(
                map,
                continuation_param=param,
                max_depth=int(max_depth),
                n_branches=len(nodes),
                n_failed_switches=failed,
                **options.as_attrs(),
            )
        )
    }
    for name, prob, traced, depth, parent, row in nodes:
        tree[name] = map_branch_dataset(
            prob,
            map,
            traced,
            options,
            depth=depth,
            parent_branch=parent,
            parent_special=row,
            **traced.extra,
        )
    return xr.DataTree.from_dict(tree)


def _seen(known: list, period: int, u: np.ndarray, traced: Traced, special) -> list:
    """The entry of the branch point ``u`` (of ``period``-cycles) in ``known``, its count of
    branches seen raised by one; a new entry when it is new."""
    tol = _SAME_POINT_RTOL * (1.0 + float(np.linalg.norm(u)))
    if special.status != Status.CONVERGED:
        k = min(special.step + 1, len(traced.points) - 1)
        tol += float(np.linalg.norm(traced.points[k].u - traced.points[special.step].u))
    for entry in known:
        if entry[2] == period and np.linalg.norm(entry[0] - u) <= tol:
            entry[1] += 1
            return entry
    entry = [u, 1, period]
    known.append(entry)
    return entry
