"""The ``dynsys analyze`` stages: fixed points and their classification, then a phase portrait.

Further stages are optional spec tables: each adds its table(s) to ``ANALYZE_SCHEMA`` and runs in
:func:`run_analyze` when its table asks for it: ``[continuation]`` with a ``param`` (the
continuation stage of :mod:`dynsys.cli.continuation_stage`), ``[basins]`` with a ``mode``
(:mod:`dynsys.cli.basins_stage`), ``[graph]`` with any key set (:mod:`dynsys.cli.graph_stage`).
The later stages start from the fixed points found here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import qmc

from ..errors import SpecError
from ..system import System
from .basins_stage import BASINS_TABLE, basins_requested, run_basins_stage
from .continuation_stage import (
    CONTINUATION_TABLE,
    START_TABLE,
    continuation_requested,
    run_continuation_stage,
)
from .graph_stage import GRAPH_TABLE, graph_requested, run_graph_stage
from .spec import Key, non_negative, positive

__all__ = [
    "ANALYZE_SCHEMA",
    "find_region_points",
    "fixed_point_table",
    "run_analyze",
    "sample_region",
]

MODEL_SCHEMA = {
    "name": Key("str", "", doc="a model from dynsys.models.MODELS"),
    "factory": Key("str", "", doc="or 'package.module:function' returning a System"),
    "args": Key("table", {}, doc="keyword arguments of the factory"),
    "params": Key("numbers", {}, doc="parameter values that override the defaults"),
}

ANALYZE_SCHEMA = {
    "model": MODEL_SCHEMA,
    "region": {
        "lower": Key("floats", doc="lower corner of the box of interest, one value per state"),
        "upper": Key("floats", doc="upper corner"),
    },
    "fixed_points": {
        "seeds": Key("int", 400, positive, "number of Newton seeds (a Halton sequence)"),
        "rng_seed": Key("int", 0, non_negative, "seed of the scrambled Halton sequence"),
        "tol": Key("float", 1e-10, positive, "residual tolerance |f(x)|"),
        "dedup_tol": Key("float", 1e-6, positive, "distance under which points are one"),
        "max_iter": Key("int", 60, positive, "Newton iterations per seed"),
        "deflation": Key("int", 0, non_negative, "deflation rounds to find missed roots"),
    },
    "portrait": {
        "enabled": Key("bool", True),
        "plane": Key("strs", [], doc="two state names (default the first two)"),
        "orbits": Key("int", 12, non_negative, "number of orbits drawn"),
        "t_max": Key("float", 20.0, positive, "integration time of each orbit"),
        "nullclines": Key("bool", False),
    },
    "output": {"dir": Key("str", "out", doc="folder for results")},
    # optional stages
    "start": START_TABLE,
    "continuation": CONTINUATION_TABLE,
    "basins": BASINS_TABLE,
    "graph": GRAPH_TABLE,
}


def _region(spec: dict[str, Any], system: System) -> tuple[np.ndarray, np.ndarray]:
    lower = np.asarray(spec["region"]["lower"], dtype=float)
    upper = np.asarray(spec["region"]["upper"], dtype=float)
    for key, value in (("lower", lower), ("upper", upper)):
        if value.shape != (system.n,):
            raise SpecError(
                f"`region.{key}` has {value.size} values; the model has {system.n} states "
                f"{list(system.state_names)}."
            )
    if not np.all(upper > lower):
        raise SpecError("`region.upper` must exceed `region.lower` in every coordinate.")
    return lower, upper


def sample_region(lower, upper, count: int, seed: int) -> np.ndarray:
    """``count`` points of a scrambled Halton sequence in the box ``[lower, upper]``.

    Examples
    --------
    >>> sample_region([0, 0], [1, 2], 4, 0).shape
    (4, 2)
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    sampler = qmc.Halton(d=lower.size, scramble=True, seed=seed)
    return qmc.scale(sampler.random(count), lower, upper)


def fixed_point_table(ds: xr.Dataset) -> str:
    """A plain-text table of a fixed-point Dataset: coordinates, kind, index, nullity, energy."""
    names = [str(s) for s in ds["state"].values]
    shown = names if len(names) <= 4 else names[:4]
    header = ["#", *shown, "kind", "index", "nullity"]
    if "energy" in ds:
        header.append("energy")
    header.append("residual")
    rows = []
    for k in range(ds.sizes["point"]):
        x = ds["x"].values[k]
        row = [str(k), *(f"{round(float(v), 6) + 0.0: .6f}" for v in x[: len(shown)])]
        row += [str(ds["kind"].values[k]), str(int(ds["index"].values[k]))]
        row.append(str(int(ds["nullity"].values[k])))
        if "energy" in ds:
            row.append(f"{float(ds['energy'].values[k]): .6g}")
        row.append(f"{float(ds['residual'].values[k]):.1e}")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if len(names) > len(shown):
        lines.append(f"(first {len(shown)} of {len(names)} coordinates shown)")
    return "\n".join(lines)


