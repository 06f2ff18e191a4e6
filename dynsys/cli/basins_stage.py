"""The basins stage: ``dynsys basins SPEC.toml`` and the ``[basins]`` table of ``dynsys analyze``.

The ``[basins]`` table (:data:`dynsys.cli.basins_spec.BASINS_TABLE`) holds the fields of
:class:`~dynsys.basins.BasinOptions` (``[basins.flow]`` and ``[basins.newton]`` as sub-tables) and
what to compute: ``mode`` is ``"map"`` (a grid, ``grid = { axes = { x = { linspace = [low, high,
num] }, y = { values = [...] } } }``), ``"probabilities"`` (Monte Carlo from ``sampler = { kind =
"uniform", low = [...], high = [...] }`` with ``n``, ``seed``, ...) or ``"sweep"`` (the same over
``values`` of a ``param``); ``figure`` (draw ``basins.png``) and ``enabled`` (false skips the stage
in ``dynsys analyze``) belong to the command line.

The stage prints a table of the attractors (kind, index, energy, state) with the number and
fraction of orbits reaching each, Wilson intervals for Monte-Carlo estimates, and the outcomes
without an attractor with what they mean and what to change (:func:`dynsys.explain`); it writes
``basins.nc`` and ``basins.png``. ``dynsys basins`` first finds the fixed points in ``[region]``
when the spec has one and gives them as known points; without a region the attractors are found
on the way (end points verified by Newton).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import explain
from ..errors import SpecError
from .basins_spec import BASINS_TABLE, MODES, changed_keys, run_basins_table

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "BASINS_TABLE",
    "basin_table",
    "basins_requested",
    "run_basins",
    "run_basins_stage",
]


def basins_requested(spec: dict[str, Any]) -> bool:
    """Whether ``dynsys analyze`` runs the basins stage: ``basins.mode`` is set and
    ``basins.enabled`` is not false.

    Raises
    ------
    SpecError
        If the table sets options but no ``mode``.

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> schema = {"basins": BASINS_TABLE}
    >>> basins_requested(validate({}, schema))
    False
    >>> basins_requested(validate({"basins": {"mode": "map"}}, schema))
    True
    >>> basins_requested(validate({"basins": {"mode": "map", "enabled": False}}, schema))
    False
    """
    table = spec.get("basins")
    if not table or not table["enabled"]:
        return False
    if table["mode"]:
        return True
    changed = changed_keys(table)
    if changed:
        raise SpecError(
            f"[basins] sets {[f'basins.{k}' for k in changed]} but no `basins.mode`; choose one "
            f"of {list(MODES)}."
        )
    return False


# ---------------------------------------------------------------------------- the table
def _number(value: float, fmt: str) -> str:
    return "" if not np.isfinite(value) else format(round(float(value), 12) + 0.0, fmt)


def _beyond_points(ds: xr.Dataset) -> bool:
    """Whether the result holds an attractor that is not a point (then the table shows the
    period and the largest Lyapunov exponent)."""
    if "attractor_type" not in ds:
        return False
    types = np.asarray(ds["attractor_type"].values).astype(str)
    return bool(np.isin(types, ["cycle", "chaotic", "quasi-periodic", "recurrent"]).any())


def _dynamics(at: xr.Dataset) -> list[str]:
    """The period (cycles; iterates of a map as an integer) and the largest Lyapunov exponent
    (``+- standard error`` for a recurrent set) of one attractor row."""
    kind = str(at["attractor_type"].values)
    period = float(at["attractor_period"].values)
    text = ""
    if kind == "cycle" and np.isfinite(period):
        text = (
            f"{period:.0f}"
            if str(at["attractor_period_method"].values) == "exact"
            else (f"{period:.8g}")
        )
    lam = float(at["attractor_lyapunov"].values[0]) if kind else np.nan
    se = float(at["attractor_lyapunov_stderr"].values[0]) if kind else np.nan
    exponent = ""
    if kind and kind != "point" and np.isfinite(lam):
        exponent = _number(lam, ".4g") + (f" +- {se:.2g}" if np.isfinite(se) and se > 0 else "")
    return [text, exponent]


def _rows(
    ds: xr.Dataset, where: dict[str, int], shown: list[str], interval: bool, dynamics: bool
) -> list[list]:
    rows = []
    ds = ds.isel(where)
    for label in ds["attractor"].values.tolist():
        at = ds.sel(attractor=label)
        count = int(at["n_orbits"].values)
        kind = str(at["attractor_kind"].values)
        if not kind and count == 0:  # a sweep: the attractor is absent at this value
            continue
        row = [str(label), kind]
        if "attractor_role" in ds:
            row.append(str(at["attractor_role"].values))
        index = int(at["attractor_index"].values)
        row.append(str(index) if index >= 0 else "")
        if "attractor_energy" in ds:
            row.append(_number(float(at["attractor_energy"].values), ".6g"))
        if dynamics:
            row += _dynamics(at)
        x = at["attractor_x"].sel(state=shown).values
        row += [_number(float(v), ".6f") for v in x]
        row += [str(count), f"{float(at['fraction'].values):.4f}"]
        if interval:
            low, high = float(at["ci_low"].values), float(at["ci_high"].values)
            row.append(f"[{low:.4f}, {high:.4f}]")
        rows.append(row)
    return rows


def _format(header: list[str], rows: list[list], left: range) -> list[str]:
    """Columns aligned; those in ``left`` (text) to the left, the others (numbers) right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def basin_table(ds: xr.Dataset) -> str:
    """A plain-text table of a basin result: one row per attractor (label, kind, role, index,
    energy, first coordinates) and per outcome without an attractor, with the number and
    fraction of orbits; for Monte-Carlo results also the Wilson interval; for a sweep one block
    of rows per parameter value. When an attractor is not a point, two more columns: the
    ``period`` of cycles (time of a flow's cycle, iterates of a map's) and the largest
    Lyapunov exponent ``lyapunov`` (with its standard error for chaotic, quasi-periodic and
    undecided recurrent sets; from the Floquet or the map multipliers for cycles).

    Examples
    --------
    >>> from dynsys.basins import basin_map
    >>> from dynsys.models import double_well
    >>> ds = basin_map(double_well(), {"x": (-1.5, 1.5, 4), "y": (-1, 1, 3)})
    >>> print(basin_table(ds))
    label  attractor  index  energy          x         y  orbits  fraction
        0  minimum        0       0  -1.000000  0.000000       6    0.5000
        1  minimum        0       0   1.000000  0.000000       6    0.5000
    """
    names = [str(s) for s in ds["state"].values]
    shown = names[:3]
    interval = "plane_base" not in ds  # grid fractions are not random draws
    header = ["label", "attractor"]
    if "attractor_role" in ds:
        header.append("role")
    left = range(1, len(header))
    header.append("index")
    if "attractor_energy" in ds:
        header.append("energy")
    dynamics = _beyond_points(ds)
    if dynamics:
        header += ["period", "lyapunov"]
    header += [*shown, "orbits", "fraction"]
    level = float(ds.attrs.get("confidence", 0.95))
    if interval:
        header.append(f"{100 * level:g}% interval")
    if "param" not in ds.dims:
        lines = _format(header, _rows(ds, {}, shown, interval, dynamics), left)
    else:
        pname = str(ds.attrs.get("param_name", "param"))
        rows = []
        for k, value in enumerate(ds["param"].values.tolist()):
            for row in _rows(ds, {"param": k}, shown, interval, dynamics):
                rows.append([f"{value:g}", *row])
        lines = _format([pname, *header], rows, range(left.start + 1, left.stop + 1))
    if len(names) > len(shown):
        lines.append(f"(first {len(shown)} of {len(names)} coordinates shown)")
    return "\n".join(lines)


