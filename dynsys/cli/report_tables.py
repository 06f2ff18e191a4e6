"""The tables of a run's report (:mod:`dynsys.cli.report`), read from the saved results.

Each function takes one loaded result (a Dataset or the DataTree of a diagram) and gives
:class:`Table` objects of plain strings: fixed points, attractors of a basin computation with
their fractions and Wilson intervals, special points and branches of a continuation diagram,
nodes and barriers of a critical-point graph, and the counts of every outcome code with its
:func:`dynsys.explain` text. :func:`tables_of` picks the right ones for a file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .. import Status, explain
from ..errors import DynsysError

__all__ = ["MAX_ROWS", "Table", "fmt", "outcome_table", "tables_of"]

MAX_ROWS = 1000
"""Most rows a table shows (the caption says how many there are)."""


@dataclass
class Table:
    """A titled table of strings; ``key`` names it in the page (``id="table-<key>"``).

    Examples
    --------
    >>> t = Table("fixed-points", "Fixed points", ["x"], [["1"]])
    >>> t.key, t.columns, t.rows
    ('fixed-points', ['x'], [['1']])
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    total: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.rows)
        if len(self.rows) > MAX_ROWS:
            self.note = (self.note + " " if self.note else "") + (
                f"The first {MAX_ROWS} of {self.total} rows are shown; the file has them all."
            )
            self.rows = self.rows[:MAX_ROWS]


