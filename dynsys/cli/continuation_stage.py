"""The continuation stage: ``dynsys continue SPEC.toml`` and the ``[continuation]`` table of
``dynsys analyze``.

A spec names the model (``[model]``, as for analyze), a start (``[start]``: a state ``x``, or found
among the fixed points in ``[region]`` with the ``[fixed_points]`` settings), and the continuation
(``[continuation]``: the parameter, the branch-switching depth and the measure drawn, and the
fields of :class:`~dynsys.continuation.ContinuationOptions`: bounds, step sizes, the special
points looked for, the corrector in ``[continuation.newton]``). The stage follows the branch
through the start and every branch that bifurcates from it
(:func:`dynsys.continuation.bifurcation_diagram`), prints the special points and why each branch
stopped, and writes ``diagram.nc`` (a DataTree, one node per branch) and ``diagram.png``.

In ``dynsys analyze`` the stage runs when the spec's ``[continuation]`` table names a ``param``;
without ``start.x`` it starts from a fixed point the analyze stage found.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import Status, explain, status_names
from ..continuation import ContinuationOptions
from ..errors import SpecError
from .curves_stage import CURVES_KEYS, curves_requested, run_curves
from .cycles_stage import cycles_requested, run_cycles
from .spec import Key, OptionsTable, non_negative, one_of, positive

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "CONTINUATION_TABLE",
    "START_TABLE",
    "continuation_requested",
    "run_continuation_stage",
    "run_continue",
    "special_point_table",
]

DIRECTIONS = {"both": "both", "increasing": 1, "decreasing": -1}
LOSS_MEASURES = ("loss", "energy")
_EXPLAINED_STOPS = (Status.STATE_BOUND, Status.MAX_POINTS, Status.STEP_UNDERFLOW)


START_TABLE = {
    "x": Key("floats", [], doc="a state at or near an equilibrium; else one is found"),
    "pick": Key(
        "str",
        "any",
        one_of("any", "stable", "unstable"),
        "which found fixed point to start from (with `near`: the nearest such point)",
    ),
    "near": Key("floats", [], doc="pick the found fixed point nearest to this state"),
}

CONTINUATION_TABLE = OptionsTable(
    ContinuationOptions,
    extra={
        "param": Key("str", "", doc="the parameter to continue in (analyze: no stage when empty)"),
        "direction": Key("str", "both", one_of(*DIRECTIONS), "of the first branch"),
        "depth": Key("int", 1, non_negative, "branch-switching depth (0: one branch)"),
        "max_branches": Key("int", 50, positive, "most branches in the diagram"),
        "measure": Key("str", "", doc="state name, 'norm' or 'loss' (default: the first state)"),
        **CURVES_KEYS,
    },
    doc="options of dynsys.continuation (ContinuationOptions)",
)
"""The ``[continuation]`` spec table: the ContinuationOptions fields (``[continuation.newton]``
as a sub-table) and the stage's ``param``, ``direction``, ``depth``, ``max_branches`` and
``measure``; ``param2`` (with ``param2_min``, ``param2_max``, ``max_curves``) adds fold and Hopf
curves in two parameters."""


def continuation_requested(spec: dict[str, Any]) -> bool:
    """Whether the spec asks for the continuation stage (``continuation.param`` is set).

    Raises
    ------
    SpecError
        If the ``[continuation]`` table sets options but no ``param``.

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> schema = {"continuation": CONTINUATION_TABLE}
    >>> continuation_requested(validate({}, schema))
    False
    >>> continuation_requested(validate({"continuation": {"param": "r"}}, schema))
    True
    """
    table = spec.get("continuation")
    if not table:
        return False
    if table["param"]:
        return True
    changed = [
        k for k, key in CONTINUATION_TABLE.extra.items() if k != "param" and table[k] != key.default
    ]
    options, defaults = table["options"], CONTINUATION_TABLE.defaults()
    changed += [
        f.name for f in fields(options) if getattr(options, f.name) != getattr(defaults, f.name)
    ]
    if changed:
        raise SpecError(
            f"[continuation] sets {[f'continuation.{k}' for k in changed]} but no "
            "`continuation.param`; name the parameter to continue in."
        )
    return False


# ---------------------------------------------------------------------------- checks
def _check_param(table: dict[str, Any], system) -> float:
    param = table["param"]
    if not param:
        raise SpecError("missing required key `continuation.param` (the parameter to continue).")
    if param not in system.param_names:
        raise SpecError(
            f"`continuation.param` {param!r} is not a parameter of {system.name!r}; it has "
            f"{sorted(system.param_names)}."
        )
    p0 = float(system.params[param])
    options = table["options"]
    if not options.p_min <= p0 <= options.p_max:
        raise SpecError(
            f"the start value {param} = {p0!r} (from the model) lies outside "
            f"[`continuation.p_min`, `continuation.p_max`] = [{options.p_min!r}, "
            f"{options.p_max!r}]; widen the bounds or set model.params.{param}."
        )
    return p0


def _measure(table: dict[str, Any], system):
    measure = table["measure"]
    if not measure:
        return None
    names = list(system.state_names)
    if measure in names or measure == "norm":
        return measure
    if measure in LOSS_MEASURES:
        if not system.has_potential:
            raise SpecError(
                f"`continuation.measure` = {measure!r} needs a system with a potential (a "
                f"gradient system); {system.name!r} has none. Use a state name or 'norm'."
            )
        return "loss"
    raise SpecError(
        f"`continuation.measure` must be a state name {names}, 'norm' or 'loss'; got {measure!r}."
    )


def _state(values, system, key: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.shape != (system.n,):
        raise SpecError(
            f"`{key}` has {x.size} values; the model has {system.n} states "
            f"{list(system.state_names)}."
        )
    return x


def _find_points(spec: dict[str, Any], system) -> xr.Dataset:
    from .region import find_region_points

    if not spec["region"]["lower"] or not spec["region"]["upper"]:
        raise SpecError(
            "give `start.x`, or a [region] (`region.lower`, `region.upper`) to find a start in."
        )
    return find_region_points(spec, system)[0]


def pick_start(spec: dict[str, Any], system, points: xr.Dataset | None) -> np.ndarray:
    """The start state: ``start.x``, else a fixed point of ``points`` chosen by ``start.pick``
    (stable / unstable / any) and ``start.near`` (the nearest to it; else the first).

    Raises
    ------
    SpecError
        If no fixed point qualifies, or a state has the wrong length.
    """
    start = spec["start"]
    if start["x"]:
        return _state(start["x"], system, "start.x")
    if points is None:
        points = _find_points(spec, system)
    X = np.asarray(points["x"].values, dtype=float).reshape(-1, system.n)
    ok = np.ones(len(X), dtype=bool)
    if "kind" in points and start["pick"] != "any":
        stable = np.isin(points["kind"].values.astype(str), ("sink node", "sink focus", "minimum"))
        ok = stable if start["pick"] == "stable" else ~stable
    if not ok.any():
        raise SpecError(
            f"no {start['pick']} fixed point was found to start from (`start.pick`); "
            "give `start.x`, or change the region or the seeds."
        )
    candidates = np.flatnonzero(ok)
    if start["near"]:
        near = _state(start["near"], system, "start.near")
        k = candidates[np.argmin(np.linalg.norm(X[candidates] - near, axis=1))]
    else:
        k = candidates[0]
    print(f"start: fixed point {k} of {len(X)} (start.pick = {start['pick']!r})")
    return X[k]


# ---------------------------------------------------------------------------- report
def _normal_form(row: dict[str, Any]) -> str:
    kind = row["type"]
    if kind == "LP" and np.isfinite(row["fold_a"]):
        return f"a = {row['fold_a']:.6g}"
    if kind == "H" and np.isfinite(row["omega"]):
        text = f"omega = {row['omega']:.6g}"
        l1 = row["lyapunov"]
        if np.isfinite(l1):
            text += f", l1 = {l1:.3g} ({'subcritical' if l1 > 0 else 'supercritical'})"
        return text
    return ""


def special_point_table(diagram: xr.DataTree | xr.Dataset) -> str:
    """A plain-text table of the special points of every branch of a diagram.

    Columns: branch, type (LP fold, BP branch point, H Hopf, IC index change), parameter value,
    location status ("converged", or "max_iter" when not located to ``locate_tol``), change of
    the index, normal-form data (fold coefficient ``a``; Hopf frequency ``omega`` and first
    Lyapunov coefficient ``l1``) and the first state coordinates.
    A switched branch's own branch point is marked "(switch)".

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch
    >>> from dynsys.models import fold_normal_form
    >>> branch = continue_branch(fold_normal_form(), [1.0], "mu",
    ...                          options=ContinuationOptions(ds_max=0.2, p_max=1.0))
    >>> print(special_point_table(branch).splitlines()[1].split()[:3])
    ['branch', 'LP', '0']
    """
    import xarray as xr

    if isinstance(diagram, xr.Dataset):
        branches = {"branch": diagram}
    else:
        branches = {name: node.to_dataset() for name, node in diagram.children.items()}
    rows = []
    param = ""
    for name, ds in branches.items():
        param = param or str(ds.attrs.get("continuation_param", "param"))
        names = [str(s) for s in ds["state"].values][:3]
        start = int(ds.attrs.get("start_step", -1))
        switched = bool(ds.attrs.get("parent_branch", ""))
        for k in range(ds.sizes.get("special", 0)):
            x = ds["special_x"].values[k][: len(names)]
            row = {
                "type": str(ds["special_type"].values[k]),
                "fold_a": float(ds["special_fold_a"].values[k]),
                "omega": float(ds["special_hopf_omega"].values[k]),
                "lyapunov": float(ds["special_lyapunov"].values[k]),
            }
            mark = (
                " (switch)"
                if switched and int(ds["special_step"].values[k]) == start and row["type"] == "BP"
                else ""
            )
            rows.append(
                [
                    name + mark,
                    row["type"],
                    f"{round(float(ds['special_param'].values[k]), 12) + 0.0:.12g}",
                    str(status_names(ds["special_status"].values[k])),
                    f"{int(ds['special_delta_index'].values[k]):+d}",
                    ", ".join(
                        f"{n} = {round(float(v), 6) + 0.0:.6g}"
                        for n, v in zip(names, x, strict=True)
                    ),
                    _normal_form(row),
                ]
            )
    header = ["branch", "type", param, "status", "d_index", "state", "normal form"]
    if not rows:
        return "no special points found."
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _branch_summary(tree: xr.DataTree) -> str:
    """One line per branch (points, parameter range, origin, why its ends stopped: the names of
    ``status(end)``, backward/forward), then what to change for stops that cut a branch short."""
    lines = []
    seen: set[int] = set()
    for name, node in tree.children.items():
        ds = node.to_dataset()
        p = ds["param"].values
        parent = ds.attrs.get("parent_branch", "")
        origin = f"from {parent} special {ds.attrs.get('parent_special')}" if parent else "start"
        codes = [int(c) for c in ds["status"].values]
        seen.update(codes)
        lines.append(
            f"  {name}: {ds.sizes['step']} points, {ds.attrs['continuation_param']} in "
            f"[{p.min():.6g}, {p.max():.6g}], {origin}, stopped by "
            + "/".join(status_names(codes).tolist())
        )
    lines += [f"  note: {explain(code)}" for code in _EXPLAINED_STOPS if code in seen]
    return "\n".join(lines)


def _draw(tree: xr.DataTree, system, measure, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from phase.bifurcation import draw_diagram

    from ..io import atomic_write_path

    fig = Figure(figsize=(8, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    draw_diagram(tree, measure=measure, system=system, ax=fig.subplots())
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


# ---------------------------------------------------------------------------- running
def run_continuation_stage(
    spec: dict[str, Any],
    system,
    out_dir: Path,
    *,
    points: xr.Dataset | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Run the continuation stage of a validated spec; return the files written.

    Parameters
    ----------
    spec : dict
        Validated against ``dynsys.cli.schema.schema_for("continue")``.
    system : System
        The model.
    out_dir : Path
        Folder for ``diagram.nc`` and ``diagram.png`` (and ``curves.nc``, ``curves.png`` with
        ``continuation.param2``; ``cycles.nc``, ``cycles.png`` with ``cycles.from_hopf``),
        created if missing.
    points : xarray.Dataset, optional
        Fixed points already found (analyze); the start is picked among them unless
        ``start.x`` is given.
    progress : bool
        Show progress bars.

    Raises
    ------
    SpecError
        For a parameter the model lacks, bounds that exclude the start value, a bad measure or
        start state, or out-of-range options (the message names the key).
    """
    from ..continuation import bifurcation_diagram
    from ..io import save

    table = spec["continuation"]
    p0 = _check_param(table, system)
    options = table["options"]
    measure = _measure(table, system)
    with_curves = curves_requested(table, system)
    with_cycles = cycles_requested(spec)
    x0 = pick_start(spec, system, points)
    param = table["param"]
    print(
        f"continuation in {param} from {param} = {p0:g}, "
        f"x0 = {np.array2string(x0, precision=6, separator=', ')}, depth {table['depth']}:"
    )
    tree = bifurcation_diagram(
        system,
        x0,
        param,
        options=options,
        max_depth=table["depth"],
        max_branches=table["max_branches"],
        direction=DIRECTIONS[table["direction"]],
        progress=progress,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    print(_branch_summary(tree))
    print(special_point_table(tree))
    written = {
        "diagram": save(tree, out_dir / "diagram.nc"),
        "diagram_plot": _draw(tree, system, measure, out_dir / "diagram.png"),
    }
    if with_curves:
        written.update(run_curves(tree, system, table, out_dir, progress=progress))
    if with_cycles:
        written.update(run_cycles(tree, system, spec, out_dir, progress=progress))
    return written


def run_continue(
    spec: dict[str, Any], system, out_dir: Path, *, progress: bool = False
) -> dict[str, Path]:
    """``dynsys continue``: the continuation stage alone (finding a start if needed)."""
    print(f"{system!r}")
    return run_continuation_stage(spec, system, out_dir, progress=progress)
