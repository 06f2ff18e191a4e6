"""Queries and disconnectivity trees on hand-built graphs with exact answers, the empty graph, and
graphs without saddles."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dynsys.errors import InputError
from dynsys.graph import (
    attracting_components,
    disconnectivity_tree,
    graph_summary,
    lowest_barrier,
    minima,
    minimum_energy_path,
    saddles,
    saddles_of_minimum,
    spurious_minima,
)


def landscape() -> nx.DiGraph:
    """Minima a=0 (E 0), b=1 (E 1), c=2 (E 0.5), d=3 (E 2, isolated); saddles s=10 (E 3) joins a
    and b, t=11 (E 5) joins b and c, u=12 (E 4) joins a and c; v=13 (E 2.5, index 2) above s;
    one trajectory of t escapes."""
    G = nx.DiGraph()
    for k, e, i, kind in [
        (0, 0.0, 0, "minimum"),
        (1, 1.0, 0, "minimum"),
        (2, 0.5, 0, "minimum"),
        (3, 2.0, 0, "minimum"),
        (10, 3.0, 1, "saddle-1"),
        (11, 5.0, 1, "saddle-1"),
        (12, 4.0, 1, "saddle-1"),
        (13, 6.0, 2, "saddle-2"),
        (20, np.nan, -1, "escape"),
    ]:
        G.add_node(k, energy=e, index=i, kind=kind, x=np.full(3, float(k)))
    for s, t in [(10, 0), (10, 1), (11, 1), (11, 2), (12, 0), (12, 2), (13, 10), (11, 20)]:
        x = np.linspace(G.nodes[s]["x"], G.nodes[t]["x"], 5)
        energy = np.linspace(G.nodes[s]["energy"], G.nodes[t]["energy"], 5)
        G.add_edge(s, t, path=x, path_energy=energy, status=0)
    return G


@pytest.fixture
def G():
    return landscape()


def test_minima_and_saddles_are_exact_sets(G):
    assert minima(G) == [0, 1, 2, 3]
    assert saddles(G) == [10, 11, 12, 13]
    assert saddles(G, index=2) == [13]
    assert saddles_of_minimum(G, 1) == [10, 11]
    assert saddles_of_minimum(G, 3) == []
    assert spurious_minima(G) == [1, 2, 3]
    assert spurious_minima(G, tol=1.5) == [3]


def test_attracting_components_are_the_minima(G):
    assert attracting_components(G) == [{0}, {1}, {2}, {3}]
    with_special = attracting_components(G, include_special=True)
    assert {20} in with_special and len(with_special) == 5


def test_lowest_barrier_is_the_minimax_path(G):
    b = lowest_barrier(G, 1, 2)  # via s (3) and u (4) beats t (5)
    assert b.saddle == 12 and b.energy == 4.0 and b.height == 3.0
    assert b.path == [1, 10, 0, 12, 2]
    b = lowest_barrier(G, 0, 1)
    assert (b.saddle, b.energy, b.height, b.path) == (10, 3.0, 3.0, [0, 10, 1])
    b = lowest_barrier(G, 2, 2)
    assert (b.saddle, b.height, b.path) == (None, 0.0, [2])
    with pytest.raises(nx.NetworkXNoPath, match="different components"):
        lowest_barrier(G, 0, 3)
    with pytest.raises(nx.NodeNotFound):
        lowest_barrier(G, 0, 99)


def test_minimum_energy_path_walks_the_chain(G):
    mep = minimum_energy_path(G, 1, 2)
    assert mep.nodes == [1, 10, 0, 12, 2]
    assert mep.edges == [(10, 1), (10, 0), (12, 0), (12, 2)]
    assert mep.reversed == [True, False, True, False]
    np.testing.assert_array_equal(mep.x[0], G.nodes[1]["x"])
    np.testing.assert_array_equal(mep.x[-1], G.nodes[2]["x"])
    assert mep.energy.max() == 4.0 and len(mep.x) == len(mep.energy) == 20
    np.testing.assert_allclose(mep.arc_length[-1], np.sqrt(3) * (9 + 10 + 12 + 10))


def test_disconnectivity_tree_merges_at_saddle_energies(G):
    tree = disconnectivity_tree(G)
    assert sorted(k for k in tree if tree.nodes[k]["leaf"]) == [0, 1, 2, 3]
    assert sorted(tree.successors(10)) == [0, 1]  # a and b join at s = 3
    assert sorted(tree.successors(12)) == [2, 10]  # c joins them at u = 4
    assert 11 not in tree  # t (5) joins nothing new
    assert tree.graph["roots"] == [3, 12]  # d has no saddle: its own root
    assert tree.nodes[12]["minima"] == [0, 1, 2]
    assert tree.nodes[12]["energy"] == 4.0


def test_graph_without_saddles():
    G = nx.DiGraph()
    G.add_nodes_from([(0, {"index": 0, "energy": 1.0}), (1, {"index": 0, "energy": 0.0})])
    assert minima(G) == [0, 1] and saddles(G) == []
    tree = disconnectivity_tree(G)
    assert tree.graph["roots"] == [1, 0] and tree.number_of_edges() == 0
    assert attracting_components(G) == [{0}, {1}]
    with pytest.raises(nx.NetworkXNoPath):
        lowest_barrier(G, 0, 1)
    assert "minima (energy): 0 (1), 1 (0)" in graph_summary(G)


def test_empty_graph():
    G = nx.DiGraph()
    assert minima(G) == [] and saddles(G) == [] and spurious_minima(G) == []
    assert attracting_components(G) == []
    tree = disconnectivity_tree(G)
    assert len(tree) == 0 and tree.graph["roots"] == []
    assert graph_summary(G).startswith("critical-point graph: 0 nodes, 0 edges")


def test_queries_need_energies_and_indices():
    G = nx.DiGraph([(1, 0)])
    with pytest.raises(InputError, match="index"):
        minima(G)
    nx.set_node_attributes(G, {0: 0, 1: 1}, "index")
    nx.set_node_attributes(G, {0: np.nan, 1: np.nan}, "energy")
    with pytest.raises(InputError, match="energies"):
        lowest_barrier(G, 0, 1)
    with pytest.raises(InputError, match="energies"):
        disconnectivity_tree(G)
    with pytest.raises(InputError, match="non-negative"):
        spurious_minima(G, tol=-1.0)


def test_summary_lists_kinds_barriers_and_statuses(G):
    text = graph_summary(G)
    assert "nodes by kind: escape 1, minimum 4, saddle-1 3, saddle-2 1" in text
    assert "10 saddle-1 (3) -> 0 (3), 1 (2)" in text
    assert "11 saddle-1 (5) -> 1 (4), 2 (4.5), escape" in text
    assert "spurious minima: 1, 2, 3" in text
    assert "edges by status: converged 8" in text