def fmt(value) -> str:
    """A number as short text: 6 significant digits, ``-0`` and ``1e-17`` noise shown as 0.

    Examples
    --------
    >>> fmt(0.25), fmt(-1e-17), fmt(float("nan")), fmt(3), fmt("saddle-1"), fmt(True)
    ('0.25', '0', 'nan', '3', 'saddle-1', 'true')
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{round(v, 12) + 0.0:.6g}"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _vector(values: Iterable) -> str:
    return ", ".join(fmt(v) for v in values)


def _eigenvalues(real: np.ndarray, imag: np.ndarray) -> str:
    parts = []
    for re, im in zip(real, imag, strict=True):
        if not np.isfinite(re):
            continue
        parts.append(
            fmt(re) if abs(im) < 1e-14 else f"{fmt(re)}{'+' if im >= 0 else '-'}{fmt(abs(im))}i"
        )
    return ", ".join(parts)


def _state_names(ds: xr.Dataset, n: int) -> list[str]:
    if "state" in ds.coords and ds.sizes.get("state") == n:
        return [str(s) for s in ds["state"].values]
    names = str(ds.attrs.get("state_names", "")).split()
    return names if len(names) == n else [f"x{i}" for i in range(n)]


def _get(ds: xr.Dataset, name: str, row: int, default=""):
    return ds[name].values[row] if name in ds else default


# ------------------------------------------------------------------------ fixed points
def fixed_point_table(ds: xr.Dataset, title: str = "Fixed points") -> Table:
    """The fixed points: coordinates, kind, index, nullity, energy, residual, eigenvalues.

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("point", "state"), [[1.0, 0.0]]), "kind": ("point", ["minimum"]),
    ...                  "index": ("point", [0]), "energy": ("point", [0.0])},
    ...                 coords={"state": ["x", "y"]})
    >>> t = fixed_point_table(ds)
    >>> t.columns[:5], t.rows[0][:5]
    (['#', 'x', 'y', 'kind', 'index'], ['0', '1', '0', 'minimum', '0'])
    """
    n_points, n = ds["x"].shape
    names = _state_names(ds, n)
    columns = ["#", *names, "kind", "index", "nullity", "energy", "residual", "eigenvalues"]
    rows = []
    for k in range(n_points):
        eig = ""
        if "eigenvalue_real" in ds:
            imag = (
                ds["eigenvalue_imag"].values[k]
                if "eigenvalue_imag" in ds
                else 0 * np.asarray(ds["eigenvalue_real"].values[k])
            )
            eig = _eigenvalues(ds["eigenvalue_real"].values[k], imag)
        rows.append(
            [
                str(k),
                *(fmt(v) for v in ds["x"].values[k]),
                fmt(_get(ds, "kind", k)),
                fmt(_get(ds, "index", k)),
                fmt(_get(ds, "nullity", k)),
                fmt(_get(ds, "energy", k)),
                f"{float(_get(ds, 'residual', k, np.nan)):.1e}",
                eig,
            ]
        )
    return Table("fixed-points", title, columns, rows)


# ------------------------------------------------------------------------ basins
def attractor_table(ds: xr.Dataset) -> Table:
    """The attractors of a basin result: kind, index, energy, a state on it, orbits, fraction
    with its Wilson interval, period and largest Lyapunov exponent where known.

    Examples
    --------
    >>> ds = xr.Dataset({"attractor_kind": ("attractor", ["minimum"]),
    ...                  "n_orbits": ("attractor", [10]), "fraction": ("attractor", [1.0]),
    ...                  "ci_low": ("attractor", [0.7]), "ci_high": ("attractor", [1.0])},
    ...                 coords={"attractor": [0]}, attrs={"confidence": 0.95})
    >>> t = attractor_table(ds)
    >>> t.columns[7:9], t.rows[0][7:9]
    (['fraction', '95% interval'], ['1', '[0.7, 1]'])
    """
    labels = ds["attractor"].values if "attractor" in ds.coords else range(ds.sizes["attractor"])
    level = float(ds.attrs.get("confidence", 0.95))
    columns = [
        "label",
        "attractor",
        "type",
        "index",
        "energy",
        "state",
        "orbits",
        "fraction",
        f"{100 * level:g}% interval",
        "period",
        "largest Lyapunov exponent",
        "note",
    ]
    rows = []
    for k, label in enumerate(labels):
        state = _vector(ds["attractor_x"].values[k]) if "attractor_x" in ds else ""
        period = ""
        if "attractor_period" in ds and np.isfinite(ds["attractor_period"].values[k]):
            period = fmt(ds["attractor_period"].values[k])
        lyapunov = ""
        if "attractor_lyapunov" in ds:
            first = np.asarray(ds["attractor_lyapunov"].values[k]).ravel()[:1]
            if first.size and np.isfinite(first[0]):
                lyapunov = fmt(first[0])
        rows.append(
            [
                fmt(label),
                fmt(_get(ds, "attractor_kind", k)),
                fmt(_get(ds, "attractor_type", k)),
                fmt(_get(ds, "attractor_index", k)),
                fmt(_get(ds, "attractor_energy", k)),
                state,
                fmt(_get(ds, "n_orbits", k)),
                fmt(_get(ds, "fraction", k)),
                f"[{fmt(_get(ds, 'ci_low', k))}, {fmt(_get(ds, 'ci_high', k))}]",
                period,
                lyapunov,
                fmt(_get(ds, "attractor_note", k)),
            ]
        )
    mode = "area fractions of the grid" if ds.attrs.get("n_points") and "x" in ds.dims else ""
    note = f"Fractions are {mode}." if mode else ""
    return Table("attractors", "Attractors", columns, rows, note)


# ------------------------------------------------------------------------ continuation
def _branches(tree: xr.DataTree) -> dict[str, xr.Dataset]:
    out = {}
    for node in tree.subtree:
        ds = node.to_dataset()
        if "param" in ds or "special_type" in ds:
            out[node.path.strip("/") or "branch"] = ds
    return out


def branch_tables(tree: xr.DataTree) -> list[Table]:
    """The branches of a continuation diagram (points, parameter range, how each end stopped)
    and their special points (type, parameter, location status, change of index, state).

    Examples
    --------
    >>> ds = xr.Dataset({"param": ("step", [0.0, 1.0]), "x": (("step", "state"), [[0.0], [1.0]]),
    ...                  "status": ("end", [13, 13])}, attrs={"continuation_param": "mu"})
    >>> [t.key for t in branch_tables(xr.DataTree.from_dict({"branch0": ds}))]
    ['branches', 'special-points']
    """
    branches = _branches(tree)
    param = ""
    branch_rows, special_rows = [], []
    for name, ds in branches.items():
        param = param or str(ds.attrs.get("continuation_param", "param"))
        if "param" in ds and ds.sizes.get("step", 0):
            p = ds["param"].values
            stops = (
                [Status(int(c)).name.lower() for c in np.ravel(ds["status"].values)]
                if ("status" in ds)
                else []
            )
            branch_rows.append(
                [name, str(p.size), f"[{fmt(p.min())}, {fmt(p.max())}]", " / ".join(stops)]
            )
        names = _state_names(ds, ds.sizes.get("state", 0))
        for k in range(ds.sizes.get("special", 0)):
            state = ", ".join(
                f"{n} = {fmt(v)}" for n, v in zip(names, ds["special_x"].values[k], strict=False)
            )
            status = int(ds["special_status"].values[k]) if "special_status" in ds else 0
            special_rows.append(
                [
                    name,
                    fmt(ds["special_type"].values[k]),
                    fmt(float(ds["special_param"].values[k])),
                    Status(status).name.lower(),
                    f"{int(_get(ds, 'special_delta_index', k, 0)):+d}",
                    state,
                ]
            )
    return [
        Table(
            "branches",
            "Branches",
            ["branch", "points", f"{param} range", "stopped by"],
            branch_rows,
        ),
        Table(
            "special-points",
            "Special points",
            ["branch", "type", param or "param", "status", "change of index", "state"],
            special_rows,
            "Types: LP fold, BP branch point, H Hopf, IC index change (PD, NS, LPC on cycles).",
        ),
    ]


# ------------------------------------------------------------------------ graph
def graph_tables(ds: xr.Dataset) -> list[Table]:
    """The nodes of a critical-point graph and its edges with their barriers
    (``E(saddle) - E(end)``), and the lowest barrier between each pair of minima.

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("node", "state"), [[0.0], [1.0]]),
    ...                  "kind": ("node", ["minimum", "saddle-1"]), "index": ("node", [0, 1]),
    ...                  "energy": ("node", [0.0, 0.5]), "energy_drop": ("edge", [0.5]),
    ...                  "source": ("edge", [1]), "target": ("edge", [0])},
    ...                 coords={"node": [0, 1]})
    >>> nodes, edges, _ = graph_tables(ds)
    >>> edges.rows[0][:4]
    ['0', '1 (saddle-1)', '0 (minimum)', '0.5']
    """
    ids = [fmt(v) for v in ds["node"].values]
    nodes = fixed_point_table(ds.rename({"node": "point"}), "Graph nodes")
    nodes.key = "graph-nodes"
    nodes.columns[0] = "node"
    for row, node_id in zip(nodes.rows, ids, strict=True):
        row[0] = node_id
    kinds = [fmt(v) for v in ds["kind"].values] if "kind" in ds else [""] * len(ids)
    rows = []
    for e in range(ds.sizes.get("edge", 0)):
        s, t = int(ds["source"].values[e]), int(ds["target"].values[e])
        status = Status(int(ds["status"].values[e])).name.lower() if "status" in ds else ""
        rows.append(
            [
                str(e),
                f"{ids[s]} ({kinds[s]})",
                f"{ids[t]} ({kinds[t]})",
                fmt(_get(ds, "energy_drop", e, np.nan)),
                status,
                fmt(_get(ds, "arc_length", e, np.nan)),
                fmt(_get(ds, "t_final", e, np.nan)),
                fmt(_get(ds, "n_trajectories", e, 1)),
            ]
        )
    edges = Table(
        "graph-edges",
        "Graph edges and barriers",
        [
            "edge",
            "saddle",
            "end",
            "barrier E(saddle) - E(end)",
            "status",
            "arc length",
            "time",
            "trajectories",
        ],
        rows,
        "Each edge is a trajectory from a saddle along an unstable direction to where it ends.",
    )
    return [nodes, edges, _lowest_barriers(ds)]


def _lowest_barriers(ds: xr.Dataset) -> Table:
    import networkx as nx

    from ..graph import from_dataset, lowest_barrier, minima

    columns = ["minimum a", "minimum b", "top energy", "at node", "height from a", "chain"]
    table = Table("lowest-barriers", "Lowest barriers between minima", columns, [])
    try:
        G = from_dataset(ds)
        low = [m for m in minima(G) if np.isfinite(G.nodes[m].get("energy", np.nan))][:40]
    except DynsysError as exc:
        table.note = f"Not computed: {exc}"
        return table
    for i, a in enumerate(low):
        for b in low[i + 1 :]:
            try:
                barrier = lowest_barrier(G, a, b)
            except (nx.NetworkXNoPath, nx.NodeNotFound, DynsysError):
                continue
            table.rows.append(
                [
                    fmt(a),
                    fmt(b),
                    fmt(barrier.energy),
                    fmt(barrier.saddle),
                    fmt(barrier.height),
                    " - ".join(fmt(k) for k in barrier.path),
                ]
            )
    table.total = len(table.rows)
    if not table.rows:
        table.note = "No two minima are joined by a chain of edges (or there are no energies)."
    return table


# ------------------------------------------------------------------------ outcomes
_NAMES = {s.name.lower(): s for s in Status}


def _status_variables(ds: xr.Dataset) -> Iterable[tuple[str, np.ndarray]]:
    for name, var in ds.data_vars.items():
        if (name == "status" or str(name).endswith("_status")) and var.dtype.kind in "iu":
            yield str(name), np.ravel(var.values)


def outcome_rows(label: str, ds: xr.Dataset) -> list[list[str]]:
    """Rows ``[file, what, outcome, count, explanation]``: the codes of every status variable of
    ``ds``, and the ``n_<outcome>`` counts among its attributes (e.g. of the Newton seeds).

    Examples
    --------
    >>> ds = xr.Dataset({"status": ("point", [0, 0, 3])}, attrs={"n_max_iter": 2})
    >>> [row[:4] for row in outcome_rows("f.nc", ds)]
    [['f.nc', 'status', 'converged', '2'], ['f.nc', 'status', 'escaped', '1'], \
['f.nc', 'attribute n_max_iter', 'max_iter', '2']]
    """
    rows = []
    for name, codes in _status_variables(ds):
        values, counts = np.unique(codes[codes >= 0], return_counts=True)
        for code, count in zip(values, counts, strict=True):
            if int(code) in Status._value2member_map_:
                rows.append(
                    [
                        label,
                        name,
                        Status(int(code)).name.lower(),
                        str(int(count)),
                        explain(int(code)),
                    ]
                )
    for key, value in ds.attrs.items():
        name = str(key)[2:]
        counted = str(key).startswith("n_") and isinstance(value, (int, np.integer))
        if counted and name in _NAMES and int(value) > 0:
            rows.append([label, f"attribute {key}", name, str(int(value)), explain(name)])
    return rows


def outcome_table(results: dict[str, xr.Dataset | xr.DataTree]) -> Table:
    """The counts of every outcome in the results (file name -> Dataset or DataTree), each with
    its :func:`dynsys.explain` text (meaning and fix).

    Examples
    --------
    >>> t = outcome_table({"a.nc": xr.Dataset({"status": ("point", [6])})})
    >>> t.rows[0][2], t.rows[0][4].startswith("max_iter:")
    ('max_iter', True)
    """
    rows = []
    for label, obj in results.items():
        if isinstance(obj, xr.DataTree):
            for node in obj.subtree:
                where = f"{label}:{node.path}" if node.path != "/" else label
                rows.extend(outcome_rows(where, node.to_dataset()))
        else:
            rows.extend(outcome_rows(label, obj))
    return Table(
        "outcomes",
        "Outcomes",
        ["file", "what", "outcome", "count", "explanation"],
        rows,
        "What each outcome means and what to do about it (dynsys.explain).",
    )


# ------------------------------------------------------------------------ dispatch
def kind_of(obj: xr.Dataset | xr.DataTree) -> str:
    """What a result is: ``graph``, ``basins``, ``diagram``, ``fixed_points`` or ``other``.

    Examples
    --------
    >>> kind_of(xr.Dataset({"x": (("point", "state"), [[0.0]])}))
    'fixed_points'
    """
    if isinstance(obj, xr.DataTree):
        return "diagram" if _branches(obj) else "other"
    if obj.attrs.get("dynsys_result") == "critical_point_graph" and "source" in obj:
        return "graph"
    if "fraction" in obj and "attractor" in obj.dims:
        return "basins"
    if "x" in obj and obj["x"].dims == ("point", "state"):
        return "fixed_points"
    return "other"


def tables_of(obj: xr.Dataset | xr.DataTree) -> list[Table]:
    """The tables of one result, by :func:`kind_of` (none for an unknown kind).

    Examples
    --------
    >>> [t.key for t in tables_of(xr.Dataset({"x": (("point", "state"), [[0.0]])}))]
    ['fixed-points']
    """
    kind = kind_of(obj)
    if kind == "fixed_points":
        return [fixed_point_table(obj)]
    if kind == "basins":
        return [attractor_table(obj)]
    if kind == "diagram":
        return branch_tables(obj)
    if kind == "graph":
        return graph_tables(obj)
    return []
