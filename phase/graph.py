"""Pictures of critical-point graphs: nodes by kind and energy, the graph over a phase portrait
with its trajectories, and the disconnectivity tree.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection

from dynsys.errors import InputError
from dynsys.graph import disconnectivity_tree, is_special, minima

from ._region import plane_box
from ._style import kind_style
from .portrait import _plane_indices, draw_vector_field

__all__ = ["draw_disconnectivity", "draw_graph", "draw_graph_on_portrait", "graph_layout"]


def _energy(G: nx.DiGraph, k) -> float:
    value = G.nodes[k].get("energy", np.nan)
    return float(np.nan if value is None else value)


def _leaf_order(tree: nx.DiGraph) -> list:
    """Leaves left to right: depth first from the roots, lower subtrees first."""

    def lowest(t) -> float:
        return min(tree.nodes[m]["energy"] for m in tree.nodes[t]["minima"])

    order: list = []

    def visit(t) -> None:
        children = sorted(tree.successors(t), key=lambda c: (lowest(c), str(c)))
        if not children:
            order.append(t)
        for c in children:
            visit(c)

    for root in tree.graph.get("roots", []):
        visit(root)
    return order


def graph_layout(G: nx.DiGraph) -> dict:
    """Node positions ``(x, y)`` with ``y`` the energy (the index for general systems).

    Minima are spread along ``x`` in the leaf order of the disconnectivity tree; every other
    node sits at the mean ``x`` of the nodes its edges reach (a saddle between its minima), or in
    a free slot to the right. Special nodes are left out.

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 0.0, 2: 0.25}, "energy")
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> {k: v.tolist() for k, v in sorted(graph_layout(G).items())}
    {0: [0.0, 0.0], 1: [1.0, 0.0], 2: [0.5, 0.25]}
    """
    nodes = [k for k in G if not is_special(G, k)]
    has_energy = all(np.isfinite(_energy(G, k)) for k in nodes)
    height = {k: _energy(G, k) if has_energy else float(G.nodes[k].get("index", 0)) for k in nodes}
    lows = minima(G)
    order = _leaf_order(disconnectivity_tree(G)) if has_energy else list(lows)
    order += [m for m in lows if m not in order]
    x = {m: float(i) for i, m in enumerate(order)}
    slot = float(len(order))
    for k in sorted((k for k in nodes if k not in x), key=lambda k: height[k]):
        reached = [x[t] for t in G.successors(k) if t in x]
        if reached:
            x[k] = float(np.mean(reached))
        else:
            x[k], slot = slot, slot + 1.0
    return {k: np.array([x[k], height[k]]) for k in nodes}


def _draw_nodes(ax, G: nx.DiGraph, position: dict, legend: bool, labels: bool):
    artists, texts = [], []
    kinds: dict[str, list] = {}
    for k in position:
        kinds.setdefault(str(G.nodes[k].get("kind", "unclassified")), []).append(k)
    for kind, nodes in sorted(kinds.items()):
        xy = np.array([position[k] for k in nodes])
        (line,) = ax.plot(xy[:, 0], xy[:, 1], label=kind, zorder=5, **kind_style(kind))
        artists.append(line)
    if labels:
        for k, (u, v) in position.items():
            texts.append(
                ax.annotate(
                    str(k),
                    (u, v),
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize="small",
                    zorder=6,
                )
            )
    if legend and artists:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return artists, texts


def draw_graph(
    G: nx.DiGraph,
    *,
    ax=None,
    layout: str = "auto",
    plane: Sequence[str | int] | None = None,
    trajectories: bool | None = None,
    labels: bool = True,
    legend: bool = True,
    edge_color: str = "#34495e",
):
    """Draw a critical-point graph: nodes styled by kind, edges as lines or trajectories.

    Parameters
    ----------
    G : networkx.DiGraph
        From :func:`dynsys.graph.critical_point_graph` (or hand-built with ``kind``, ``index``,
        ``energy``, and ``x`` for a drawing in state space).
    ax : matplotlib.axes.Axes, optional
    layout : {"auto", "state", "energy"}
        ``"state"``: nodes at their states projected on ``plane``; ``"energy"``: energy
        (vertical) against the layout of :func:`graph_layout`; ``"auto"``: state space when
        ``plane`` is given or the states are two-dimensional, energy otherwise.
    plane : pair of state names or indices, optional
        The plane of the state-space drawing (default the first two states).
    trajectories : bool, optional
        In state space, draw each edge's stored ``path`` (default) instead of a straight line.
    labels, legend : bool
        Annotate node ids; add a legend of kinds.
    edge_color : str

    Returns
    -------
    dict
        ``"nodes"`` (Line2D per kind), ``"edges"`` (LineCollection), ``"labels"`` (Text).
        Special nodes (escape, unresolved) and their edges are not drawn.

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: "minimum", 1: "minimum", 2: "saddle-1"}, "kind")
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 0.0, 2: 0.25}, "energy")
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> len(draw_graph(G)["nodes"])
    2
    """
    ax = ax or plt.gca()
    names = str(G.graph.get("state_names", "")).split()
    sample = next((G.nodes[k]["x"] for k in G if "x" in G.nodes[k] and not is_special(G, k)), None)
    if layout not in ("auto", "state", "energy"):
        raise InputError(f"`layout` must be 'auto', 'state' or 'energy'; got {layout!r}.")
    two_d = sample is not None and np.size(sample) == 2
    in_plane = layout == "state" or (layout == "auto" and (plane is not None or two_d))
    if in_plane and sample is None:
        raise InputError("layout='state' needs node states `x`; use layout='energy'.")
    segments = []
    if in_plane:
        i, j = _plane_indices(names or list(range(np.size(sample))), plane)
        position = {
            k: np.asarray(G.nodes[k]["x"], dtype=float)[[i, j]] for k in G if not is_special(G, k)
        }
        for s, t, d in G.edges(data=True):
            if s not in position or t not in position:
                continue
            path = d.get("path")
            if (trajectories is None or trajectories) and path is not None and len(path) > 1:
                segments.append(np.asarray(path, dtype=float)[:, [i, j]])
            else:
                segments.append(np.array([position[s], position[t]]))
        if names:
            ax.set_xlabel(names[i])
            ax.set_ylabel(names[j])
    else:
        position = graph_layout(G)
        segments = [
            np.array([position[s], position[t]])
            for s, t in G.edges
            if s in position and t in position
        ]
        has_energy = all(np.isfinite(_energy(G, k)) for k in position)
        ax.set_ylabel("energy" if has_energy else "index")
        ax.set_xticks([])
    edges = LineCollection(segments, colors=edge_color, linewidths=1.2, alpha=0.8, zorder=3)
    ax.add_collection(edges)
    ax.autoscale_view()
    nodes, texts = _draw_nodes(ax, G, position, legend, labels)
    return {"nodes": nodes, "edges": edges, "labels": texts}


def draw_graph_on_portrait(
    system,
    G: nx.DiGraph,
    region,
    *,
    plane=None,
    base=None,
    params=None,
    ax=None,
    labels: bool = True,
    resolution: int = 60,
):
    """Draw the graph with its trajectories over the streamlines of the vector field.

    Parameters
    ----------
    system : System
        The system of the graph.
    G : networkx.DiGraph
    region : Region or mapping
        The rectangle by its corners, as for :func:`phase.portrait.draw_vector_field`.
    plane, base, params, resolution
        As for :func:`phase.portrait.draw_vector_field` (``plane`` also places the nodes).

    Returns
    -------
    dict
        ``"field"`` (the streamplot) and the entries of :func:`draw_graph`.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> from dynsys.graph import critical_point_graph
    >>> from phase import Region
    >>> G = critical_point_graph(double_well(), [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    >>> out = draw_graph_on_portrait(double_well(), G, Region((-2, -1), (2, 1)), resolution=20)
    >>> len(out["edges"].get_segments())
    2
    """
    ax = ax or plt.gca()
    field = draw_vector_field(
        system, region, plane=plane, base=base, params=params, ax=ax, resolution=resolution
    )
    out = draw_graph(G, ax=ax, layout="state", plane=plane, trajectories=True, labels=labels)
    (x_lo, x_hi), (y_lo, y_hi) = plane_box(region, system.n, *_plane_indices(system, plane))
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    return {"field": field, **out}


def draw_disconnectivity(
    tree_or_graph: nx.DiGraph,
    *,
    ax=None,
    color: str = "#2c3e50",
    labels: bool = True,
):
    """Draw a disconnectivity tree: each minimum a vertical line rising from its energy, joined
    to others by a horizontal bar at the energy of the saddle that merges them.

    Parameters
    ----------
    tree_or_graph : networkx.DiGraph
        A tree from :func:`dynsys.graph.disconnectivity_tree`, or a critical-point graph (its
        tree is built).
    ax : matplotlib.axes.Axes, optional
    color : str
    labels : bool
        Label the leaves with their node ids.

    Returns
    -------
    matplotlib.collections.LineCollection

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 0.1, 2: 0.25}, "energy")
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> len(draw_disconnectivity(G).get_segments())  # the root's stub and two branches
    3
    """
    ax = ax or plt.gca()
    tree = tree_or_graph
    if "roots" not in tree.graph:
        tree = disconnectivity_tree(tree_or_graph)
    leaves = _leaf_order(tree)
    x = {leaf: float(i) for i, leaf in enumerate(leaves)}

    def place(t) -> float:
        if t not in x:
            x[t] = float(np.mean([place(c) for c in tree.successors(t)]))
        return x[t]

    energies = [tree.nodes[t]["energy"] for t in tree]
    span = (max(energies) - min(energies)) if energies else 1.0
    stub = 0.08 * (span if span > 0 else 1.0)
    segments = []
    for root in tree.graph.get("roots", []):
        place(root)
        e = tree.nodes[root]["energy"]
        segments.append([(x[root], e), (x[root], e + stub)])
    for parent, child in tree.edges:
        e_parent, e_child = tree.nodes[parent]["energy"], tree.nodes[child]["energy"]
        segments.append([(x[child], e_child), (x[child], e_parent), (x[parent], e_parent)])
    lines = LineCollection(segments, colors=color, linewidths=1.5)
    ax.add_collection(lines)
    if leaves:
        ax.set_xlim(-0.5, len(leaves) - 0.5)
        low = min(energies)
        ax.set_ylim(low - stub, max(energies) + 2 * stub)
    ax.set_xticks(range(len(leaves)))
    ax.set_xticklabels([str(leaf) for leaf in leaves] if labels else [])
    ax.set_ylabel("energy")
    ax.set_xlabel("minimum")
    return lines
