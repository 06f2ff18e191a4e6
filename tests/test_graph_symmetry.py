"""Critical-point graphs up to a symmetry group: the K = 2 teacher-student landscape in the teacher
plane (teacher and its permutation are one orbit), and the expansion back to the full graph."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dynsys.errors import InputTypeError
from dynsys.fixedpoints import find_fixed_points
from dynsys.graph import critical_point_graph, expand_graph, minima, saddles
from dynsys.symmetry import PermutationSymmetry

relu = pytest.importorskip("dynsys.models.relu")

TEACHER = np.eye(2)  # two orthonormal units in d = 2, output weights a = a* = 1
PERMUTED = TEACHER[::-1]


@pytest.fixture(scope="module")
def landscape():
    system = relu.teacher_student(TEACHER)
    seeds = np.random.default_rng(7).normal(size=(120, 4))
    points = find_fixed_points(system, seeds)
    plain = critical_point_graph(system, points)
    group = PermutationSymmetry(2, 2)
    quotient = critical_point_graph(system, points, symmetry=group)
    return system, group, plain, quotient


def nodes_at(G: nx.DiGraph, W: np.ndarray, tol: float = 1e-6) -> list:
    return [k for k in G if np.linalg.norm(np.asarray(G.nodes[k]["x"]) - W.ravel()) < tol]


def verify_minimum(system, attrs) -> None:
    """Gradient below tolerance, smallest Hessian eigenvalue positive, loss = stored energy."""
    x = np.asarray(attrs["x"])
    W = x.reshape(2, 2)
    assert np.linalg.norm(relu.gradient(W, TEACHER)) < 1e-8
    assert np.linalg.eigvalsh(relu.hessian(W, TEACHER)).min() > 1e-6
    assert attrs["energy"] == pytest.approx(float(relu.loss(W, TEACHER)), abs=1e-12)


def test_teacher_and_permutation_are_minima(landscape):
    system, _, G, _ = landscape
    found = minima(G)
    (teacher,) = nodes_at(G, TEACHER)
    (permuted,) = nodes_at(G, PERMUTED)
    assert {teacher, permuted} <= set(found)
    for k in found:
        verify_minimum(system, G.nodes[k])
    assert G.nodes[teacher]["energy"] == pytest.approx(0.0, abs=1e-12)
    assert G.nodes[teacher]["multiplicity"] == 1


def test_every_saddle_descends_to_verified_minima(landscape):
    system, _, G, _ = landscape
    assert saddles(G)
    for s in saddles(G):
        grad = relu.gradient(np.asarray(G.nodes[s]["x"]).reshape(2, 2), TEACHER)
        assert np.linalg.norm(grad) < 1e-8
        for t in G.successors(s):
            if G.nodes[t]["index"] == 0:
                verify_minimum(system, G.nodes[t])
                drop = G.edges[s, t]["energy_drop"]
                assert drop == pytest.approx(G.nodes[s]["energy"] - G.nodes[t]["energy"])
                assert drop > 0


def test_symmetry_merges_teacher_orbit(landscape):
    system, group, G, Q = landscape
    teachers = [k for k in minima(Q) if Q.nodes[k]["energy"] < 1e-12]
    assert len(teachers) == 1
    (t,) = teachers
    assert Q.nodes[t]["multiplicity"] == 2
    for W in (TEACHER, PERMUTED):
        assert bool(group.match(W.ravel(), Q.nodes[t]["x"])[0])
    for k in minima(Q):
        verify_minimum(system, Q.nodes[k])
    # one node per orbit: the orbit sizes add up to the nodes of the plain graph
    assert sum(Q.nodes[k]["multiplicity"] for k in Q) == len(G)
    assert Q.number_of_edges() < G.number_of_edges()


def test_expanding_the_quotient_gives_back_the_full_graph(landscape):
    _, group, G, Q = landscape
    H = expand_graph(Q, group)
    assert len(H) == len(G) and H.number_of_edges() == G.number_of_edges()
    for k in G:  # every node of the plain graph has its copy, with the same kind and energy
        x = np.asarray(G.nodes[k]["x"])
        if G.nodes[k]["nullity"] > 0:
            continue
        (twin,) = (h for h in H if np.linalg.norm(H.nodes[h]["x"] - x) < 1e-6)
        assert H.nodes[twin]["kind"] == G.nodes[k]["kind"]
        assert H.nodes[twin]["energy"] == pytest.approx(G.nodes[k]["energy"])
    (teacher,) = nodes_at(H, TEACHER)
    (permuted,) = nodes_at(H, PERMUTED)
    assert H.nodes[teacher]["orbit"] == H.nodes[permuted]["orbit"]
    for _s, t, d in H.edges(data=True):  # mapped paths still end at their (mapped) targets
        members = np.asarray(H.nodes[t]["members"])
        assert np.linalg.norm(members - d["path"][-1], axis=-1).min() < 1e-4


def test_expand_graph_needs_a_state_group():
    with pytest.raises(InputTypeError, match=r"must be a dynsys\.symmetry\.StateGroup"):
        expand_graph(nx.DiGraph(), object())
