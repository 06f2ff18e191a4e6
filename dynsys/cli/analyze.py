"""The ``dynsys analyze`` command: fixed points and their classification, a phase portrait, and
the optional stages (``[continuation]``, ``[basins]``, ``[graph]``) that start from those points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import Status
from ..errors import SpecError
from ..integrate import FlowOptions
from ..system import System
from .region import find_region_points, sample_region
from .spec import Key, positive

__all__ = ["PORTRAIT_TABLE", "run_analyze"]

_MAX_ORBITS = 1000  # a picture cannot show more; larger requests are a mistake


def _orbit_count(value) -> str | None:
    if not 0 <= value <= _MAX_ORBITS:
        return f"must be between 0 and {_MAX_ORBITS} (a picture shows no more), got {value!r}"
    return None


def _portrait_method(value) -> str | None:
    methods = [m for m in FlowOptions.spec_fields()["method"].choices if m != "gradient_descent"]
    return None if value in methods else f"must be one of {methods}, got {value!r}"


PORTRAIT_TABLE = {
    "enabled": Key("bool", True, doc="draw portrait.png"),
    "plane": Key("strs", [], doc="two state names (default the first two)"),
    "orbits": Key("int", 12, _orbit_count, "number of orbits drawn"),
    "t_max": Key("float", 20.0, positive, "integration time of each orbit"),
    "method": Key("str", "dopri5", _portrait_method, "integration method of the orbits"),
    "max_steps": Key("int", 20_000, positive, "most steps per orbit (a bound on the work)"),
    "nullclines": Key("bool", False, doc="draw the nullclines"),
}


def run_analyze(
    spec: dict[str, Any], system: System, out_dir: Path, *, progress: bool = False, executor=None
) -> dict[str, Path]:
    """Run the analyze stages on a validated spec into ``out_dir``; return the files written."""
    from ..io import save
    from .basins_stage import basins_requested, run_basins_stage
    from .continuation_stage import continuation_requested, run_continuation_stage
    from .graph_stage import graph_requested, run_graph_stage

    print(f"{system!r}")
    points, lower, upper = find_region_points(spec, system)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"fixed_points": save(points, out_dir / "fixed_points.nc")}
    if spec["portrait"]["enabled"]:
        picture = _portrait_stage(spec, system, points, lower, upper, out_dir, progress)
        if picture is not None:
            written["portrait"] = picture
    if continuation_requested(spec):
        written.update(run_continuation_stage(spec, system, out_dir, points=points))
    if basins_requested(spec):
        written.update(
            run_basins_stage(
                spec, system, out_dir, points=points, progress=progress, executor=executor
            )
        )
    if graph_requested(spec):
        written.update(run_graph_stage(spec, system, out_dir, points=points, progress=progress))
    return written


def _portrait_orbits(system, starts, options, progress: bool):
    """The portrait's orbits: one bounded batch flow (``t_max``, ``max_steps`` per orbit), states
    saved on 400 times; a note for orbits that stopped early."""
    from .. import explain
    from ..integrate import FlowOptions, flow

    t_max = options["t_max"]
    flow_options = FlowOptions(
        method=options["method"],
        t_max=t_max,
        max_steps=options["max_steps"],
        save_times=tuple(np.linspace(0.0, t_max, 400).tolist()),
    )
    orbits = flow(system, starts, options=flow_options, progress=progress)
    codes, counts = np.unique(orbits["status"].values, return_counts=True)
    for code, count in zip(codes, counts, strict=True):
        if code not in (Status.TIME_LIMIT, Status.CONVERGED):
            print(f"note: {count} portrait orbit(s) stopped early: {explain(int(code))}")
    return orbits


def _portrait_stage(spec, system, points, lower, upper, out_dir: Path, progress: bool = False):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from phase.portrait import portrait

    from ..io import atomic_write_path

    options = spec["portrait"]
    plane = options["plane"] or list(system.state_names[:2])
    if system.n < 2:
        print("portrait skipped: a phase portrait needs two state variables.")
        return None
    names = list(system.state_names)
    unknown = [p for p in plane if p not in names]
    if len(plane) != 2 or unknown or plane[0] == plane[1]:
        raise SpecError(f"`portrait.plane` must name two different states of {names}; got {plane}.")
    base = 0.5 * (lower + upper)
    starts = sample_region(lower, upper, options["orbits"], spec["fixed_points"]["rng_seed"] + 1)
    orbits = _portrait_orbits(system, starts, options, progress) if len(starts) else None
    fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
    portrait(
        system,
        {"lower": lower, "upper": upper},
        fixed_points=points,
        orbits=orbits,
        plane=plane,
        base=base,
        nullclines=options["nullclines"],
        ax=ax,
    )
    target = out_dir / "portrait.png"
    with atomic_write_path(target) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return target
