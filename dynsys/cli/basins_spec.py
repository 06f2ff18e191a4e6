"""The ``[basins]`` table of a spec read into a call of the basin functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from ..basins import (
    BasinOptions,
    Gaussian,
    NetworkInit,
    Plane,
    SmallBall,
    UniformBox,
    basin_map,
    basin_probabilities,
    basin_probability_sweep,
)
from ..errors import DynsysError, SpecError
from .spec import Key, OptionsTable, non_negative, positive

__all__ = [
    "BASINS_TABLE",
    "MODES",
    "changed_keys",
    "run_basins_table",
    "sampler_from_table",
]

MODES = ("map", "probabilities", "sweep")


def _mode(value: str) -> str | None:
    return None if value in ("", *MODES) else f"must be one of {list(MODES)}, got {value!r}"


_SAMPLERS = {"uniform": UniformBox, "gaussian": Gaussian, "network": NetworkInit, "ball": SmallBall}

BASINS_TABLE = OptionsTable(
    BasinOptions,
    extra={
        "mode": Key("str", "", _mode, "map, probabilities or sweep (none: no stage)"),
        "grid": Key(
            "free",
            {},
            doc="map: { axes = { x = [low, high, num], y = [...] }, base = [...], "
            "directions = {...} }",
        ),
        "sampler": Key(
            "free",
            {},
            doc="probabilities, sweep: { kind = 'uniform' | 'gaussian' | 'network' | 'ball', "
            "...fields of the sampler }",
        ),
        "n": Key("int", 1000, positive, "initial states (per round, per value)"),
        "seed": Key("int", None, non_negative, "root seed of the random draws (none: fresh)"),
        "param": Key("str", "", doc="sweep: a parameter of the system or a sampler field"),
        "values": Key("floats", [], doc="sweep: the values of `param`"),
        "reference": Key("floats", [], doc="a state of special interest (the teacher)"),
        "run_dir": Key("str", "", doc="folder of a resumable run (finished chunks kept)"),
        "executor": Key(
            "str", "inprocess", doc="where chunks run: 'inprocess' or 'processes' (local pool)"
        ),
        "progress": Key("bool", False, doc="show a progress bar"),
        "figure": Key("bool", True, doc="draw basins.png"),
        "enabled": Key("bool", True, doc="false skips the stage in dynsys analyze"),
    },
    doc="options of the basin functions (BasinOptions) and what to compute",
)
"""The ``[basins]`` spec table: the BasinOptions fields (``[basins.flow]``, ``[basins.newton]``
as sub-tables) and the keys that say what to compute and where."""


def changed_keys(table: Mapping[str, Any]) -> list[str]:
    """The keys of a validated ``[basins]`` table that differ from their defaults (options
    fields by their top-level name), not counting ``enabled``, ``figure`` and ``progress``."""
    out = [
        k
        for k, key in BASINS_TABLE.extra.items()
        if k not in ("enabled", "figure", "progress") and table[k] != key.default
    ]
    defaults = BASINS_TABLE.defaults()
    out += [
        name
        for name in BasinOptions.spec_fields()
        if getattr(table["options"], name) != getattr(defaults, name)
    ]
    return out


def sampler_from_table(spec: Mapping[str, Any]):
    """A sampler from ``{"kind": "uniform" | "gaussian" | "network" | "ball", <fields>}``.

    Examples
    --------
    >>> sampler_from_table({"kind": "ball", "centre": [1.0, 0.0], "radius": 0.5})
    SmallBall(centre=(1.0, 0.0), radius=0.5)
    """
    kind = spec.get("kind")
    if kind not in _SAMPLERS:
        raise SpecError(f"`basins.sampler.kind` must be one of {sorted(_SAMPLERS)}; got {kind!r}.")
    fields = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return _SAMPLERS[kind](**fields)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`basins.sampler`: {exc}") from exc


def _grid(table: Mapping[str, Any]) -> Plane:
    grid = table["grid"]
    unknown = sorted(set(grid) - {"axes", "base", "directions"})
    if unknown or "axes" not in grid:
        raise SpecError(
            "`basins.grid` must be a table { axes = { name = [low, high, num], ... }, base = "
            f"[...], directions = {{...}} }} (axes required); got keys {sorted(grid)}."
        )
    try:
        return Plane(grid["axes"], base=grid.get("base"), directions=grid.get("directions"))
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`basins.grid`: {exc}") from exc


def run_basins_table(
    system, table: Mapping[str, Any], *, attractors=None, progress: bool = False
) -> xr.Dataset:
    """Run the basin function a validated ``[basins]`` table asks for.

    Raises
    ------
    dynsys.errors.SpecError
        For a missing mode, grid or sampler, or inputs the basin functions reject (the message
        names the table).

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> from dynsys.models import double_well
    >>> spec = validate({"basins": {"mode": "map",
    ...                  "grid": {"axes": {"x": [-1.5, 1.5, 4], "y": [-1, 1, 3]}}}},
    ...                 {"basins": BASINS_TABLE})
    >>> run_basins_table(double_well(), spec["basins"]).fraction.values.tolist()
    [0.5, 0.5]
    """
    mode = table["mode"]
    if mode not in MODES:
        raise SpecError(f"`basins.mode` must be one of {list(MODES)}; got {mode!r}.")
    if table["executor"] not in ("inprocess", "processes"):
        raise SpecError(
            f"`basins.executor` must be 'inprocess' or 'processes'; got {table['executor']!r}."
        )
    common: dict[str, Any] = {
        "attractors": attractors,
        "options": table["options"],
        "reference": table["reference"] or None,
        "run_dir": table["run_dir"] or None,
        "executor": table["executor"],
        "progress": progress or table["progress"],
    }
    try:
        if mode == "map":
            return basin_map(system, _grid(table), **common)
        if not table["sampler"]:
            raise SpecError(f"`basins.sampler` is required for mode {mode!r}.")
        sampler = sampler_from_table(table["sampler"])
        if mode == "probabilities":
            return basin_probabilities(system, sampler, table["n"], seed=table["seed"], **common)
        if not table["param"] or not table["values"]:
            raise SpecError("a sweep needs `basins.param` and `basins.values`.")
        return basin_probability_sweep(
            system,
            table["param"],
            table["values"],
            sampler,
            table["n"],
            seed=table["seed"],
            **common,
        )
    except SpecError:
        raise
    except DynsysError as exc:
        raise SpecError(f"`basins` ({mode}): {exc}") from exc
