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
from ..maps import require_flow
from ._dataset import attractor_variables
from ._engine import BasinRun, check_count, check_sampler, draw_seed, run_samples
from ._labels import Attractors
from ._options import BasinOptions
from ._samplers import describe_sampler
from ._statistics import wilson_interval

__all__ = ["basin_probability_sweep"]

_TABLE_VARS = (
    "attractor_x",
    "attractor_kind",
    "attractor_index",
    "attractor_nullity",
    "attractor_residual",
    "attractor_origin",
    "attractor_energy",
    "attractor_role",
)
_FILL = {
    "attractor_kind": "",
    "attractor_origin": "",
    "attractor_role": "",
    "attractor_index": -1,
    "attractor_nullity": -1,
}


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


def _track(tables: list[Attractors], track_tol: float | None) -> list[np.ndarray]:
    """Global ids of the attractors of each table. An attractor continues a global one (last
    seen state) when the optimal assignment of distances pairs them, they are each other's
    nearest neighbours, and (with ``track_tol``) they are closer than
    ``track_tol * max(1, |x|_inf)``; otherwise it starts a new global attractor."""
    last: list[np.ndarray] = []  # last seen (canonical) state of each global id
    ids = []
    for table in tables:
        canon = table.catalogue.canonical[table.attracting()]
        local = np.full(len(canon), -1, dtype=np.int64)
        if last and len(canon):
            known = np.stack(last)
            cost = np.linalg.norm(canon[:, None, :] - known[None, :, :], axis=-1)
            rows, cols = linear_sum_assignment(cost)
            ok = (cost.argmin(axis=1)[rows] == cols) & (cost.argmin(axis=0)[cols] == rows)
            if track_tol is not None:
                scale = relative_scale(known[cols])
                ok &= cost[rows, cols] <= track_tol * scale
            local[rows[ok]] = cols[ok]
        for r in np.flatnonzero(local < 0):
            local[r] = len(last)
            last.append(canon[r])
        for r, gid in enumerate(local):
            last[gid] = canon[r]
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
    system : System or SystemRef
        The system.
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
        attractor found at one value continues one of earlier values (same row) when an optimal
        assignment of distances (canonical forms) pairs them and they are each other's nearest
        neighbours, and, if ``options.track_tol`` is given, closer than
        ``track_tol * max(1, |x|_inf)``; otherwise it gets a new row. Use values close enough
        that attractors move less than their distance to each other. The sequential mode
        (``options.target_width``) is not used: every value gets ``n`` samples.
    run_dir : path, optional
        As for :func:`~dynsys.basins.basin_probabilities`; value ``i`` uses the sub-folder
        ``value_<i>``.

    Returns
    -------
    xarray.Dataset
        Dims ``param`` (coordinate: the values), ``attractor``, ``state``, ``sample``. Variables
        ``fraction``, ``n_orbits``, ``ci_low``, ``ci_high`` over ``(param, attractor)``; the table
        ``attractor_x(param, attractor, state)`` (NaN where the attractor is absent),
        ``attractor_kind``, ``attractor_index``, ``attractor_nullity``, ``attractor_origin``
        (``""``/-1 where absent), ``attractor_energy``, ``attractor_role``; per sample
        ``label(param, sample)`` and ``status(param, sample)``. Attrs ``param_name`` and
        ``param_target`` ("system" or "sampler").

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
    require_flow(system, "basin_probability_sweep()")
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
        ids = [np.arange(int(shared.attracting().sum()))] * len(grid)
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
        out["label"] = table.labels_of(out["row"], out["status"])
    n_values = len(grid)
    n_global = int(max((int(i.max()) + 1 for i in ids if i.size), default=0))
    outcomes = sorted(
        {int(v) for out in outs for v in np.unique(out["label"]) if v < 0}, reverse=True
    )
    coord = np.concatenate([np.arange(n_global), np.asarray(outcomes, dtype=np.int64)])
    position = {int(c): k for k, c in enumerate(coord)}
    labels = np.stack(
        [
            np.where(out["label"] >= 0, ids_v[np.maximum(out["label"], 0)], out["label"])
            for out, ids_v in zip(outs, ids, strict=True)
        ]
    )
    counts = np.stack([[np.count_nonzero(row == c) for c in coord] for row in labels])
    total = labels.shape[1]
    low, high = wilson_interval(counts, total, confidence=confidence)
    sys_ = runs[0].system
    pa, a = ("param", "attractor"), "attractor"
    data: dict[str, Any] = {}
    for i, (table, out, ids_v) in enumerate(zip(tables, outs, ids, strict=True)):
        variables, _ = attractor_variables(
            table,
            out["label"],
            confidence=confidence,
            reference=reference,
            reference_name=options.reference_name,
            extra_labels=outcomes,
        )
        local_coord = np.concatenate([np.arange(len(ids_v)), outcomes]).astype(np.int64)
        where = [position[int(ids_v[c]) if c >= 0 else int(c)] for c in local_coord]
        for name in _TABLE_VARS:
            if name not in variables:
                continue
            v = variables[name]
            if name not in data:
                shape = (n_values, len(coord), *v.shape[1:])
                fill = _FILL.get(name, np.nan)
                dtype = object if isinstance(fill, str) else v.dtype
                data[name] = (v.dims, np.full(shape, fill, dtype=dtype), v.attrs)
            data[name][1][i, where] = v.values
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
    coords = {
        "param": ("param", grid, {"long_name": param}),
        a: (a, coord, {"long_name": "label (negative: minus the outcome code)"}),
        "state": list(sys_.state_names),
        "sample": np.arange(total),
    }
    run_attrs = runs[0].attrs()
    used = [r.arrival.used for r in runs if r.arrival is not None]
    if used:  # the arrival rule may give another value at each parameter value
        run_attrs["converge_tol_used"] = np.asarray(used, dtype=float)
    attrs = provenance(
        sys_.with_params(**runs[0].params),
        **run_attrs,
        **describe_sampler(sampler),
        seed=seed,
        param_name=param,
        param_target=target,
        n_samples=total,
        n_calls=int(sum(o["n_calls"] for o in outs)),
    )
    return xr.Dataset(variables, coords=coords, attrs=attrs)
