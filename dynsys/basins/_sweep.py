"""Basin probabilities over values of a parameter, with common random numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment

from .._dataset import provenance, status_variable
from .._execution import open_executor
from .._points import relative_scale
from ..errors import InputError
from ._dataset import attractor_variables
from ._engine import (
    BasinRun,
    check_count,
    check_sampler,
    draw_seed,
    run_samples,
    sampler_preview,
)
from ._known import KnownAttractors
from ._options import BasinOptions
from ._samplers import describe_sampler
from ._statistics import wilson_interval

__all__ = ["basin_probability_sweep"]

_FILL = {"U": "", "i": -1}  # absent attractors: "" for text, -1 for integers, NaN otherwise
_FAMILY = {"point": "point", "cycle": "cycle"}  # others: "set" (chaotic, quasi-periodic, ...)


def _target(system, sampler, param: str) -> str:
    in_system = param in system.param_names
    in_sampler = param in {f.name for f in dataclasses.fields(sampler)}
    if in_system and in_sampler:
        raise InputError(f"`param` {param!r} names both a system parameter and a sampler field.")
    if not (in_system or in_sampler):
        raise InputError(
            f"`param` {param!r} is neither a parameter of {system.name!r} "
            f"{sorted(system.param_names)} nor a field of {type(sampler).__name__} "
            f"{[f.name for f in dataclasses.fields(sampler)]}."
        )
    return "system" if in_system else "sampler"


def _track(tables: list[KnownAttractors], track_tol: float | None) -> list[np.ndarray]:
    """Global ids of the attractors of each table. Points are tracked among points, cycles
    among cycles and recurrent sets among recurrent sets, by a state of each (a point's
    canonical form; the mean of a cycle's or a set's drawn points). An attractor continues a
    global one of its family (last seen state) when the optimal assignment of distances pairs
    them, they are each other's nearest neighbours, and (with ``track_tol``) they are closer
    than ``track_tol * max(1, |x|_inf)``; otherwise it starts a new global attractor."""
    last: list[np.ndarray] = []  # last seen state of each global id
    family_of: list[str] = []
    ids = []
    for table in tables:
        rows = table.rows()
        local = np.full(len(rows), -1, dtype=np.int64)
        families = np.array([_FAMILY.get(r.type, "set") for r in rows], dtype=object)
        for family in dict.fromkeys(families.tolist()):
            mine = np.flatnonzero(families == family)
            theirs = [g for g, f in enumerate(family_of) if f == family]
            if not theirs:
                continue
            here = np.stack([rows[j].where for j in mine])
            known = np.stack([last[g] for g in theirs])
            cost = np.linalg.norm(here[:, None, :] - known[None, :, :], axis=-1)
            r_idx, c_idx = linear_sum_assignment(cost)
            ok = (cost.argmin(axis=1)[r_idx] == c_idx) & (cost.argmin(axis=0)[c_idx] == r_idx)
            if track_tol is not None:
                ok &= cost[r_idx, c_idx] <= track_tol * relative_scale(known[c_idx])
            local[mine[r_idx[ok]]] = np.asarray(theirs)[c_idx[ok]]
        for j in np.flatnonzero(local < 0):
            local[j] = len(last)
            last.append(rows[j].where)
            family_of.append(str(families[j]))
        for j, gid in enumerate(local):
            last[gid] = rows[j].where
        ids.append(local)
    return ids


def basin_probability_sweep(
    system,
    param: str,
    values: Sequence[float],
    sampler,
    n: int,
    *,
    attractors=None,
    params: Mapping[str, float] | None = None,
    options: BasinOptions = BasinOptions(),
    symmetry=None,
    reference=None,
    seed: int | None = None,
    run_dir=None,
    executor=None,
    progress: bool = False,
) -> xr.Dataset:
    """Basin probabilities over values of a parameter, from the same initial states at each value.

    Parameters
    ----------
    system : System, Map or SystemRef
        The flow or the map.
    param : str
        A parameter of the system, or a field of the sampler (e.g. ``"radius"`` of a
        :class:`~dynsys.basins.SmallBall`).
    values : sequence of float
        The values of ``param``.
    sampler, n
        The distribution of initial states and the number of samples per value.
    attractors : Dataset or array_like, optional
        Known points. In a sweep of a system parameter they are refined by Newton at each value
        (those that Newton cannot verify there are left out at that value).
    seed : int, optional
        One root seed for every value: the same chunk streams, so the same random draws at every
        value (common random numbers); differences between values are then not sampling noise of
        independent draws.
    params, options, symmetry, reference, executor, progress
        As for :func:`~dynsys.basins.basin_probabilities`. In a sweep of a system parameter an
        attractor found at one value continues one of earlier values of the same family
        (points with points, cycles with cycles, recurrent sets with recurrent sets; same row)
        when an optimal assignment of distances pairs them and they are each other's nearest
        neighbours, and, if ``options.track_tol`` is given, closer than
        ``track_tol * max(1, |x|_inf)``; otherwise it gets a new row. Distances are between
        canonical forms for points, between the means of the drawn points for cycles and sets
        (their phase is arbitrary). Each value has its own attractors found by recurrence (and
        its own automatic cell size, ``recurrence_cell_size_used(param)``). Use values close enough
        that attractors move less than their distance to each other. The sequential mode
        (``options.target_width``) is not used: every value gets ``n`` samples.
    run_dir : path, optional
        As for :func:`~dynsys.basins.basin_probabilities`; value ``i`` uses the sub-folder
        ``value_<i>``.

    Returns
    -------
    xarray.Dataset
        Dims ``param`` (coordinate: the values), ``attractor``, ``state``, ``sample``. Variables
        ``fraction``, ``n_orbits``, ``ci_low``, ``ci_high`` over ``(param, attractor)``; every
        variable of the attractor table of :func:`basin_map` with a leading ``param`` dim
        (``attractor_x(param, attractor, state)``, ``attractor_type``, ``attractor_period``,
        ``attractor_lyapunov(param, attractor, exponent)``, ``attractor_samples``, ...: NaN,
        ``""`` or -1 where the attractor is absent); per sample ``label(param, sample)`` and
        ``status(param, sample)``; ``recurrence_cell_size_used(param)``. Attrs ``param_name``
        and ``param_target`` ("system" or "sampler").

    Examples
    --------
    >>> from dynsys.basins import UniformBox
    >>> from dynsys.models import pitchfork_normal_form
    >>> ds = basin_probability_sweep(pitchfork_normal_form(), "high", [1.0, 3.0],
    ...                              UniformBox(-1.0, 1.0), 200, params={"mu": 1.0}, seed=0)
    >>> ds.attractor_x.sel(state="x").isel(param=0).values.round(9).tolist()
    [-1.0, 1.0]
    >>> bool(ds.fraction[1, 1] > ds.fraction[0, 1])
    True
    """
    run = BasinRun.make(
        system, params=params, options=options, symmetry=symmetry, executor=executor
    )
    sys_ = run.system
    sampler = check_sampler(sampler, sys_.n)
    target = _target(sys_, sampler, param)
    grid = np.asarray(values, dtype=float)
    if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
        raise InputError(
            f"`values` must be a non-empty 1-D sequence of finite numbers; got {values!r}."
        )
    n = check_count(n, "n")
    sub = (lambda i: Path(run_dir) / f"value_{i:04d}") if run_dir is not None else (lambda i: None)
    seed = draw_seed(seed, sub(0))
    shared = None
    if target == "sampler":
        shared = run.attractors()
        if attractors is not None:
            shared.add_given(attractors)
        shared.add_reference(reference)
        for value in grid:
            moved = dataclasses.replace(sampler, **{param: value})
            shared.note_initial(sampler_preview(check_sampler(moved, sys_.n), sys_.n))
        run = run.arrive(shared)
    tables, outs, runs = [], [], []
    with open_executor(executor, options.workers) as resolved:
        for i, value in enumerate(grid):
            local, table, sampler_v = run, shared, sampler
            if target == "system":
                local = dataclasses.replace(run, params={**run.params, param: float(value)})
                table = local.attractors()
                if attractors is not None:
                    table.add_given(attractors, strict=False)
                table.add_reference(reference)
                table.note_initial(sampler_preview(sampler, sys_.n))
                local = local.arrive(table)
            else:
                sampler_v = check_sampler(dataclasses.replace(sampler, **{param: value}), sys_.n)
            if sub(i) is not None:
                sub(i).mkdir(parents=True, exist_ok=True)
            out = run_samples(
                local,
                sampler_v,
                n,
                table,
                seed=seed,
                sequential=False,
                executor=resolved,
                run_dir=sub(i),
                progress=progress,
            )
            outs.append(out)
            tables.append(table)
            runs.append(local)
    if target == "system":
        ids = _track(tables, options.track_tol)
    else:
        ids = [np.arange(shared.count())] * len(grid)
    return _sweep_dataset(
        runs,
        param,
        target,
        grid,
        tables,
        ids,
        outs,
        sampler=sampler,
        seed=seed,
        reference=reference,
    )


def _sweep_dataset(
    runs, param, target, grid, tables, ids, outs, *, sampler, seed, reference
) -> xr.Dataset:
    options = runs[0].options
    confidence = options.confidence
    for out, table in zip(outs, tables, strict=True):
        out["label"] = table.labels_of(out["row"], out["rec"], out["status"])
    n_values = len(grid)
    n_global = int(max((int(i.max()) + 1 for i in ids if i.size), default=0))
    outcomes = sorted(
        {int(v) for out in outs for v in np.unique(out["label"]) if v < 0}, reverse=True
    )
    coord = np.concatenate([np.arange(n_global), np.asarray(outcomes, dtype=np.int64)])
    position = {int(c): k for k, c in enumerate(coord)}
    labels = np.stack(
        [
            np.where(
                out["label"] >= 0,
                np.append(ids_v, -1)[np.where(out["label"] >= 0, out["label"], len(ids_v))],
                out["label"],
            )
            for out, ids_v in zip(outs, ids, strict=True)
        ]
    )
    counts = np.stack([[np.count_nonzero(row == c) for c in coord] for row in labels])
    total = labels.shape[1]
    low, high = wilson_interval(counts, total, confidence=confidence)
    sys_ = runs[0].system
    pa, a = ("param", "attractor"), "attractor"
    tables_vars = []
    for table, out in zip(tables, outs, strict=True):
        variables, _ = attractor_variables(
            table,
            out["label"],
            confidence=confidence,
            reference=reference,
            reference_name=options.reference_name,
            extra_labels=outcomes,
        )
        tables_vars.append(variables)
    n_drawn = max(v["attractor_samples"].shape[1] for v in tables_vars)
    data: dict[str, Any] = {}
    for i, (variables, ids_v) in enumerate(zip(tables_vars, ids, strict=True)):
        local_coord = np.concatenate([np.arange(len(ids_v)), outcomes]).astype(np.int64)
        where = [position[int(ids_v[c]) if c >= 0 else int(c)] for c in local_coord]
        for name, v in variables.items():
            if not name.startswith("attractor_"):
                continue
            if name not in data:
                shape = list(v.shape)
                shape[0] = len(coord)
                if name == "attractor_samples":
                    shape[1] = n_drawn
                fill = _FILL.get(v.dtype.kind, np.nan)
                dtype = object if v.dtype.kind == "U" else v.dtype
                data[name] = (v.dims, np.full((n_values, *shape), fill, dtype=dtype), v.attrs)
            values = v.values
            if name == "attractor_samples":
                data[name][1][i, where, : values.shape[1]] = values
            else:
                data[name][1][i, where] = values
    variables = {
        name: xr.Variable(
            ("param", *dims), values.astype(str) if values.dtype == object else values, attrs
        )
        for name, (dims, values, attrs) in data.items()
    }
    variables.update(
        n_orbits=xr.Variable(pa, counts, {"long_name": "number of orbits"}),
        fraction=xr.Variable(pa, counts / total, {"long_name": "fraction of orbits"}),
        ci_low=xr.Variable(pa, low, {"long_name": "lower end of the Wilson interval"}),
        ci_high=xr.Variable(pa, high, {"long_name": "upper end of the Wilson interval"}),
        label=xr.Variable(
            ("param", "sample"),
            labels,
            {"long_name": "attractor label (negative: minus the outcome code)"},
        ),
        status=status_variable(np.stack([out["status"] for out in outs]), ("param", "sample")),
    )
    kinds_info = [t.attrs() for t in tables]
    variables["recurrence_cell_size_used"] = xr.Variable(
        "param",
        np.array(
            [info.get("recurrence_cell_size_used", np.nan) for info in kinds_info], dtype=float
        ),
        {"long_name": "cell size of the recurrence phase at each value (NaN: none)"},
    )
    coords = {
        "param": ("param", grid, {"long_name": param}),
        a: (a, coord, {"long_name": "label (negative: minus the outcome code)"}),
        "state": list(sys_.state_names),
        "sample": np.arange(total),
        "mode": np.arange(sys_.n),
        "exponent": np.arange(sys_.n),
    }
    run_attrs = runs[0].attrs()
    used = [r.arrival.used for r in runs if r.arrival is not None]
    if used:  # the arrival rule may give another value at each parameter value
        run_attrs["converge_tol_used"] = np.asarray(used, dtype=float)
    info = {
        key: value
        for key, value in kinds_info[0].items()
        if key in ("dynamics", "attractor_kinds_used")
    }
    rules = sorted(
        {str(i["recurrence_cell_rule"]) for i in kinds_info if "recurrence_cell_rule" in i}
    )
    if rules:
        info["recurrence_cell_rule"] = "; ".join(rules)
    attrs = provenance(
        sys_.with_params(**runs[0].params),
        **run_attrs,
        **info,
        **describe_sampler(sampler),
        seed=seed,
        param_name=param,
        param_target=target,
        n_samples=total,
        n_calls=int(sum(o["n_calls"] for o in outs)),
    )
    return xr.Dataset(variables, coords=coords, attrs=attrs)
