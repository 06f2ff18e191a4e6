"""Two-parameter curves in the continuation stage: ``continuation.param2`` follows every fold (LP)
and Hopf (H) point of the diagram's branches in a second parameter
(:func:`dynsys.continuation.two_parameter_diagram`), prints the codimension-two points found on
the curves (cusp, Bogdanov-Takens, generalised Hopf, zero-Hopf, double Hopf) and writes
``curves.nc`` (a DataTree, one node per curve) and ``curves.png``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import status_names
from ..errors import SpecError
from .spec import Key, positive

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["CURVES_KEYS", "curves_requested", "run_curves"]

CURVES_KEYS = {
    "param2": Key(
        "str", "", doc="follow every fold and Hopf point in this second parameter (none: empty)"
    ),
    "param2_min": Key("float", -np.inf, doc="lower bound of param2 on the curves"),
    "param2_max": Key("float", np.inf, doc="upper bound of param2 on the curves"),
    "max_curves": Key("int", 20, positive, "most fold and Hopf curves"),
}
"""Keys of the ``[continuation]`` table that ask for two-parameter curves."""

_CODIM2 = {
    "CP": "cusp",
    "BT": "Bogdanov-Takens",
    "GH": "generalised Hopf",
    "ZH": "zero-Hopf",
    "HH": "double Hopf",
}


def curves_requested(table: dict[str, Any], system) -> bool:
    """Whether ``continuation.param2`` asks for curves; checks it names another parameter.

    Raises
    ------
    SpecError
        If ``param2`` is not a parameter of the model, equals ``param``, or its bounds are empty.
    """
    param2 = table["param2"]
    if not param2:
        return False
    if param2 not in system.param_names:
        raise SpecError(
            f"`continuation.param2` {param2!r} is not a parameter of {system.name!r}; it has "
            f"{sorted(system.param_names)}."
        )
    if param2 == table["param"]:
        raise SpecError(
            f"`continuation.param2` must differ from `continuation.param` (both {param2!r})."
        )
    if not table["param2_min"] < table["param2_max"]:
        raise SpecError(
            f"`continuation.param2_min` ({table['param2_min']!r}) must be below "
            f"`continuation.param2_max` ({table['param2_max']!r})."
        )
    p2 = float(system.params[param2])
    if not table["param2_min"] <= p2 <= table["param2_max"]:
        raise SpecError(
            f"the model's {param2} = {p2!r} lies outside [`continuation.param2_min`, "
            f"`continuation.param2_max`]; widen the bounds or set model.params.{param2}."
        )
    return True


def _curves(tree: xr.DataTree, system, table: dict[str, Any], progress: bool) -> xr.DataTree:
    """Fold and Hopf curves through the special points of every branch, one DataTree."""
    import xarray as xr

    from ..continuation import two_parameter_diagram
    from ..io import provenance

    options = table["options"]
    curve_options = dataclasses.replace(
        options, p_min=table["param2_min"], p_max=table["param2_max"]
    )
    nodes: dict[str, xr.Dataset] = {}
    failed = 0
    for name, node in tree.children.items():
        branch = node.to_dataset()
        types = [str(t) for t in branch["special_type"].values]
        if not any(t in ("LP", "H") for t in types):
            continue
        room = table["max_curves"] - len(nodes)
        if room < 1:
            break
        sub = two_parameter_diagram(
            system,
            branch,
            table["param2"],
            options=curve_options,
            param1_range=(options.p_min, options.p_max),
            max_curves=room,
            progress=progress,
        )
        failed += int(sub.attrs.get("n_failed_starts", 0))
        for child, curve in sub.children.items():
            ds = curve.to_dataset()
            ds.attrs["branch"] = name
            nodes[f"{name}_{child}"] = ds
    root = xr.Dataset(
        attrs=provenance(
            system,
            continuation_param=table["param"],
            continuation_param2=table["param2"],
            n_curves=len(nodes),
            n_failed_starts=failed,
        )
    )
    return xr.DataTree.from_dict({"/": root, **nodes})


def codim2_table(curves: xr.DataTree) -> str:
    """A plain-text table of the codimension-two points on the curves (one row per point)."""
    rows = []
    param = str(curves.attrs.get("continuation_param", "param"))
    param2 = str(curves.attrs.get("continuation_param2", "param2"))
    for name, node in curves.children.items():
        ds = node.to_dataset()
        for k in range(ds.sizes.get("special", 0)):
            kind = str(ds["special_type"].values[k])
            extra = ""
            if "special_lyapunov2" in ds and kind == "GH":
                l2 = float(ds["special_lyapunov2"].values[k])
                extra = f"l2 = {l2:.4g}" if np.isfinite(l2) else "l2 undetermined"
            rows.append(
                [
                    name,
                    f"{kind} ({_CODIM2.get(kind, kind)})",
                    f"{round(float(ds['special_param'].values[k]), 10) + 0.0:.10g}",
                    f"{round(float(ds['special_param2'].values[k]), 10) + 0.0:.10g}",
                    str(status_names(ds["special_status"].values[k])),
                    extra,
                ]
            )
    if not rows:
        return "no codimension-two points on the curves."
    header = ["curve", "type", param, param2, "status", ""]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _summary(curves: xr.DataTree) -> str:
    lines = []
    for name, node in curves.children.items():
        ds = node.to_dataset()
        ends = "/".join(status_names([int(c) for c in ds["status"].values]).tolist())
        lines.append(
            f"  {name}: {ds.sizes['step']} points, {ds.attrs['continuation_param2']} in "
            f"[{float(ds['param2'].min()):.6g}, {float(ds['param2'].max()):.6g}], stopped by "
            f"{ends}"
        )
    failed = int(curves.attrs.get("n_failed_starts", 0))
    if failed:
        lines.append(f"  note: {failed} curve(s) could not start (Newton on the extended system).")
    return "\n".join(lines)


def _draw(curves: xr.DataTree, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from phase.curves import draw_two_parameter_diagram

    from ..io import atomic_write_path

    fig = Figure(figsize=(7, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    draw_two_parameter_diagram(curves, ax=fig.subplots())
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def run_curves(
    tree: xr.DataTree, system, table: dict[str, Any], out_dir: Path, *, progress: bool = False
) -> dict[str, Path]:
    """Follow the fold and Hopf points of a diagram in ``continuation.param2``; print the
    curves and their codimension-two points; write ``curves.nc`` and ``curves.png``."""
    from ..io import save

    curves = _curves(tree, system, table, progress)
    print(f"two-parameter curves in ({table['param']}, {table['param2']}):")
    if not curves.children:
        print("  no fold or Hopf point to follow.")
    else:
        print(_summary(curves))
        print(codim2_table(curves))
    written = {"curves": save(curves, out_dir / "curves.nc")}
    if curves.children:
        written["curves_plot"] = _draw(curves, out_dir / "curves.png")
    return written
