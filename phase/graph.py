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
from ._style import capped_legend, kind_style
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
    _spread_overlaps(x, height)
    return {k: np.array([x[k], height[k]]) for k in nodes}


def _spread_overlaps(x: dict, height: dict, gap: float = 0.25) -> None:
    """Move apart, in ``x``, nodes that would sit on one another (the same ``x`` and heights
    within 3 % of the span), so that no marker or label hides another."""
    values = list(height.values())
    tol = 0.03 * ((max(values) - min(values)) if values else 0.0) or 1e-12
    groups: list[list] = []
    for k in sorted(x, key=lambda k: (round(x[k], 9), height[k], str(k))):
        last = groups[-1] if groups else None
        if last and abs(x[last[-1]] - x[k]) < 1e-9 and height[k] - height[last[-1]] <= tol:
            last.append(k)
        else:
            groups.append([k])
    for group in groups:
        if len(group) > 1:
            centre = x[group[0]]
            for n, k in enumerate(group):
                x[k] = centre + gap * (n - 0.5 * (len(group) - 1))


def _draw_nodes(ax, G: nx.DiGraph, position: dict, legend: bool, labels: bool, **legend_place):
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
        capped_legend(ax, artists, **legend_place)
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
    # beside the axes in the energy layout: nodes reach every corner of it
    place = {"loc": "best"} if in_plane else {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
    if not in_plane:
        ax.margins(x=0.08, y=0.08)
    nodes, texts = _draw_nodes(ax, G, position, legend, labels, **place)
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


def _stem_tops(G: nx.DiGraph | None, tree: nx.DiGraph) -> dict:
    """For each root of the tree, the lowest node of the graph above it that touches one of its
    minima (a saddle joining a minimum to itself or to its symmetric image, or a higher
    critical point): ``{root: (node, energy)}``; empty without a graph."""
    if G is None:
        return {}
    tops = {}
    for root in tree.graph.get("roots", []):
        e_root = tree.nodes[root]["energy"]
        below = set(tree.nodes[root]["minima"])
        scale = 1e-9 * max(1.0, abs(e_root))
        above = [
            (_energy(G, k), str(k), k)
            for k in G
            if not is_special(G, k)
            and k not in below
            and k != root
            and np.isfinite(_energy(G, k))
            and _energy(G, k) > e_root + scale
            and any(t in below for t in nx.all_neighbors(G, k))
        ]
        if above:
            energy, _, node = min(above)
            tops[root] = (node, energy)
    return tops


def _level_names(G: nx.DiGraph | None, tree: nx.DiGraph, t, node) -> str:
    """The id of the saddle at junction ``t``, with those of the other critical points of the
    graph at its energy that touch the same minima (saddles related by symmetry)."""
    if G is None:
        return str(node)
    e = tree.nodes[t]["energy"]
    below = set(tree.nodes[t]["minima"])
    tol = 1e-9 * max(1.0, abs(e))
    same = [
        k
        for k in G
        if k != node
        and k not in tree
        and not is_special(G, k)
        and abs(_energy(G, k) - e) <= tol
        and any(m in below for m in nx.all_neighbors(G, k))
    ]
    return ", ".join(str(k) for k in [node, *sorted(same, key=str)])


def draw_disconnectivity(
    tree_or_graph: nx.DiGraph,
    *,
    ax=None,
    color: str = "#2c3e50",
    labels: bool = True,
):
    """Draw a disconnectivity tree: each minimum a vertical line rising from its energy (a
    marker at its foot, labelled with its id and energy), joined to others by a horizontal bar
    at the energy of the saddle that merges them (a dot at the junction, labelled with the
    saddle's id and energy, the barrier).

    Given a graph, the stem of each root rises to the lowest critical point above it that
    touches its minima (say, a saddle joining a minimum to its own symmetric image), marked and
    labelled like a junction; otherwise (or given a tree) it ends in a short open stub. The
    energy axis starts at zero when the energies are non-negative; labels are never clipped.

    Parameters
    ----------
    tree_or_graph : networkx.DiGraph
        A tree from :func:`dynsys.graph.disconnectivity_tree`, or a critical-point graph (its
        tree is built).
    ax : matplotlib.axes.Axes, optional
    color : str
    labels : bool
        Label the minima (id, energy) and the junctions (saddle id, energy).

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
    tree, graph = tree_or_graph, None
    if "roots" not in tree.graph:
        graph, tree = tree_or_graph, disconnectivity_tree(tree_or_graph)
    leaves = _leaf_order(tree)
    x = {leaf: float(i) for i, leaf in enumerate(leaves)}

    def place(t) -> float:
        if t not in x:
            x[t] = float(np.mean([place(c) for c in tree.successors(t)]))
        return x[t]

    tops = _stem_tops(graph, tree)
    energies = [tree.nodes[t]["energy"] for t in tree] + [e for _, e in tops.values()]
    low, high = (min(energies), max(energies)) if energies else (0.0, 1.0)
    span = high - low if high > low else max(abs(high), 1.0)
    stub = 0.08 * span
    segments, junctions = [], []
    for root in tree.graph.get("roots", []):
        place(root)
        e = tree.nodes[root]["energy"]
        if root in tops:
            node, e_top = tops[root]
            segments.append([(x[root], e), (x[root], e_top)])
            junctions.append((x[root], e_top, node))
        else:
            segments.append([(x[root], e), (x[root], e + stub)])
    for parent, child in tree.edges:
        e_parent, e_child = tree.nodes[parent]["energy"], tree.nodes[child]["energy"]
        segments.append([(x[child], e_child), (x[child], e_parent), (x[parent], e_parent)])
    for t in tree:
        if not tree.nodes[t].get("leaf") and tree.out_degree(t):
            node = t[1] if isinstance(t, tuple) and t[:1] == ("merge",) else t
            junctions.append((x[t], tree.nodes[t]["energy"], _level_names(graph, tree, t, node)))
    lines = LineCollection(segments, colors=color, linewidths=1.5, zorder=2)
    ax.add_collection(lines)
    style = kind_style("minimum")
    for leaf in leaves:
        e = tree.nodes[leaf]["energy"]
        ax.plot(x[leaf], e, zorder=4, clip_on=False, **{**style, "markersize": 6})
        if labels:
            ax.annotate(
                f"{e:.4g}",
                (x[leaf], e),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize="x-small",
                color=style["color"],
                annotation_clip=False,
            )
    for u, e, node in junctions:
        ax.plot(u, e, "o", color=color, markersize=3.5, zorder=4, clip_on=False)
        if labels:
            ax.annotate(
                f"{node}: {e:.4g}",
                (u, e),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="x-small",
                color=color,
                annotation_clip=False,
            )
    if leaves:
        ax.set_xlim(-0.6, len(leaves) - 0.4)
        pad = 0.06 * span
        bottom = low - pad
        if low >= 0.0 > bottom:  # non-negative energies (a loss): the axis starts at zero
            bottom = 0.0
        ax.set_ylim(bottom, high + stub + 2 * pad)
    ax.set_xticks(range(len(leaves)))
    ax.set_xticklabels([str(leaf) for leaf in leaves] if labels else [])
    ax.set_ylabel("energy")
    ax.set_xlabel("minimum (id)" + (";  junction labels: saddle id: energy" if labels else ""))
    return lines
