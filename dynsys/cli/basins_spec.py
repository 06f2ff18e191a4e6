"""The ``[basins]`` table of a spec read into a call of the basin functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..basins import BasinOptions, Gaussian, NetworkInit, Plane, SmallBall, UniformBox
from ..errors import DynsysError, SpecError
from .spec import Key, OptionsTable, non_negative, positive

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "BASINS_TABLE",
    "MODES",
    "changed_keys",
    "grid_from_table",
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
            doc="map: { axes = { x = { linspace = [low, high, num] }, y = { values = [...] } }, "
            "base = [...], directions = {...} }",
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
    if not isinstance(kind, str) or kind not in _SAMPLERS:
        raise SpecError(f"`basins.sampler.kind` must be one of {sorted(_SAMPLERS)}; got {kind!r}.")
    fields = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return _SAMPLERS[kind](**fields)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`basins.sampler`: {exc}") from exc


def _axis(name: str, value: Any) -> Any:
    """One axis of ``basins.grid.axes``: ``{ linspace = [low, high, num] }`` or
    ``{ values = [...] }``; anything else is an error naming the key."""
    key = f"`basins.grid.axes.{name}`"
    if not isinstance(value, Mapping) or len(value) != 1 or set(value) - {"linspace", "values"}:
        raise SpecError(
            f"{key} must be {{ linspace = [low, high, num] }} (num points from low to high) or "
            f"{{ values = [...] }} (the coordinates); got {value!r}."
        )
    if "values" in value:
        return list(value["values"]) if isinstance(value["values"], list) else value["values"]
    triple = value["linspace"]
    if not isinstance(triple, list) or len(triple) != 3:
        raise SpecError(f"{key}.linspace must be [low, high, num]; got {triple!r}.")
    return tuple(triple)


def grid_from_table(table: Mapping[str, Any]) -> Plane:
    """The :class:`~dynsys.basins.Plane` of a validated ``[basins]`` table's ``grid``.

    Examples
    --------
    >>> plane = grid_from_table({"grid": {"axes": {"x": {"linspace": [-1.0, 1.0, 3]},
    ...                                            "y": {"values": [0.0, 0.5]}}}})
    >>> plane.axes["x"].tolist(), plane.axes["y"].tolist()
    ([-1.0, 0.0, 1.0], [0.0, 0.5])
    """
    grid = table["grid"]
    unknown = sorted(set(grid) - {"axes", "base", "directions"})
    if unknown or "axes" not in grid or not isinstance(grid["axes"], Mapping):
        raise SpecError(
            "`basins.grid` must be a table { axes = { x = { linspace = [low, high, num] }, "
            "y = { values = [...] } }, base = [...], directions = {...} } (axes required); got "
            f"{grid!r}."
        )
    axes = {name: _axis(name, value) for name, value in grid["axes"].items()}
    try:
        return Plane(axes, base=grid.get("base"), directions=grid.get("directions"))
    except DynsysError as exc:
        raise SpecError(f"`basins.grid`: {exc}") from exc


def run_basins_table(
    system,
    table: Mapping[str, Any],
    *,
    attractors=None,
    progress: bool = False,
    executor: str | None = None,
) -> xr.Dataset:
    """Run the basin function a validated ``[basins]`` table asks for.

    ``executor`` (from the command line's ``--executor``) overrides ``basins.executor``; only it
    may name a dask scheduler address: a spec alone never sends pickled work elsewhere.

    Raises
    ------
    dynsys.errors.SpecError
        For a missing mode, grid or sampler, or inputs the basin functions reject (the message
        names the table).

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> from dynsys.models import double_well
    >>> spec = validate({"basins": {"mode": "map", "grid": {"axes": {
    ...                  "x": {"linspace": [-1.5, 1.5, 4]}, "y": {"linspace": [-1, 1, 3]}}}}},
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
    # imported here: the basin functions load the attractor and integration machinery, which a
    # command that only reads the [basins] table (to check a spec) does not need
    from ..basins import basin_map, basin_probabilities, basin_probability_sweep

    common: dict[str, Any] = {
        "attractors": attractors,
        "options": table["options"],
        "reference": table["reference"] or None,
        "run_dir": table["run_dir"] or None,
        "executor": executor or table["executor"],
        "progress": progress or table["progress"],
    }
    try:
        if mode == "map":
            return basin_map(system, grid_from_table(table), **common)
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
