"""The disconnectivity tree of a critical-point graph: minima merging at the saddle energies that
join them.

At each energy ``E``, the critical points with energy at most ``E`` that are joined by edges form
groups (superbasins). Raising ``E`` past a saddle's energy joins the groups its trajectories reach;
where two or more groups holding minima join, the tree gets a node at that energy. It is built
from the graph alone by a union-find sweep over the nodes in order of energy.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..errors import InputError
from ._queries import is_special

__all__ = ["disconnectivity_tree"]


def _find(parent: dict, k):
    while parent[k] != k:
        parent[k] = parent[parent[k]]
        k = parent[k]
    return k


def disconnectivity_tree(G: nx.DiGraph) -> nx.DiGraph:
    """Return the disconnectivity tree of a critical-point graph.

    Parameters
    ----------
    G : networkx.DiGraph
        A graph with node attributes ``index`` and ``energy`` (special nodes and nodes without a
        finite energy are left out).

    Returns
    -------
    networkx.DiGraph
        A forest, edges from parent to child. Leaves are the minima (``index == 0``), with their
        graph node ids; an inner node is the saddle (graph node id) at whose energy two or more
        groups of minima join. Node attributes: ``energy``, ``leaf`` (bool), ``kind``, and
        ``minima`` (sorted list of the minima below). ``tree.graph["roots"]`` lists the roots,
        lowest energy first: one per set of minima that no chain of saddles joins (each minimum
        of a graph without saddles is its own root). Empty for a graph without minima.

    Raises
    ------
    dynsys.errors.InputError
        If a minimum has no finite energy (graphs of general systems have no energies).

    Examples
    --------
    >>> G = nx.DiGraph([(2, 0), (2, 1)])
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 0.1, 2: 0.25}, "energy")
    >>> nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1}, "index")
    >>> tree = disconnectivity_tree(G)
    >>> tree.graph["roots"], sorted(tree.successors(2)), tree.nodes[2]["energy"]
    ([2], [0, 1], 0.25)
    """
    keep = [k for k in G if not is_special(G, k)]
    energy = {k: float(G.nodes[k].get("energy", np.nan)) for k in keep}
    index = {k: int(G.nodes[k].get("index", -1)) for k in keep}
    for k in keep:
        if index[k] == 0 and not np.isfinite(energy[k]):
            raise InputError(
                f"disconnectivity_tree needs node energies; minimum {k!r} has energy "
                f"{G.nodes[k].get('energy')!r} (graphs of general systems have none)."
            )
    keep = [k for k in keep if np.isfinite(energy[k])]
    order = sorted(range(len(keep)), key=lambda i: (energy[keep[i]], index[keep[i]] != 0, i))
    U = G.to_undirected(as_view=True)
    tree = nx.DiGraph()
    parent: dict = {}
    top: dict = {}  # component root -> tree node standing for it (None: no minimum yet)
    for i in order:
        v = keep[i]
        parent[v] = v
        tops = []
        if index[v] == 0:
            tree.add_node(v, energy=energy[v], leaf=True, kind=G.nodes[v].get("kind"), minima=[v])
            tops.append(v)
        roots = {_find(parent, u) for u in U.neighbors(v) if u in parent and u != v}
        tops += [top[r] for r in roots if top[r] is not None]
        for r in roots:
            parent[r] = v
        if len(tops) >= 2:
            merge = v if v not in tree else ("merge", v)
            below = sorted({m for t in tops for m in tree.nodes[t]["minima"]}, key=str)
            tree.add_node(
                merge, energy=energy[v], leaf=False, kind=G.nodes[v].get("kind"), minima=below
            )
            tree.add_edges_from((merge, t) for t in tops)
            top[v] = merge
        else:
            top[v] = tops[0] if tops else None
    roots = [top[k] for k in parent if parent[k] == k and top[k] is not None]
    tree.graph["roots"] = sorted(roots, key=lambda t: (tree.nodes[t]["energy"], str(t)))
    return tree
