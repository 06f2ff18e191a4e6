"""Run a basin computation from a plain dict of options (a TOML table), for the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from ..basins._plane import Plane
from ..basins._samplers import Gaussian, NetworkInit, SmallBall, UniformBox
from ..errors import SpecError
from ..integrate._options import FlowOptions

__all__ = ["BASIN_OPTION_KEYS", "basins_from_options", "sampler_from_options"]

_SAMPLERS = {"uniform": UniformBox, "gaussian": Gaussian, "network": NetworkInit, "ball": SmallBall}
_COMMON = {
    "flow",
    "match_tol",
    "discover",
    "refine",
    "chunk_size",
    "executor",
    "workers",
    "run_dir",
    "progress",
    "confidence",
    "params",
}
BASIN_OPTION_KEYS = {
    "map": {"mode", "grid", *_COMMON},
    "probabilities": {
        "mode",
        "sampler",
        "n",
        "seed",
        "target_width",
        "max_samples",
        "reference",
        "reference_name",
        "keep_states",
        *_COMMON,
    },
    "sweep": {
        "mode",
        "sampler",
        "n",
        "seed",
        "param",
        "values",
        "reference",
        "reference_name",
        "track_tol",
        *_COMMON,
    },
}
"""The keys each ``mode`` accepts."""


def _table(options: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = options.get(key)
    if not isinstance(value, Mapping):
        raise SpecError(f"`basins.{key}` must be a table; got {value!r}.")
    return value


def sampler_from_options(spec: Mapping[str, Any]):
    """A sampler from ``{"kind": "uniform" | "gaussian" | "network" | "ball", <fields>}``.

    Examples
    --------
    >>> sampler_from_options({"kind": "ball", "centre": [1.0, 0.0], "radius": 0.5})
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


def basins_from_options(system, options: Mapping[str, Any], *, attractors=None) -> xr.Dataset:
    """Run :func:`basin_map`, :func:`basin_probabilities` or :func:`basin_probability_sweep`
    from a plain dict (the ``[basins]`` table of a spec file).

    Parameters
    ----------
    system : System or SystemRef
        The system.
    options : mapping
        ``mode`` ("map", "probabilities" or "sweep") and that mode's keys
        (:data:`BASIN_OPTION_KEYS`): ``grid = {axes = {x = [low, high, num], ...}, base = [...],
        directions = {...}}`` for a map; ``sampler = {kind = "uniform" | "gaussian" | "network" |
        "ball", ...fields}``, ``n``, ``seed``, ``target_width``, ``max_samples``, ``reference``,
        ``reference_name``, ``keep_states`` for probabilities; ``param`` and ``values`` (and
        ``track_tol``) for a sweep; for all: ``flow = {method, t_max, rtol, atol, converge_tol,
        escape_radius, max_steps, learning_rate}`` (FlowOptions fields; ``converge_tol`` defaults
        to 1e-8, the rest to :data:`DEFAULT_FLOW_OPTIONS`), ``match_tol``, ``discover``, ``refine``,
        ``chunk_size``, ``executor`` ("inprocess", "processes" or a scheduler address),
        ``workers``, ``run_dir``, ``progress``, ``confidence``, ``params``.
    attractors : Dataset, optional
        Known attractors (e.g. the fixed points of the analyze stage).

    Returns
    -------
    xarray.Dataset
        The result of the chosen function.

    Raises
    ------
    dynsys.errors.SpecError
        For an unknown mode or key, or a malformed sampler, grid or flow table.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> ds = basins_from_options(double_well(), {"mode": "map",
    ...                          "grid": {"axes": {"x": [-1.5, 1.5, 4], "y": [-1, 1, 3]}}})
    >>> ds.fraction.values.tolist()
    [0.5, 0.5]
    """
    from .. import basins
    from ..basins._engine import DEFAULT_FLOW_OPTIONS

    mode = options.get("mode")
    if mode not in BASIN_OPTION_KEYS:
        raise SpecError(f"`basins.mode` must be one of {sorted(BASIN_OPTION_KEYS)}; got {mode!r}.")
    unknown = sorted(set(options) - BASIN_OPTION_KEYS[mode])
    if unknown:
        raise SpecError(
            f"`basins` has unknown key(s) {unknown} for mode {mode!r}; it accepts "
            f"{sorted(BASIN_OPTION_KEYS[mode])}."
        )
    kw: dict[str, Any] = {
        k: options[k]
        for k in options
        if k not in ("mode", "grid", "sampler", "flow", "n", "param", "values")
    }
    flow = dict(options.get("flow", {}))
    try:
        kw["flow_options"] = FlowOptions(**{**_flow_defaults(DEFAULT_FLOW_OPTIONS), **flow})
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`basins.flow`: {exc}") from exc
    if attractors is not None:
        kw["attractors"] = attractors
    try:
        if mode == "map":
            grid = _table(options, "grid")
            plane = Plane(
                grid.get("axes"), base=grid.get("base"), directions=grid.get("directions")
            )
            return basins.basin_map(system, plane, **kw)
        sampler = sampler_from_options(_table(options, "sampler"))
        if mode == "probabilities":
            return basins.basin_probabilities(system, sampler, options.get("n", 1000), **kw)
        return basins.basin_probability_sweep(
            system,
            options.get("param"),
            options.get("values"),
            sampler,
            options.get("n", 1000),
            **kw,
        )
    except SpecError:
        raise
    except (TypeError, ValueError) as exc:
        raise SpecError(f"`basins` ({mode}): {exc}") from exc


def _flow_defaults(options: FlowOptions) -> dict[str, Any]:
    keys = ("method", "t_max", "rtol", "atol", "converge_tol", "escape_radius", "max_steps")
    return {k: getattr(options, k) for k in keys}
