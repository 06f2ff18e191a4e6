"""What every command starts from: the model, the region of interest and the fixed points in it.

The ``[model]``, ``[region]``, ``[fixed_points]`` and ``[output]`` tables of a spec and the
functions that read them; the stages of :mod:`dynsys.cli` start from the points found here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import SpecError
from ..fixedpoints import NewtonOptions
from ..system import System
from .spec import Key, OptionsTable, non_negative, positive

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "FIXED_POINTS_TABLE",
    "MAX_COORDINATE",
    "MODEL_TABLE",
    "OPTIONAL_REGION_TABLE",
    "OUTPUT_TABLE",
    "REGION_TABLE",
    "find_region_points",
    "fixed_point_table",
    "region_bounds",
    "sample_region",
]

MAX_COORDINATE = 1e100
"""Largest size of a region corner (beyond it widths and field values overflow)."""

_FIND_DEFAULTS = {"dedup_tol": 1e-6, "deflation": False}
"""The defaults of these keyword arguments of :func:`dynsys.fixedpoints.find_fixed_points`,
written out so that reading a spec does not import the search (and scipy.optimize); a test
checks them against the function's signature."""

MODEL_TABLE = {
    "name": Key("str", "", doc="a model from dynsys.models.MODELS"),
    "factory": Key("str", "", doc="or 'package.module:function' returning a System"),
    "args": Key("table", {}, doc="keyword arguments of the factory"),
    "params": Key("numbers", {}, doc="parameter values that override the defaults"),
}

REGION_TABLE = {
    "lower": Key("floats", doc="lower corner of the box of interest, one value per state"),
    "upper": Key("floats", doc="upper corner"),
}

OPTIONAL_REGION_TABLE = {
    "lower": Key("floats", [], doc="lower corner of the box where fixed points are searched"),
    "upper": Key("floats", [], doc="upper corner"),
}

FIXED_POINTS_TABLE = OptionsTable(
    NewtonOptions,
    extra={
        "seeds": Key("int", 400, positive, "number of Newton seeds (a Halton sequence)"),
        "rng_seed": Key("int", 0, non_negative, "seed of the scrambled Halton sequence"),
        "dedup_tol": Key(
            "float",
            _FIND_DEFAULTS["dedup_tol"],
            positive,
            "relative distance under which points are one",
        ),
        "deflation": Key(
            "int",
            int(_FIND_DEFAULTS["deflation"]),
            non_negative,
            "deflation rounds to find missed roots",
        ),
    },
    doc="Newton settings (NewtonOptions) and the seeds of the search",
)

OUTPUT_TABLE = {"dir": Key("str", "", doc="folder for results (default: out/<spec file's name>)")}


def region_bounds(spec: dict[str, Any], system: System) -> tuple[np.ndarray, np.ndarray]:
    """The corners ``(lower, upper)`` of the spec's ``[region]``, checked against the model.

    Raises
    ------
    SpecError
        If a corner has the wrong length, or the box is empty or missing.
    """
    if not spec["region"]["lower"] or not spec["region"]["upper"]:
        raise SpecError(
            "give a [region] (`region.lower`, `region.upper`): the box where fixed points are "
            "searched."
        )
    lower = np.asarray(spec["region"]["lower"], dtype=float)
    upper = np.asarray(spec["region"]["upper"], dtype=float)
    for key, value in (("lower", lower), ("upper", upper)):
        if value.shape != (system.n,):
            raise SpecError(
                f"`region.{key}` has {value.size} values; the model has {system.n} states "
                f"{list(system.state_names)}."
            )
        if not np.all(np.isfinite(value)) or np.abs(value).max() > MAX_COORDINATE:
            raise SpecError(
                f"`region.{key}` must hold finite numbers of size at most {MAX_COORDINATE:g} "
                f"(the box and the field on it must be representable); got {value.tolist()}."
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
    from scipy.stats import qmc

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
    >>> schema = {"fixed_points": FIXED_POINTS_TABLE, "region": REGION_TABLE}
    >>> spec = validate({"fixed_points": {"seeds": 30},
    ...                  "region": {"lower": [-2, -1], "upper": [2, 1]}}, schema)
    >>> points, lower, upper = find_region_points(spec, double_well())  # doctest: +ELLIPSIS
    3 fixed point(s) in the region from 30 seeds (... seeds converged):
    ...
    >>> sorted(points["kind"].values.tolist())
    ['minimum', 'minimum', 'saddle-1']
    """
    from ..fixedpoints import find_fixed_points

    lower, upper = region_bounds(spec, system)
    fp = spec["fixed_points"]
    seeds = sample_region(lower, upper, fp["seeds"], fp["rng_seed"])
    points = find_fixed_points(
        system,
        seeds,
        options=fp["options"],
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