def _headline(ds: xr.Dataset, mode: str) -> str:
    if mode == "map":
        a, b = ds["label"].dims
        return (
            f"basin map: {ds.sizes[a]} x {ds.sizes[b]} grid points in ({a}, {b}); "
            "fractions are area fractions of the grid:"
        )
    sampler = ds.attrs.get("sampler", "")
    if mode == "probabilities":
        rounds = int(ds.attrs.get("n_rounds", 1))
        width = ds.attrs.get("target_width")
        rule = f", target width {width:g}" if width is not None else ""
        return (
            f"basin probabilities from {int(ds.attrs['n_samples'])} initial states ({sampler}, "
            f"seed {ds.attrs.get('seed')}, {rounds} round(s){rule}):"
        )
    name = ds.attrs.get("param_name", "param")
    return (
        f"basin probabilities over {name} = {ds['param'].values.tolist()} from "
        f"{int(ds.attrs['n_samples'])} initial states per value ({sampler}, seed "
        f"{ds.attrs.get('seed')}, the same draws at every value):"
    )


def _notes(ds: xr.Dataset) -> list[str]:
    """One note per outcome without an attractor: how many orbits, what it means, the fix."""
    counts = ds["n_orbits"]
    if "param" in counts.dims:
        counts = counts.sum("param")
    notes = []
    for label in ds["attractor"].values.tolist():
        count = int(counts.sel(attractor=label).values)
        if label < 0 and count:
            notes.append(f"note: {count} orbit(s) {explain(-label)}")
    return notes


