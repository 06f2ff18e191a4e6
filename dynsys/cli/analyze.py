"""The ``dynsys analyze`` command: fixed points and their classification, a phase portrait, and
the optional stages (``[continuation]``, ``[basins]``, ``[graph]``) that start from those points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SpecError
from ..system import System
from .basins_stage import basins_requested, run_basins_stage
from .continuation_stage import continuation_requested, run_continuation_stage
from .graph_stage import graph_requested, run_graph_stage
from .region import find_region_points, sample_region
from .spec import Key, non_negative, positive

__all__ = ["PORTRAIT_TABLE", "run_analyze"]

PORTRAIT_TABLE = {
    "enabled": Key("bool", True, doc="draw portrait.png"),
    "plane": Key("strs", [], doc="two state names (default the first two)"),
    "orbits": Key("int", 12, non_negative, "number of orbits drawn"),
    "t_max": Key("float", 20.0, positive, "integration time of each orbit"),
    "nullclines": Key("bool", False, doc="draw the nullclines"),
}


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
