"""``bifurcation_diagram``: from one start, follow every branch that bifurcates, to a depth."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import datatree, indexed_dataset, provenance
from .._status import Status
from ..errors import ContinuationError, InputError
from ..maps import Map
from ._branch import _check_options, branch_dataset, trace_branch
from ._linalg import SingularMatrixError
from ._map_switch import map_bifurcation_diagram
from ._options import ContinuationOptions
from ._switch import switch_traced
from ._trace import describe_traced

__all__ = ["bifurcation_diagram"]

_SAME_POINT_RTOL = 1e-6


def bifurcation_diagram(
    system,
    x0,
    param: str,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions | None = None,
    max_depth: int = 2,
    max_branches: int = 50,
    direction: int | str = "both",
    progress: bool = False,
    period: int | None = None,
) -> xr.DataTree:
    """Follow a branch and, recursively, every branch through its branch points (for a map
    also: the period-doubled cycle from every period doubling).

    A simple branch point joins exactly two branches; one seen on two branches already has both
    of them, so no branch is traced twice.

    Parameters
    ----------
    system, x0, param, params, options, direction, progress
        As for :func:`continue_branch` (``direction`` applies to the first branch; switched
        branches are followed both ways through their branch point).
    max_depth : int
        Switching depth: 0 gives the first branch only, 1 adds the branches through its branch
        points, and so on.
    max_branches : int
        Stop switching once this many branches exist.
    period : int, optional
        Maps only: the period of the cycles of the first branch (1 by default). A map's
        diagram switches at branch points (BP) and, at each period doubling (PD), onto the
        cycle of twice the period, so ``max_depth`` doublings follow a period-doubling
        cascade.

    Returns
    -------
    xarray.DataTree
        Children ``branch0`` (the first branch), ``branch1``, ... in the order found, each a
        branch Dataset as from :func:`continue_branch` with attributes ``depth``,
        ``parent_branch`` ("" for ``branch0``) and ``parent_special`` (row of the parent's
        special table, -1 for ``branch0``). The root holds provenance, ``n_branches`` and
        ``n_failed_switches``. Save it with :func:`dynsys.io.save`.

    Raises
    ------
    dynsys.errors.InputError
        If ``max_depth`` or ``max_branches`` is not a non-negative (positive) integer, and as
        :func:`continue_branch`.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, bifurcation_diagram
    >>> from dynsys.models import pitchfork_normal_form
    >>> opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    >>> tree = bifurcation_diagram(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    >>> sorted(tree.children), tree["branch1"].attrs["parent_branch"]
    (['branch0', 'branch1'], 'branch0')
    """
    options = _check_options(options)
    for name, value, low in (("max_depth", max_depth, 0), ("max_branches", max_branches, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise InputError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    if isinstance(system, Map):
        return map_bifurcation_diagram(
            system,
            x0,
            param,
            period=1 if period is None else period,
            params=params,
            options=options,
            max_depth=max_depth,
            max_branches=max_branches,
            direction=direction,
            progress=progress,
            bp_switch=switch_traced,
        )
    if period is not None:
        raise InputError(
            f"`period` applies to maps; '{system.name}' is a flow. Build a map (for example "
            "dynsys.maps.gradient_descent_map(system)) to follow cycles of a map."
        )
    # the special points of every branch are described at the end, in one batch
    problem, system, first = trace_branch(
        system, x0, param, params, options, direction, progress, describe=False
    )
    nodes = [("branch0", first, 0, "", -1)]
    known: list[list[Any]] = []  # [u, number of branches seen through it]
    queue: deque = deque()

    def register(name: str, traced, depth: int) -> None:
        for row, special in enumerate(traced.specials):
            if special.type != "BP":
                continue
            u = special.point.u
            tol = _SAME_POINT_RTOL * (1.0 + float(np.linalg.norm(u)))
            if special.status != Status.CONVERGED:  # known only to lie in its bracket
                k = min(special.step + 1, len(traced.points) - 1)
                tol += float(np.linalg.norm(traced.points[k].u - traced.points[special.step].u))
            entry = next((e for e in known if np.linalg.norm(e[0] - u) <= tol), None)
            if entry is not None:
                entry[1] += 1
                continue
            entry = [u, 1]
            known.append(entry)
            if depth < max_depth:
                queue.append((name, row, special, entry, depth))

    register("branch0", first, 0)
    failed = 0
    while queue and len(nodes) < max_branches:
        parent, row, special, entry, depth = queue.popleft()
        if entry[1] >= 2:
            continue
        name = f"branch{len(nodes)}"
        try:
            child = switch_traced(
                problem,
                special.point.u,
                special.point.t,
                options,
                progress=progress,
                label=name,
                describe=False,
            )
        except (SingularMatrixError, ContinuationError):
            failed += 1
            continue
        nodes.append((name, child, depth + 1, parent, row))
        register(name, child, depth + 1)
    describe_traced(problem, [traced for _, traced, *_ in nodes])
    root = indexed_dataset(  # no variables: xr.Dataset(attrs=...), without its merge
        {},
        {},
        provenance(
            system,
            continuation_param=param,
            max_depth=int(max_depth),
            n_branches=len(nodes),
            n_failed_switches=failed,
            **options.as_attrs(),
        ),
    )
    children = {
        name: branch_dataset(
            problem,
            system,
            traced,
            options,
            depth=depth,
            parent_branch=parent,
            parent_special=row,
            **traced.extra,
        )
        for name, traced, depth, parent, row in nodes
    }
    return datatree(root, children)
