"""Drawings of critical-point graphs: what is drawn where (positions, paths, merge heights)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pytest

from dynsys.graph import critical_point_graph, disconnectivity_tree
from dynsys.models import double_well
from phase import Region
from phase.graph import draw_disconnectivity, draw_graph, draw_graph_on_portrait, graph_layout


@pytest.fixture(scope="module")
def double_well_graph():
    return critical_point_graph(double_well(), [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])


def three_minima() -> nx.DiGraph:
    """Minima 0 (E 0), 1 (E 1), 2 (E 0.5); saddle 3 (E 2) joins 0, 1; saddle 4 (E 3) joins 1, 2;
    node 5 escapes from 4 (not drawn)."""
    G = nx.DiGraph(state_names="p q r")
    for k, e, i, kind in [
        (0, 0.0, 0, "minimum"),
        (1, 1.0, 0, "minimum"),
        (2, 0.5, 0, "minimum"),
        (3, 2.0, 1, "saddle-1"),
        (4, 3.0, 1, "saddle-1"),
        (5, np.nan, -1, "escape"),
    ]:
        G.add_node(k, energy=e, index=i, kind=kind, x=np.array([k, -k, 2.0 * k]))
    G.add_edges_from([(3, 0), (3, 1), (4, 1), (4, 2), (4, 5)])
    return G


def test_state_space_drawing_uses_the_trajectories(double_well_graph):
    G = double_well_graph
    _fig, ax = plt.subplots()
    out = draw_graph(G, ax=ax)
    segments = out["edges"].get_segments()
    paths = sorted((G.edges[e]["path"] for e in G.edges), key=lambda p: p[-1, 0])
    for seg, path in zip(sorted(segments, key=lambda s: s[-1, 0]), paths, strict=True):
        np.testing.assert_allclose(seg, path)
    drawn = {line.get_label(): np.column_stack(line.get_data()) for line in out["nodes"]}
    np.testing.assert_allclose(sorted(drawn["minimum"][:, 0]), [-1.0, 1.0])
    np.testing.assert_allclose(drawn["saddle-1"], [[0.0, 0.0]], atol=1e-12)
    assert [t.get_text() for t in out["labels"]] == [str(k) for k in G]


def test_energy_layout_places_saddles_between_their_minima():
    G = three_minima()
    position = graph_layout(G)
    assert 5 not in position
    assert {k: position[k][1] for k in position} == {0: 0.0, 1: 1.0, 2: 0.5, 3: 2.0, 4: 3.0}
    assert position[3][0] == pytest.approx((position[0][0] + position[1][0]) / 2)
    assert position[4][0] == pytest.approx((position[1][0] + position[2][0]) / 2)
    out = draw_graph(G, ax=plt.figure().gca())  # 3 states: energy layout by default
    assert len(out["edges"].get_segments()) == 4  # the edge to the escape node is left out
    assert sum(len(line.get_xdata()) for line in out["nodes"]) == 5


def test_plane_drawing_of_a_higher_dimensional_graph():
    G = three_minima()
    out = draw_graph(G, ax=plt.figure().gca(), plane=("r", "p"), trajectories=False)
    ax = out["edges"].axes
    assert ax.get_xlabel() == "r" and ax.get_ylabel() == "p"
    seg = next(s for s in out["edges"].get_segments() if s[0, 1] == 3.0)
    np.testing.assert_allclose(seg, [[6.0, 3.0], [0.0, 0.0]])


def test_disconnectivity_drawing_joins_at_merge_energies():
    G = three_minima()
    tree = disconnectivity_tree(G)
    lines = draw_disconnectivity(G, ax=plt.figure().gca())
    segments = lines.get_segments()
    assert len(segments) == len(tree.graph["roots"]) + tree.number_of_edges()
    bars = sorted({float(s[-1, 1]) for s in segments if len(s) == 3})
    assert bars == [2.0, 3.0]  # the two saddles' energies
    bottoms = sorted(float(s[0, 1]) for s in segments if len(s) == 3)
    assert bottoms[:3] == [0.0, 0.5, 1.0]  # every minimum's line starts at its energy
    labels = [t.get_text() for t in lines.axes.get_xticklabels()]
    assert sorted(labels) == ["0", "1", "2"]


def test_graph_on_portrait(double_well_graph):
    ax = plt.figure().gca()
    out = draw_graph_on_portrait(
        double_well(), double_well_graph, Region((-2, -1), (2, 1)), ax=ax, resolution=20
    )
    assert out["field"] is not None and len(out["edges"].get_segments()) == 2
    assert ax.get_xlim() == (-2.0, 2.0)


def test_bad_layout_raises():
    with pytest.raises(ValueError, match="layout"):
        draw_graph(three_minima(), layout="circle")


def test_disconnectivity_labels_minima_and_barriers_and_starts_a_loss_axis_at_zero():
    G = nx.DiGraph([(1, 0)])  # one minimum joined to its symmetric copy by saddle 1
    nx.set_node_attributes(G, {0: 0.0, 1: 0.086}, "energy")
    nx.set_node_attributes(G, {0: 0, 1: 1}, "index")
    ax = plt.figure().gca()
    (stem,) = draw_disconnectivity(G, ax=ax).get_segments()
    assert stem[-1, 1] == pytest.approx(0.086)  # the stem reaches the saddle: a junction
    texts = {t.get_text() for t in ax.texts}
    assert {"0", "1: 0.086"} <= texts
    assert ax.get_ylim()[0] == 0.0


def test_disconnectivity_junction_labels_list_saddles_at_one_level():
    G = nx.DiGraph([(2, 0), (2, 1), (3, 0), (3, 1)])
    nx.set_node_attributes(G, {0: 0.0, 1: 0.0, 2: 0.5, 3: 0.5}, "energy")
    nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1, 3: 1}, "index")
    ax = plt.figure().gca()
    draw_disconnectivity(G, ax=ax)
    assert "2, 3: 0.5" in {t.get_text() for t in ax.texts}


def test_graph_nodes_on_one_another_are_spread_apart():
    G = nx.DiGraph([(2, 0), (2, 1), (3, 0), (3, 1)])
    nx.set_node_attributes(G, {0: 0.0, 1: 0.0, 2: 0.5, 3: 0.501}, "energy")
    nx.set_node_attributes(G, {0: 0, 1: 0, 2: 1, 3: 1}, "index")
    position = graph_layout(G)
    assert abs(position[2][0] - position[3][0]) >= 0.2