def find_region_points(
    spec: dict[str, Any], system: System
) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
    """Find and classify the fixed points in the spec's ``[region]`` with its ``[fixed_points]``
    settings (Newton from a scrambled Halton sequence), and print them as a table.

    Returns
    -------
    points : xarray.Dataset
        The result of :func:`dynsys.fixedpoints.find_fixed_points`.
    lower, upper : numpy.ndarray
        The corners of the region.

    Raises
    ------
    SpecError
        If the region has the wrong length or is empty.

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> from dynsys.models import double_well
    >>> spec = validate({"model": {"name": "double_well"}, "fixed_points": {"seeds": 30},
    ...                  "region": {"lower": [-2, -1], "upper": [2, 1]}}, ANALYZE_SCHEMA)
    >>> points, lower, upper = find_region_points(spec, double_well())  # doctest: +ELLIPSIS
    3 fixed point(s) in the region from 30 seeds (... seeds converged):
    ...
    >>> sorted(points["kind"].values.tolist())
    ['minimum', 'minimum', 'saddle-1']
    """
    from ..fixedpoints import NewtonOptions, find_fixed_points

    lower, upper = _region(spec, system)
    fp = spec["fixed_points"]
    seeds = sample_region(lower, upper, fp["seeds"], fp["rng_seed"])
    points = find_fixed_points(
        system,
        seeds,
        options=NewtonOptions(tol=fp["tol"], max_iter=fp["max_iter"]),
        dedup_tol=fp["dedup_tol"],
        deflation=fp["deflation"],
        bounds=np.stack([lower, upper], axis=1),
    )
    print(
        f"{points.sizes['point']} fixed point(s) in the region from {fp['seeds']} seeds "
        f"({int(points.attrs.get('n_converged', 0))} seeds converged):"
    )
    print(fixed_point_table(points))
    return points, lower, upper


def run_analyze(spec: dict[str, Any], system: System, out_dir: Path) -> dict[str, Path]:
    """Run the analyze stages on a validated spec; return the files written."""
    from ..io import save

    print(f"{system!r}")
    points, lower, upper = find_region_points(spec, system)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"fixed_points": save(points, out_dir / "fixed_points.nc")}
    if spec["portrait"]["enabled"]:
        written["portrait"] = _portrait_stage(spec, system, points, lower, upper, out_dir)
    if continuation_requested(spec):
        written.update(run_continuation_stage(spec, system, out_dir, points=points))
    if basins_requested(spec):
        written.update(run_basins_stage(spec, system, out_dir, points=points))
    if graph_requested(spec):
        written.update(run_graph_stage(spec, system, out_dir, points=points))
    for label, path in written.items():
        print(f"wrote {label}: {path}")
    return written


def _portrait_stage(spec, system, points, lower, upper, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phase.portrait import portrait

    from ..integrate import trajectory
    from ..io import atomic_write_path

    options = spec["portrait"]
    plane = options["plane"] or list(system.state_names[:2])
    if system.n < 2:
        print("portrait skipped: a phase portrait needs two state variables.")
        return None
    names = list(system.state_names)
    unknown = [p for p in plane if p not in names]
    if len(plane) != 2 or unknown:
        raise SpecError(f"`portrait.plane` must name two of {names}; got {plane}.")
    i, j = names.index(plane[0]), names.index(plane[1])
    base = 0.5 * (lower + upper)
    starts = sample_region(lower, upper, options["orbits"], spec["fixed_points"]["rng_seed"] + 1)
    orbits = [
        trajectory(
            system, x0, (0.0, options["t_max"]), t_eval=np.linspace(0, options["t_max"], 2000)
        )
        for x0 in starts
    ]
    fig, ax = plt.subplots(figsize=(7, 6))
    region = ((lower[i], upper[i]), (lower[j], upper[j]))
    portrait(
        system,
        region,
        fixed_points=points,
        orbits=orbits,
        plane=plane,
        base=base,
        nullclines=options["nullclines"],
        ax=ax,
    )
    fig.tight_layout()
    target = out_dir / "portrait.png"
    with atomic_write_path(target) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return target
