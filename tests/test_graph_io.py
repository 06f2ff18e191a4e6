"""Round trips of critical-point graphs through Datasets (saved with dynsys.io) and GraphML: every
node, edge and graph attribute comes back equal."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dynsys.errors import InputError, InputTypeError
from dynsys.graph import (
    GraphOptions,
    critical_point_graph,
    from_dataset,
    read_graphml,
    to_dataset,
    write_graphml,
)
from dynsys.io import load, save
from dynsys.models import double_well, mueller_brown
from dynsys.symmetry import PermutationSymmetry
from dynsys.system import System


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return (
            a.shape == b.shape
            and a.dtype.kind == b.dtype.kind
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_graph(G: nx.DiGraph, H: nx.DiGraph) -> None:
    assert list(G.nodes) == list(H.nodes)
    assert sorted(G.edges) == sorted(H.edges)
    for k in G:
        assert G.nodes[k].keys() == H.nodes[k].keys(), k
        for name, value in G.nodes[k].items():
            assert same(value, H.nodes[k][name]), (k, name, value, H.nodes[k][name])
    for u, v in G.edges:
        assert G.edges[u, v].keys() == H.edges[u, v].keys()
        for name, value in G.edges[u, v].items():
            assert same(value, H.edges[u, v][name]), (u, v, name)
    # dynsys.io.save stamps provenance on files that lack it
    assert set(H.graph) - set(G.graph) <= {"created_by", "dynsys_version"}
    for name, value in G.graph.items():
        assert same(value, H.graph[name]), name


@pytest.fixture(scope="module")
def graphs():
    mb = critical_point_graph(
        mueller_brown(),
        [[-0.558, 1.442], [-0.050, 0.467], [0.623, 0.028], [-0.822, 0.624], [0.212, 0.293]],
    )
    escape = critical_point_graph(  # special nodes with NaN states, an escaped edge
        System(lambda x, p: np.stack([x[..., 0], -x[..., 1]], -1), ["x", "y"], name="linear"),
        [[0.0, 0.0]],
        options=GraphOptions(flow=GraphOptions().flow.replace(escape_radius=10.0), path_points=20),
    )
    quotient = critical_point_graph(  # routes and manifold members
        double_well(),
        [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]],
        symmetry=PermutationSymmetry(2, 1),
    )
    return {"mueller_brown": mb, "escape": escape, "quotient": quotient}


def hand_built() -> nx.DiGraph:
    """Attributes of every kind, ragged arrays, and attributes missing on some items."""
    G = nx.DiGraph(system="hand", state_names="a b", count=3, flag=True)
    G.add_node(0, x=np.array([1.0, 2.0]), kind="minimum", index=0, ok=True, label="A")
    G.add_node(1, x=np.array([0.0, np.nan]), kind="saddle-1", index=1, ok=False)
    G.add_node(
        2,
        x=np.array([3.0, 4.0]),
        kind="minimum",
        index=0,
        ok=True,
        weight=2.5,
        tags=np.array([1, 2, 3]),
    )
    G.add_edge(1, 0, path=np.zeros((4, 2)), path_time=np.arange(4.0), status=0, note="first")
    G.add_edge(1, 2, path=np.ones((2, 2)), path_time=np.arange(2.0), status=3)
    return G


@pytest.mark.parametrize("name", ["mueller_brown", "escape", "quotient"])
def test_dataset_round_trip_through_a_file(graphs, name, tmp_path):
    G = graphs[name]
    ds = to_dataset(G)
    assert ds.sizes["node"] == len(G) and ds.sizes["edge"] == G.number_of_edges()
    assert ds["x"].dims == ("node", "state")
    assert ds["path"].dims == ("edge", "sample", "state")
    assert list(ds["state"].values) == ["x", "y"]
    save(ds, tmp_path / "graph.nc")
    assert_same_graph(G, from_dataset(load(tmp_path / "graph.nc")))


@pytest.mark.parametrize("name", ["mueller_brown", "escape", "quotient"])
def test_graphml_round_trip(graphs, name, tmp_path):
    G = graphs[name]
    path = write_graphml(G, tmp_path / "graph.graphml")
    assert_same_graph(G, read_graphml(path))
    other = nx.read_graphml(path)  # plain networkx reads it: scalars as attributes
    assert other.number_of_nodes() == len(G)
    first = next(iter(other.nodes))
    assert isinstance(other.nodes[first]["kind"], str)


def test_hand_built_round_trips(tmp_path):
    G = hand_built()
    ds = to_dataset(G)
    assert "label_present" in ds and "n_sample" in ds and ds["n_sample"].values.tolist() == [4, 2]
    save(ds, tmp_path / "g.nc")
    assert_same_graph(G, from_dataset(load(tmp_path / "g.nc")))
    assert_same_graph(G, read_graphml(write_graphml(G, tmp_path / "g.graphml")))


def test_empty_graph_round_trips(tmp_path):
    G = nx.DiGraph()
    save(to_dataset(G), tmp_path / "empty.nc")
    H = from_dataset(load(tmp_path / "empty.nc"))
    assert len(H) == 0 and H.number_of_edges() == 0
    assert len(read_graphml(write_graphml(G, tmp_path / "empty.graphml"))) == 0


def test_bad_inputs_raise():
    G = nx.DiGraph()
    G.add_node(0, x=np.zeros((2, 2)))
    G.add_node(1, x=np.zeros((2, 3)))
    with pytest.raises(InputTypeError, match="only the first axis"):
        to_dataset(G)
    with pytest.raises(InputError, match="not a critical-point graph"):
        from_dataset(to_dataset(nx.DiGraph()).drop_vars("source"))


def test_isotropy_of_nodes_round_trips_with_minus_one_padding(graphs, tmp_path):
    from dynsys.symmetry import isotropy

    G = graphs["quotient"]
    group = PermutationSymmetry(2, 1)
    for _, attrs in G.nodes(data=True):
        H = isotropy(group, attrs["x"])
        assert (attrs["isotropy_order"], attrs["isotropy_name"]) == (H.order, H.name)
        np.testing.assert_array_equal(attrs["isotropy_generators"], H.generators)
    ds = to_dataset(G)
    assert ds["isotropy_generators"].dims == ("node", "generator", "state")
    counts = ds["n_generator"].values
    assert sorted(counts.tolist()) == [0, 0, 1]  # the saddle (0, 0) is fixed by the swap
    assert np.all(ds["isotropy_generators"].values[counts == 0] == -1)
    save(ds, tmp_path / "graph.nc")
    assert_same_graph(G, from_dataset(load(tmp_path / "graph.nc")))


def test_expanded_graph_conjugates_the_isotropy(graphs):
    from dynsys.graph import expand_graph

    group = PermutationSymmetry(2, 1)
    H = expand_graph(graphs["quotient"], group)
    for _, attrs in H.nodes(data=True):
        for g in attrs["isotropy_generators"]:
            np.testing.assert_array_equal(group.act(g, attrs["x"]), attrs["x"])
