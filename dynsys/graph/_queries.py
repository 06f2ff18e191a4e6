"""Questions asked of a critical-point graph: minima, saddles, barriers, paths, attractors, and a
printable summary. All work on any DiGraph with the node attributes ``kind``, ``index`` and
``energy`` (hand-built graphs included)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .._status import status_names
from ..errors import InputError
from ._summary import GraphSummary

__all__ = [
    "Barrier",
    "EnergyPath",
    "attracting_components",
    "graph_summary",
    "is_special",
    "lowest_barrier",
    "minima",
    "minimum_energy_path",
    "saddles",
    "saddles_of_minimum",
    "spurious_minima",
]

SPECIAL_KINDS = ("escape", "unresolved")


def is_special(G: nx.DiGraph, node) -> bool:
    """Whether ``node`` stands for escaping or unresolved trajectories, not a critical point."""
    return G.nodes[node].get("kind") in SPECIAL_KINDS


def _index(G: nx.DiGraph, node) -> int:
    value = G.nodes[node].get("index")
    if value is None:
        raise InputError(
            f"node {node!r} has no `index` attribute; give every node its number of unstable "
            "directions (critical_point_graph does)."
        )
    return int(value)


def _energy(G: nx.DiGraph, node) -> float:
    value = G.nodes[node].get("energy", np.nan)
    return float(np.nan if value is None else value)


def _require(G: nx.DiGraph, *nodes) -> None:
    for node in nodes:
        if node not in G:
            raise nx.NodeNotFound(f"node {node!r} is not in the graph.")


def _require_energy(G: nx.DiGraph, what: str, *nodes) -> None:
    for node in nodes:
        if not np.isfinite(_energy(G, node)):
            raise InputError(
                f"{what} needs node energies; node {node!r} has energy "
                f"{G.nodes[node].get('energy')!r} (graphs of general systems have none)."
            )


def minima(G: nx.DiGraph) -> list:
    """Return the nodes without unstable directions (``index == 0``), in node order.

    They include manifold nodes whose non-zero eigenvalues are all stable (a circle of minima);
    special nodes are excluded. For general systems these are the sinks.

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> minima(G)
    [0, 1]
    """
    return [k for k in G if not is_special(G, k) and _index(G, k) == 0]


def saddles(G: nx.DiGraph, index: int | None = None) -> list:
    """Return the saddles: nodes with ``1 <= index < n`` (``n`` the state dimension), or exactly
    ``index`` unstable directions when given; in node order.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([(0, {"index": 0}), (1, {"index": 1}), (2, {"index": 2})])
    >>> saddles(G), saddles(G, index=2)
    ([1, 2], [2])
    """
    out = []
    for k in G:
        if is_special(G, k):
            continue
        i = _index(G, k)
        x = G.nodes[k].get("x")
        n = np.size(x) if x is not None else np.inf
        if (index is None and 1 <= i < n) or (index is not None and i == index):
            out.append(k)
    return out


def saddles_of_minimum(G: nx.DiGraph, m) -> list:
    """Return the saddles with a trajectory that ends at the minimum ``m``, in node order.

    Raises
    ------
    networkx.NodeNotFound
        If ``m`` is not a node of ``G``.

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1), (3, 1)])
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1, 3: 1}, "index")
    >>> saddles_of_minimum(G, 1)
    [2, 3]
    """
    _require(G, m)
    preds = set(G.predecessors(m))
    return [k for k in G if k in preds and not is_special(G, k) and _index(G, k) >= 1]


@dataclass(frozen=True)
class Barrier:
    """The lowest barrier between two nodes.

    Attributes
    ----------
    energy : float
        The highest energy along the best path (the barrier top).
    height : float
        ``energy - E(a)``: the barrier seen from the start.
    saddle : hashable or None
        The node at the top (None when ``a == b``).
    path : list
        Nodes of the path from ``a`` to ``b``.
    """

    energy: float
    height: float
    saddle: Any
    path: list = field(default_factory=list)


def _barrier_graph(G: nx.DiGraph) -> nx.Graph:
    """Undirected graph of the critical points with energies; edge weight = higher endpoint."""
    U = nx.Graph()
    keep = [k for k in G if not is_special(G, k) and np.isfinite(_energy(G, k))]
    U.add_nodes_from(keep)
    for u, v in G.edges:
        if u in U and v in U and u != v:
            U.add_edge(u, v, weight=max(_energy(G, u), _energy(G, v)))
    return U


def _minimax_path(G: nx.DiGraph, a, b, what: str) -> list:
    _require(G, a, b)
    _require_energy(G, what, a, b)
    if a == b:
        return [a]
    U = _barrier_graph(G)
    component = nx.node_connected_component(U, a)
    if b not in component:
        raise nx.NetworkXNoPath(
            f"no chain of trajectories joins {a!r} and {b!r}; they lie in different components "
            "of the graph (trace more saddles, or give the missing ones to critical_point_graph)."
        )
    tree = nx.minimum_spanning_tree(U.subgraph(component), weight="weight")
    return nx.shortest_path(tree, a, b)


def lowest_barrier(G: nx.DiGraph, a, b) -> Barrier:
    """Return the lowest barrier between nodes ``a`` and ``b``: the minimax path.

    Among all chains of trajectories (edges, either direction) from ``a`` to ``b``, the one
    whose highest node energy is lowest. It is the path between ``a`` and ``b`` in a minimum
    spanning tree of the undirected graph weighted by ``max(E(u), E(v))`` per edge.

    Parameters
    ----------
    G : networkx.DiGraph
        A graph with node energies (special nodes are ignored).
    a, b : hashable
        Nodes, usually minima.

    Returns
    -------
    Barrier

    Raises
    ------
    networkx.NodeNotFound
        If ``a`` or ``b`` is not a node.
    networkx.NetworkXNoPath
        If no chain of edges joins them.
    dynsys.errors.InputError
        If a node has no finite energy.

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 0.5, 2: 2.0}, "energy")
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> barrier = lowest_barrier(G, 0, 1)
    >>> barrier.saddle, barrier.energy, barrier.height, barrier.path
    (2, 2.0, 2.0, [0, 2, 1])
    """
    path = _minimax_path(G, a, b, "lowest_barrier")
    if len(path) == 1:
        return Barrier(_energy(G, a), 0.0, None, path)
    top = max([*path[1:-1], path[-1], path[0]], key=lambda k: _energy(G, k))
    energy = _energy(G, top)
    return Barrier(energy, energy - _energy(G, a), top, path)


@dataclass(frozen=True)
class EnergyPath:
    """A chain of trajectories between two nodes, oriented from start to end.

    Attributes
    ----------
    nodes : list
        The nodes passed, start and end included.
    edges : list of tuple
        The graph edges ``(saddle, end)`` used, in the order passed.
    reversed : list of bool
        Whether each edge is walked against its direction (up to its saddle).
    x : numpy.ndarray, shape (m, n)
        States along the chain (edge paths concatenated, reversed where walked upward).
    energy : numpy.ndarray, shape (m,)
        Energy at those states.
    arc_length : numpy.ndarray, shape (m,)
        Cumulative Euclidean length along ``x`` (starts at 0).
    """

    nodes: list
    edges: list
    reversed: list
    x: np.ndarray
    energy: np.ndarray
    arc_length: np.ndarray


def minimum_energy_path(G: nx.DiGraph, a, b) -> EnergyPath:
    """Return the chain of trajectories of the lowest barrier between ``a`` and ``b``.

    The nodes are those of :func:`lowest_barrier`; between consecutive nodes the edge's stored
    trajectory (``path``, ``path_energy``) is walked down from its saddle or up to it. Each
    trajectory follows the steepest descent from its saddle, so the chain is a minimum energy
    path in the sense of reaction paths (up to the sampling of the stored paths).

    Raises
    ------
    networkx.NodeNotFound, networkx.NetworkXNoPath, dynsys.errors.InputError
        As for :func:`lowest_barrier`; InputError also if an edge of the chain has no path.

    Examples
    --------
    >>> import numpy as np
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([(0, {"index": 0, "energy": 0.0}), (1, {"index": 0, "energy": 0.0}),
    ...                   (2, {"index": 1, "energy": 1.0})])
    >>> G.add_edge(2, 0, path=np.array([[0.0], [-1.0]]), path_energy=np.array([1.0, 0.0]))
    >>> G.add_edge(2, 1, path=np.array([[0.0], [1.0]]), path_energy=np.array([1.0, 0.0]))
    >>> mep = minimum_energy_path(G, 0, 1)
    >>> mep.x[:, 0].tolist(), mep.energy.tolist(), mep.reversed
    ([-1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], [True, False])
    """
    path = _minimax_path(G, a, b, "minimum_energy_path")
    edges, flipped, xs, es = [], [], [], []
    for u, v in itertools.pairwise(path):
        edge, back = ((u, v), False) if G.has_edge(u, v) else ((v, u), True)
        attrs = G.edges[edge]
        if attrs.get("path") is None:
            raise InputError(f"edge {edge} has no `path`; minimum_energy_path needs trajectories.")
        x = np.asarray(attrs["path"], dtype=float)
        e = np.asarray(attrs.get("path_energy", np.full(len(x), np.nan)), dtype=float)
        xs.append(x[::-1] if back else x)
        es.append(e[::-1] if back else e)
        edges.append(edge)
        flipped.append(back)
    if not xs:
        x0 = np.asarray(G.nodes[a].get("x", [np.nan]), dtype=float)[None]
        xs, es = [x0], [np.array([_energy(G, a)])]
    x, energy = np.concatenate(xs), np.concatenate(es)
    step = np.linalg.norm(np.diff(x, axis=0), axis=-1) if len(x) > 1 else np.zeros(0)
    return EnergyPath(path, edges, flipped, x, energy, np.concatenate([[0.0], np.cumsum(step)]))


def attracting_components(G: nx.DiGraph, *, include_special: bool = False) -> list[set]:
    """Return the attracting components (sets of nodes no edge leaves), sorted by least member.

    In a graph of a gradient system these are the minima (a manifold node is one set); with
    ``include_special`` also the special nodes ``"escape"`` and ``"unresolved"``.

    Examples
    --------
    >>> attracting_components(nx.DiGraph([(2, 0), (2, 1), (3, 1)]))
    [{0}, {1}]
    """
    components = [set(c) for c in nx.attracting_components(G)]
    if not include_special:
        components = [c for c in components if not all(is_special(G, k) for k in c)]
    return sorted(components, key=lambda c: min(c, key=str) if c else 0)


def spurious_minima(G: nx.DiGraph, tol: float = 1e-8) -> list:
    """Return the minima whose energy exceeds the lowest minimum energy by more than ``tol``.

    Raises
    ------
    dynsys.errors.InputError
        If a minimum has no finite energy, or ``tol`` is negative.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([(0, {"index": 0, "energy": 0.0}), (1, {"index": 0, "energy": 0.3}),
    ...                   (2, {"index": 0, "energy": 1e-12})])
    >>> spurious_minima(G)
    [1]
    """
    if not tol >= 0:
        raise InputError(f"`tol` must be a non-negative energy; got {tol!r}.")
    found = minima(G)
    _require_energy(G, "spurious_minima", *found)
    if not found:
        return []
    lowest = min(_energy(G, k) for k in found)
    return [k for k in found if _energy(G, k) > lowest + tol]


def _fmt(value: float) -> str:
    return "nan" if not np.isfinite(value) else f"{value:.6g}"


_PAIR_LIMIT = 8
"""Up to this many minima the summary lists the barrier of every pair; above, one per minimum."""


def _barrier_tops(G: nx.DiGraph, found: list) -> dict:
    """For each minimum ``a``: node -> the highest node on the minimax path from ``a`` (one
    minimum spanning forest of the barrier graph serves every pair)."""
    forest = nx.minimum_spanning_tree(_barrier_graph(G), weight="weight")
    tops = {}
    for a in found:
        top = {a: a}
        for u, v in nx.bfs_edges(forest, a):
            top[v] = v if _energy(G, v) > _energy(G, top[u]) else top[u]
        tops[a] = top
    return tops


def _barrier_lines(G: nx.DiGraph, found: list) -> list[str]:
    tops = _barrier_tops(G, found)
    lines = []
    alone = [a for a in found if not any(b in tops[a] for b in found if b != a)]
    if len(found) <= _PAIR_LIMIT:
        lines.append("lowest barriers between minima (top energy at node; height from each side):")
        for a, b in itertools.combinations(found, 2):
            if b not in tops[a]:
                continue
            t = tops[a][b]
            e = _energy(G, t)
            lines.append(
                f"  {a}-{b}: {_fmt(e)} at {t}; {_fmt(e - _energy(G, a))} from {a}, "
                f"{_fmt(e - _energy(G, b))} from {b}"
            )
    else:
        lines.append("lowest barrier out of each minimum (to the minimum it joins lowest):")
        for a in found:
            joined = [b for b in found if b != a and b in tops[a]]
            if not joined:
                continue
            b = min(joined, key=lambda m: _energy(G, tops[a][m]))
            e = _energy(G, tops[a][b])
            lines.append(
                f"  {a} -> {b}: {_fmt(e)} at {tops[a][b]}, height {_fmt(e - _energy(G, a))}"
            )
    if alone:
        lines.append(
            "  joined to no other minimum by trajectories: " + ", ".join(str(a) for a in alone)
        )
    return lines


def graph_summary(G: nx.DiGraph) -> GraphSummary:
    """Return a readable summary: nodes by kind, minima, saddles with their barriers, the lowest
    barriers between minima (every pair up to 8 minima; above, the lowest from each minimum),
    edges by status. For general systems (no energies) the minima are the sinks and barriers
    are left out.

    The summary is a ``str`` that a notebook displays as tables of the nodes and edges
    (``_repr_html_``).

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_nodes_from([(0, {"kind": "minimum", "index": 0, "energy": 0.0}),
    ...                   (1, {"kind": "minimum", "index": 0, "energy": 0.0}),
    ...                   (2, {"kind": "saddle-1", "index": 1, "energy": 0.25})])
    >>> G.add_edges_from([(2, 0, {"status": 0}), (2, 1, {"status": 0})])
    >>> print(graph_summary(G))  # doctest: +NORMALIZE_WHITESPACE
    critical-point graph: 3 nodes, 2 edges
    nodes by kind: minimum 2, saddle-1 1
    minima (energy): 0 (0), 1 (0)
    saddles (energy -> minima reached, barrier from each):
      2 saddle-1 (0.25) -> 0 (0.25), 1 (0.25)
    lowest barriers between minima (top energy at node; height from each side):
      0-1: 0.25 at 2; 0.25 from 0, 0.25 from 1
    edges by status: converged 2
    """
    name = G.graph.get("system")
    title = "critical-point graph" + (f" of {name}" if name else "")
    complete = G.graph.get("complete")
    state = "" if complete is None else (", complete" if complete else ", INCOMPLETE")
    lines = [f"{title}: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges{state}"]
    kinds = Counter(str(G.nodes[k].get("kind", "unclassified")) for k in G)
    by_kind = ", ".join(f"{k} {c}" for k, c in sorted(kinds.items()))
    lines.append("nodes by kind: " + (by_kind or "none"))
    found = minima(G) if all("index" in G.nodes[k] for k in G) else []
    energies = all(np.isfinite(_energy(G, k)) for k in G if not is_special(G, k))
    if found:
        items = []
        for k in found:
            mult = G.nodes[k].get("multiplicity", 1)
            tag = f" x{mult}" if mult and mult > 1 else ""
            items.append((f"{k} ({_fmt(_energy(G, k))})" if energies else str(k)) + tag)
        head = "minima (energy): " if energies else "sinks (no energies): "
        lines.append(head + ", ".join(items))
        if all(np.isfinite(_energy(G, k)) for k in found):
            spurious = spurious_minima(G)
            if spurious:
                lines.append("spurious minima: " + ", ".join(str(k) for k in spurious))
    tops = [k for k in G if not is_special(G, k) and int(G.nodes[k].get("index", 0)) >= 1]
    if tops:
        lines.append(
            "saddles (energy -> minima reached, barrier from each):"
            if energies
            else "saddles (-> nodes reached):"
        )
        for s in tops:
            e = _energy(G, s)
            ends = [
                str(G.nodes[t]["kind"])
                if is_special(G, t)
                else (f"{t} ({_fmt(e - _energy(G, t))})" if energies else str(t))
                for t in G.successors(s)
            ]
            kind = G.nodes[s].get("kind", "")
            energy = f" ({_fmt(e)})" if energies else ""
            lines.append(f"  {s} {kind}{energy} -> " + (", ".join(ends) or "nothing"))
    if len(found) >= 2 and energies:
        lines += _barrier_lines(G, found)
    codes = [d["status"] for _, _, d in G.edges(data=True) if "status" in d]
    if codes:
        counts = Counter(status_names(codes).tolist())
        lines.append("edges by status: " + ", ".join(f"{k} {c}" for k, c in counts.items()))
    return GraphSummary.of(G, "\n".join(lines))
