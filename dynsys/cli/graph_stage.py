"""The critical-point graph stage: ``dynsys graph SPEC.toml`` and the ``[graph]`` table of
``dynsys analyze``.

From the fixed points found in ``[region]`` the stage follows the unstable manifolds of the
saddles to the critical points they reach (:func:`dynsys.graph.critical_point_graph`), prints a
summary (nodes by kind, the barrier of each saddle, the lowest barriers between minima) and
writes ``graph.nc`` (:func:`dynsys.graph.to_dataset`; read back with
:func:`dynsys.graph.from_dataset`), ``graph.graphml`` (for Gephi, Cytoscape, networkx),
``graph.png`` (over the streamlines of the field for two-state systems, energy against a layout
otherwise) and, for gradient systems, ``disconnectivity.png``.

The ``[graph]`` table holds the fields of :class:`~dynsys.graph.GraphOptions` (offsets, tolerances,
directions, rounds, path sampling; the integration in ``[graph.flow]``, Newton in
``[graph.newton]``), ``figure`` (draw the pictures, default true) and ``enabled``. ``dynsys
analyze`` runs the stage when the table sets ``enabled = true`` or any other key, and not with
``enabled = false``; ``dynsys graph`` always runs it. General (non-gradient) systems work the same
way, without energies or barriers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph import GraphOptions
from .spec import Key, OptionsTable

if TYPE_CHECKING:
    import networkx as nx
    import xarray as xr

__all__ = ["GRAPH_TABLE", "graph_requested", "run_graph", "run_graph_stage"]


GRAPH_TABLE = OptionsTable(
    GraphOptions,
    extra={
        "enabled": Key(
            "bool", None, doc="run in dynsys analyze (default: when the table sets an option)"
        ),
        "figure": Key("bool", True, doc="draw graph.png (and disconnectivity.png)"),
    },
    doc="options of dynsys.graph.critical_point_graph (GraphOptions)",
)
"""The ``[graph]`` spec table: the GraphOptions fields (``[graph.flow]`` and ``[graph.newton]``
as sub-tables) and the stage's ``enabled`` and ``figure``."""


def graph_requested(spec: dict[str, Any]) -> bool:
    """Whether ``dynsys analyze`` runs the graph stage: ``graph.enabled`` when set, else whether
    the ``[graph]`` table sets any key.

    Examples
    --------
    >>> from dynsys.cli.spec import validate
    >>> schema = {"graph": GRAPH_TABLE}
    >>> graph_requested(validate({}, schema))
    False
    >>> graph_requested(validate({"graph": {"path_points": 50}}, schema))
    True
    >>> graph_requested(validate({"graph": {"enabled": False, "path_points": 50}}, schema))
    False
    """
    table = spec.get("graph")
    if not table:
        return False
    if table["enabled"] is not None:
        return table["enabled"]
    return table["options"] != GRAPH_TABLE.defaults() or not table["figure"]


def _notes(G: nx.DiGraph) -> list[str]:
    from ..graph import ESCAPE, UNRESOLVED

    if not G.number_of_nodes():
        return ["note: no fixed points to start from: widen [region] or raise fixed_points.seeds."]
    notes = []
    if not G.number_of_edges():
        notes.append(
            "note: no node has unstable directions to trace (no saddle found): the graph has no "
            "edges; widen [region] or raise fixed_points.seeds if saddles are expected."
        )
    if G.graph.get("complete") is False:
        notes.append(
            "note: saddles found in the last round were not traced; raise graph.max_rounds."
        )
    kinds = {G.nodes[k]["kind"]: k for k in G if G.nodes[k].get("kind") in (ESCAPE, UNRESOLVED)}
    if UNRESOLVED in kinds:
        count = sum(
            d.get("n_trajectories", 1) for _, _, d in G.in_edges(kinds[UNRESOLVED], data=True)
        )
        notes.append(
            f"note: {count} trajectory(ies) ended at no critical point (time or step limit, or "
            "no root near the end; the edge status says which): raise graph.flow.t_max / "
            "graph.flow.max_steps, or the attractor is not a fixed point."
        )
    if ESCAPE in kinds:
        count = sum(d.get("n_trajectories", 1) for _, _, d in G.in_edges(kinds[ESCAPE], data=True))
        notes.append(f"note: {count} trajectory(ies) escaped (|x| > graph.flow.escape_radius).")
    if G.graph.get("converge_tol_note"):
        notes.append(f"note: {G.graph['converge_tol_note']}.")
    return notes


