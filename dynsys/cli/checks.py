"""Checks of a spec against its model before anything is computed: every name, every region and
every size a run will use, so that a mistake is one line at the start and never a traceback (or
an out-of-memory) after minutes of work.

Sizes are held to budgets: the arrays a run must keep (states, end points, saved orbits) at most
:data:`MAX_BYTES`, and the fixed-point search at most :data:`MAX_SECONDS` by an estimate from a
timed probe. A refused request says what it would take and how to make it smaller.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..errors import DynsysError, SpecError
from .region import region_bounds

__all__ = ["MAX_BYTES", "MAX_SECONDS", "preflight"]

MAX_BYTES = 8 * 2**30
"""Budget of the arrays a run must hold at once (8 GiB)."""

MAX_SECONDS = 3600.0
"""Budget of the estimated time of the fixed-point search (one hour)."""


def _gigabytes(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GB"


def _memory(what: str, nbytes: float, fix: str) -> None:
    if nbytes > MAX_BYTES:
        raise SpecError(
            f"{what} needs about {_gigabytes(nbytes)} of memory, more than the budget of "
            f"{_gigabytes(MAX_BYTES)}; {fix}."
        )


def _fixed_points(spec: dict[str, Any], system) -> None:
    """Region, and the cost of the Newton search from ``fixed_points.seeds`` seeds."""
    lower, upper = region_bounds(spec, system)
    table = spec["fixed_points"]
    seeds, n = table["seeds"], system.n
    options = table["options"]
    # seeds, end points, residuals and one chunk of Jacobians (Newton works in chunks)
    _memory(
        f"`fixed_points.seeds` = {seeds}",
        seeds * (4 * n + 8) * 8 + min(seeds, 8_000_000 // (n * n) + 1) * 3 * n * n * 8,
        "lower `fixed_points.seeds`",
    )
    count = max(1, min(seeds, 256, 2_000_000 // (n * n)))  # the probe's Jacobians stay small
    probe = np.random.default_rng(0).uniform(lower, upper, (count, n))
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            system.f(probe)
            system.jac_dense(probe)
        except DynsysError:
            raise
        except Exception as exc:
            raise SpecError(
                f"the model's field fails on the region: {type(exc).__name__}: {exc}"
            ) from exc
    per_state = (time.perf_counter() - start) / len(probe)
    estimate = per_state * seeds * options.max_iter * 2
    if estimate > MAX_SECONDS:
        raise SpecError(
            f"`fixed_points.seeds` = {seeds} would take about {estimate / 3600:.2g} hours of "
            f"Newton iterations (measured {per_state * 1e6:.3g} us per state and iteration, up "
            f"to {options.max_iter} iterations); the budget is {MAX_SECONDS / 3600:g} hour(s). "
            "Lower `fixed_points.seeds` or `fixed_points.max_iter`."
        )


def _portrait(spec: dict[str, Any], system) -> None:
    options = spec["portrait"]
    if not options["enabled"] or system.n < 2:
        return
    names = list(system.state_names)
    plane = options["plane"] or names[:2]
    if len(plane) != 2 or any(p not in names for p in plane) or plane[0] == plane[1]:
        raise SpecError(f"`portrait.plane` must name two different states of {names}; got {plane}.")
    _memory(
        f"`portrait.orbits` = {options['orbits']}",
        options["orbits"] * 400 * system.n * 8 * 2,
        "draw fewer orbits",
    )


def _basins(spec: dict[str, Any], system) -> None:
    from .basins_spec import MODES, grid_from_table, sampler_from_table

    table = spec.get("basins")
    if not table or not table["mode"] or not table["enabled"]:
        return
    if table["mode"] not in MODES:
        raise SpecError(f"`basins.mode` must be one of {list(MODES)}; got {table['mode']!r}.")
    if table["executor"] not in ("inprocess", "processes"):
        raise SpecError(
            "`basins.executor` must be 'inprocess' or 'processes'; got "
            f"{table['executor']!r}. A dask scheduler address is given on the command line "
            "(--executor tcp://...), never in a spec."
        )
    n = system.n
    if table["mode"] == "map":
        plane = grid_from_table(table)
        shape = [len(plane.axes[a]) for a in plane.names]
        points = float(np.prod(shape, dtype=float))
        _memory(
            f"the basin grid of {' x '.join(str(s) for s in shape)} = {points:.3g} points",
            points * (3 * n + 6) * 8,
            "use a coarser grid, or map it in parts",
        )
        try:
            plane.states(system) if points <= 1e6 else plane.embedding(system)
        except DynsysError as exc:
            raise SpecError(f"`basins.grid`: {exc}") from exc
        return
    if not table["sampler"]:
        raise SpecError(f"`basins.sampler` is required for mode {table['mode']!r}.")
    try:
        sampler_from_table(table["sampler"]).check(n)
    except SpecError:
        raise
    except DynsysError as exc:
        raise SpecError(f"`basins.sampler`: {exc}") from exc
    options = table["options"]
    samples = table["n"] if options.target_width is None else options.max_samples
    per_sample = n * 8 * (2 if options.keep_states else 0) + 48
    values = max(1, len(table["values"])) if table["mode"] == "sweep" else 1
    _memory(
        f"{samples} samples per value",
        samples * values * per_sample,
        "lower `basins.n` or `basins.max_samples`, or set `basins.keep_states = false`",
    )


def preflight(command: str, spec: dict[str, Any], system) -> None:
    """Check ``spec`` against ``system`` for ``command`` before any computation.

    Raises
    ------
    SpecError
        Naming the key and the fix: a region that is empty, not finite or huge; names that do
        not exist or repeat; a grid, sampler or executor that is malformed; a request beyond the
        memory or time budget.
    """
    region_given = bool(spec["region"]["lower"] or spec["region"]["upper"])
    if command in ("analyze", "graph") or region_given:
        _fixed_points(spec, system)
    if command == "analyze":
        _portrait(spec, system)
    if command in ("analyze", "basins"):
        _basins(spec, system)