# ---------------------------------------------------------------------------- running
def _draw(ds: xr.Dataset, mode: str, title: str, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from phase.basins import draw_basin_map, draw_probabilities, draw_probability_curves

    from ..io import atomic_write_path

    size = (7.5, 6.0) if mode == "map" else (7.5, 5.0)
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if mode == "map":
        draw_basin_map(ds, ax=ax)
    elif mode == "probabilities":
        draw_probabilities(ds, ax=ax)
    else:
        draw_probability_curves(ds, ax=ax)
    ax.set_title(title)
    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def _table(spec: dict[str, Any]) -> dict[str, Any]:
    table = spec.get("basins")
    if not table or not table["mode"]:
        raise SpecError(
            "the spec has no [basins] table with a `basins.mode`; add one, e.g. [basins] with "
            'mode = "map" and grid = { axes = { x = { linspace = [-2.0, 2.0, 100] }, '
            "y = { linspace = [-2.0, 2.0, 100] } } }."
        )
    return table


def run_basins_stage(
    spec: dict[str, Any],
    system,
    out_dir: Path,
    points: xr.Dataset | None = None,
    *,
    progress: bool = False,
    executor=None,
) -> dict[str, Path]:
    """Run the basins stage of a validated spec; return the files written.

    Parameters
    ----------
    spec : dict
        Validated against ``dynsys.cli.schema.schema_for("basins")``; its ``[basins]`` table is
        used.
    system : System
        The model.
    out_dir : Path
        Folder for ``basins.nc`` and ``basins.png`` (created if missing).
    points : xarray.Dataset, optional
        Fixed points already found: the known attractors (others are found on the way).
    progress : bool
        Show a progress bar (also ``basins.progress = true``).
    executor : str, optional
        Where chunks run, from the command line (``--executor``): it overrides
        ``basins.executor`` and may be a dask scheduler address, which a spec may not name.

    Raises
    ------
    SpecError
        For a missing mode, an unknown key or a malformed grid, sampler or flow table (the
        message names the key).

    Examples
    --------
    >>> import tempfile
    >>> from dynsys.cli.spec import validate
    >>> from dynsys.models import double_well
    >>> spec = validate({"basins": {"mode": "map", "figure": False, "grid": {"axes": {
    ...                  "x": {"linspace": [-1.5, 1.5, 4]}, "y": {"linspace": [-1, 1, 3]}}}}},
    ...                 {"basins": BASINS_TABLE})
    >>> written = run_basins_stage(spec, double_well(), Path(tempfile.mkdtemp()))
    ... # doctest: +ELLIPSIS
    basin map: 4 x 3 grid points in (x, y); fractions are area fractions of the grid:
    ...
    >>> sorted(written)
    ['basins']
    """
    from ..io import save

    table = _table(spec)
    mode = table["mode"]
    ds = run_basins_table(system, table, attractors=points, progress=progress, executor=executor)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(_headline(ds, mode))
    print(basin_table(ds))
    for note in _notes(ds):
        print(note)
    written = {"basins": save(ds, out_dir / "basins.nc")}
    if table["figure"]:
        title = f"{system.name}: basins ({mode})"
        written["basins_plot"] = _draw(ds, mode, title, out_dir / "basins.png")
    return written


def run_basins(
    spec: dict[str, Any], system, out_dir: Path, *, progress: bool = False, executor=None
) -> dict[str, Path]:
    """``dynsys basins``: the fixed points of ``[region]`` when given, then the basins stage."""
    from .region import find_region_points

    _table(spec)  # fail before any computation
    print(f"{system!r}")
    points = None
    region = spec["region"]
    if region["lower"] or region["upper"]:
        points, _, _ = find_region_points(spec, system)
    else:
        print("no [region]: attractors are found on the way (end points verified by Newton).")
    return run_basins_stage(spec, system, out_dir, points, progress=progress, executor=executor)
