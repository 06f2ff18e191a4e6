"""Cycles in the continuation stage: with ``cycles.from_hopf = true`` every located Hopf point
(H) of the diagram's branches starts a branch of periodic orbits
(:func:`dynsys.continuation.continue_cycle`), followed with the ``[cycles]`` settings (the fields
of :class:`dynsys.cycles.CycleOptions`, plus the steps of the cycle branches). The stage prints one
line per branch (parameter, period and amplitude ranges, stability, why each end stopped), the
special points of cycles (folds LPC, period doublings PD, Neimark-Sacker NS, branch points BP)
and writes ``cycles.nc`` (a DataTree, one node per cycle branch) and ``cycles.png`` (period and
amplitude against the parameter).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import Status, explain, status_names
from ..cycles import CycleOptions
from ..errors import ContinuationError, SpecError
from .spec import Key, OptionsTable, positive

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["CYCLES_TABLE", "cycles_requested", "run_cycles"]

CYCLES_TABLE = OptionsTable(
    CycleOptions,
    extra={
        "from_hopf": Key(
            "bool", False, doc="follow the cycles born at every Hopf point of the diagram"
        ),
        "max_branches": Key("int", 10, positive, "most cycle branches"),
        "ds": Key("float", 0.01, positive, "first arclength step of a cycle branch"),
        "ds_max": Key("float", 0.5, positive, "largest arclength step of a cycle branch"),
        "max_points": Key("int", 300, positive, "points per direction of a cycle branch"),
    },
    doc="periodic orbits from Hopf points (CycleOptions and the steps of the cycle branches)",
)
"""The ``[cycles]`` spec table."""

_EXPLAINED = (Status.PERIOD_BOUND, Status.MAX_POINTS, Status.STEP_UNDERFLOW, Status.HOPF_POINT)


def cycles_requested(spec: dict[str, Any]) -> bool:
    """Whether the spec asks for cycle branches (``cycles.from_hopf``), checked against the
    continuation table: cycles start from its Hopf points, so they need ``continuation.param``
    and "H" among ``continuation.detect``.

    Raises
    ------
    SpecError
        If ``cycles.from_hopf`` is set without a continuation that can find Hopf points.
    """
    table = spec.get("cycles")
    if not table or not table["from_hopf"]:
        return False
    continuation = spec.get("continuation") or {}
    if not continuation.get("param"):
        raise SpecError(
            "`cycles.from_hopf` follows the cycles born at the Hopf points of the continuation "
            "diagram; set `continuation.param` too."
        )
    if "H" not in continuation["options"].detect:
        raise SpecError('`cycles.from_hopf` needs Hopf points: add "H" to `continuation.detect`.')
    if table["ds"] > table["ds_max"]:
        raise SpecError(
            f"`cycles.ds` ({table['ds']!r}) must be at most `cycles.ds_max` ({table['ds_max']!r})."
        )
    return True


def _hopf_rows(tree: xr.DataTree):
    """``(branch name, branch, row)`` of every located Hopf point of the diagram."""
    for name, node in tree.children.items():
        branch = node.to_dataset()
        types = branch["special_type"].values
        status = branch["special_status"].values
        for row in np.flatnonzero(types == "H"):
            if int(status[row]) == Status.CONVERGED:
                yield name, branch, int(row)


def _branches(tree, system, spec, progress) -> tuple[dict[str, xr.Dataset], list[str]]:
    from ..continuation import continue_cycle

    table = spec["cycles"]
    continuation = spec["continuation"]
    base = continuation["options"]
    options = dataclasses.replace(
        base,
        ds=table["ds"],
        ds_max=table["ds_max"],
        ds_min=min(base.ds_min, table["ds"]),
        max_points=table["max_points"],
    )
    out: dict[str, xr.Dataset] = {}
    failed: list[str] = []
    for name, branch, row in _hopf_rows(tree):
        if len(out) >= table["max_branches"]:
            break
        key = f"{name}_h{row}"
        try:
            out[key] = continue_cycle(
                system,
                branch,
                continuation["param"],
                special=row,
                options=options,
                cycle_options=table["options"],
                progress=progress,
            )
        except ContinuationError as exc:
            failed.append(f"{key}: {exc}")
    return out, failed


def _range(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "-"
    return f"[{finite.min():.6g}, {finite.max():.6g}]"


def _summary(branches: dict[str, xr.Dataset], failed: list[str]) -> str:
    lines = []
    seen: set[int] = set()
    for name, ds in branches.items():
        stable = np.asarray(ds["stable"].values, dtype=bool)
        codes = [int(c) for c in ds["status"].values]
        seen.update(codes)
        stability = (
            "stable" if stable.all() else "unstable" if not stable.any() else "stable in part"
        )
        lines.append(
            f"  {name}: {ds.sizes['step']} cycles, {ds.attrs['continuation_param']} in "
            f"{_range(ds['param'].values)}, period in {_range(ds['period'].values)}, amplitude "
            f"in {_range(ds['amplitude'].values)}, {stability}, stopped by "
            + "/".join(status_names(codes).tolist())
        )
    lines += [f"  note: {explain(code)}" for code in _EXPLAINED if code in seen]
    lines += [f"  could not start {text}" for text in failed]
    return "\n".join(lines)


def cycle_special_table(branches: dict[str, xr.Dataset]) -> str:
    """A plain-text table of the special points of cycle branches (LPC, PD, NS, BP, H)."""
    rows = []
    param = "param"
    for name, ds in branches.items():
        param = str(ds.attrs.get("continuation_param", param))
        for k in range(ds.sizes.get("special", 0)):
            mu = complex(
                float(ds["special_multiplier_real"].values[k]),
                float(ds["special_multiplier_imag"].values[k]),
            )
            rows.append(
                [
                    name,
                    str(ds["special_type"].values[k]),
                    f"{round(float(ds['special_param'].values[k]), 10) + 0.0:.10g}",
                    f"{float(ds['special_period'].values[k]):.8g}",
                    str(status_names(ds["special_status"].values[k])),
                    f"multiplier {mu.real:.6f}{mu.imag:+.6f}i" if np.isfinite(mu) else "",
                ]
            )
    if not rows:
        return "no special points of cycles found."
    header = ["cycles", "type", param, "period", "status", ""]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _draw(branches: dict[str, xr.Dataset], path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from phase.cycles import draw_cycle_branch

    from ..io import atomic_write_path

    fig = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for ds in branches.values():
        draw_cycle_branch(ds, measure="period", ax=left)
        draw_cycle_branch(ds, measure="amplitude", ax=right)
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def run_cycles(
    tree: xr.DataTree, system, spec: dict[str, Any], out_dir: Path, *, progress: bool = False
) -> dict[str, Path]:
    """Follow the cycles born at the Hopf points of ``tree``; print them and their special
    points; write ``cycles.nc`` and ``cycles.png``."""
    import xarray as xr

    from ..io import provenance, save

    branches, failed = _branches(tree, system, spec, progress)
    print(f"cycles from the Hopf points ({len(branches)} branch(es)):")
    if branches or failed:
        print(_summary(branches, failed))
    if branches:
        print(cycle_special_table(branches))
    else:
        print("  no located Hopf point to start from.")
    root = xr.Dataset(
        attrs=provenance(
            system,
            continuation_param=spec["continuation"]["param"],
            n_branches=len(branches),
            n_failed_starts=len(failed),
        )
    )
    cycles = xr.DataTree.from_dict({"/": root, **branches})
    written = {"cycles": save(cycles, out_dir / "cycles.nc")}
    if branches:
        written["cycles_plot"] = _draw(branches, out_dir / "cycles.png")
    return written