def _save_figure(fig, path: Path) -> Path:
    from ..io import atomic_write_path

    with atomic_write_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def _figures(G: nx.DiGraph, system, region, out_dir: Path) -> dict[str, Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from phase.graph import draw_disconnectivity, draw_graph, draw_graph_on_portrait

    from ..graph import minima

    written = {}
    fig = Figure(figsize=(7.5, 6.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if system.n == 2 and region is not None:
        draw_graph_on_portrait(system, G, region, ax=ax)
    else:
        draw_graph(G, ax=ax)
    ax.set_title(f"{system.name}: critical-point graph")
    written["graph_plot"] = _save_figure(fig, out_dir / "graph.png")
    if system.is_gradient and minima(G):
        fig = Figure(figsize=(6.5, 5.0), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        draw_disconnectivity(G, ax=ax)
        ax.set_title(f"{system.name}: disconnectivity graph")
        written["disconnectivity_plot"] = _save_figure(fig, out_dir / "disconnectivity.png")
    return written


def run_graph_stage(
    spec: dict[str, Any],
    system,
    out_dir: Path,
    points: xr.Dataset,
    *,
    progress: bool = False,
) -> dict[str, Path]:
    """Run the graph stage of a validated spec from known fixed points; return the files written.

    Parameters
    ----------
    spec : dict
        Validated against the analyze schema; its ``[graph]`` table is used.
    system : System
        The model.
    out_dir : Path
        Folder for ``graph.nc``, ``graph.graphml``, ``graph.png``, ``disconnectivity.png``.
    points : xarray.Dataset
        The fixed points to start from (at least the saddles).
    progress : bool
        Show progress bars of the tracing.

    Raises
    ------
    SpecError
        For out-of-range options (the message names the key).

    Examples
    --------
    >>> import tempfile
    >>> from dynsys.models import double_well
    >>> from dynsys.cli.spec import validate
    >>> spec = validate({"graph": {"figure": False}}, {"graph": GRAPH_TABLE})
    >>> points = [[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]]
    >>> written = run_graph_stage(spec, double_well(), Path(tempfile.mkdtemp()), points)
    ... # doctest: +ELLIPSIS
    critical-point graph of double_well: 3 nodes, 2 edges, complete
    ...
    >>> sorted(written)
    ['graph', 'graphml']
    """
    from ..graph import critical_point_graph, graph_summary, to_dataset, write_graphml
    from ..io import save

    table = spec["graph"]
    G = critical_point_graph(system, points, options=table["options"], progress=progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(graph_summary(G))
    for note in _notes(G):
        print(note)
    written = {
        "graph": save(to_dataset(G), out_dir / "graph.nc"),
        "graphml": write_graphml(G, out_dir / "graph.graphml"),
    }
    if table["figure"] and G.number_of_nodes():
        written.update(_figures(G, system, _region_of(spec, G, system), out_dir))
    return written


def _region_of(spec: dict[str, Any], G: nx.DiGraph, system):
    """The rectangle of a two-state picture by its corners (``{"lower", "upper"}``): the spec's
    region, else the graph's extent."""
    if system.n != 2:
        return None
    box = spec.get("region") or {}
    if len(box.get("lower", [])) == 2 and len(box.get("upper", [])) == 2:
        return {"lower": box["lower"], "upper": box["upper"]}
    X = np.array([G.nodes[k]["x"] for k in G], dtype=float)
    X = X[np.isfinite(X).all(axis=1)]
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.2 * np.maximum(high - low, 1.0)
    return {"lower": low - pad, "upper": high + pad}


def run_graph(
    spec: dict[str, Any], system, out_dir: Path, *, progress: bool = False
) -> dict[str, Path]:
    """``dynsys graph``: the fixed points of ``[region]``, then the graph stage."""
    from .region import find_region_points

    print(f"{system!r}")
    points, _, _ = find_region_points(spec, system)
    return run_graph_stage(spec, system, out_dir, points, progress=progress)
