"""The seed graphs of the teacher-student network, at small size, checked against the closed forms.

Case 1 (``examples/graph_two_units_teacher_plane.py``): K = 2 units, teacher I in d = 2. Case 2
(``examples/graph_k6_spurious_minima.py``): K = d = 6, teacher I, the spurious minima that gradient
descent finds, the saddles joining them to the teacher. Every claim is verified from
:func:`dynsys.models.relu.loss`, :func:`~dynsys.models.relu.gradient` and
:func:`~dynsys.models.relu.hessian` (themselves tested against finite differences and Monte Carlo in
``tests/test_relu.py``), not from the graph's own classification.
"""

import importlib.util
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from dynsys._status import Status
from dynsys.graph import expand_graph, is_special, lowest_barrier, minima, saddles
from dynsys.models.reduced import theorem7_saddle
from dynsys.models.relu import gradient, hessian, loss
from dynsys.symmetry import PermutationSymmetry, UnitInputSymmetry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GRADIENT_TOL = 1e-8
ZERO_TOL = 1e-8


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def closed_form(x, W_star):
    """Loss, max_j |dL/dw_j|, Hessian eigenvalues (ascending) at the state ``x``."""
    K, d = W_star.shape
    W = np.asarray(x, dtype=float).reshape(K, d)
    grad = gradient(W, W_star).reshape(K, d)
    eig = np.linalg.eigvalsh(hessian(W, W_star))
    return float(loss(W, W_star)), float(np.linalg.norm(grad, axis=1).max()), eig


def zero_count(eig) -> int:
    return int(np.sum(np.abs(eig) <= ZERO_TOL * np.abs(eig).max()))


def critical_nodes(G: nx.DiGraph) -> list:
    return [k for k in G if not is_special(G, k)]


# ---------------------------------------------------------------------------- case 1: K = 2
@pytest.fixture(scope="module")
def two_units():
    return load_example("graph_two_units_teacher_plane").build_graphs(n_seeds=300, seed=5)


def test_teacher_and_its_permutation_are_minima(two_units):
    G = two_units["full"]
    teacher, swapped = np.eye(2).ravel(), np.eye(2)[::-1].ravel()
    for target in (teacher, swapped):
        hits = [m for m in minima(G) if np.allclose(G.nodes[m]["x"], target, atol=1e-8)]
        assert len(hits) == 1, (target, [G.nodes[m]["x"] for m in minima(G)])
        assert G.nodes[hits[0]]["energy"] == pytest.approx(0.0, abs=1e-14)


def test_symmetry_merges_the_teacher_and_its_permutation(two_units):
    full, sym = two_units["full"], two_units["symmetric"]
    group = PermutationSymmetry(2, 2)
    at_teacher = [
        m for m in minima(sym) if bool(group.match(sym.nodes[m]["x"], np.eye(2).ravel())[0])
    ]
    assert len(at_teacher) == 1
    assert sym.nodes[at_teacher[0]]["multiplicity"] == 2  # K! / |stabiliser| = 2 / 1
    # orbit-stabiliser: the minima of the full graph are the orbits' points
    assert sum(sym.nodes[m]["multiplicity"] for m in minima(sym)) == len(minima(full))
    assert len(minima(expand_graph(sym, group))) == len(minima(full))


@pytest.mark.parametrize("which", ["full", "symmetric"])
def test_every_minimum_is_verified_with_its_loss(two_units, which):
    G = two_units[which]
    assert minima(G)
    for m in minima(G):
        value, grad, eig = closed_form(G.nodes[m]["x"], np.eye(2))
        assert grad < GRADIENT_TOL, (m, grad)
        assert eig[0] > 0, (m, eig)
        assert G.nodes[m]["energy"] == pytest.approx(value, abs=1e-14)


def test_symmetric_saddle_is_a_segment_of_critical_points(two_units):
    """Tian's Theorem 7 saddle for K = 2, w_1 = w_2 = s (1, 1) with s = 3/8 + 1/(2 pi), lies on
    the segment w_1 = t (1, 1), w_2 = (2 s - t) (1, 1) of critical points (parallel units add):
    one node, index 1, nullity 1."""
    s = 3 / 8 + 1 / (2 * np.pi)
    assert theorem7_saddle(2) == pytest.approx(s, abs=1e-15)
    for t in (0.2 * s, s, 1.7 * s):
        x = np.array([t, t, 2 * s - t, 2 * s - t])
        _, grad, eig = closed_form(x, np.eye(2))
        assert grad < 1e-14
        assert zero_count(eig) == 1 and np.sum(eig < 0) == 1
    for which in ("full", "symmetric"):
        G = two_units[which]
        node = [k for k in critical_nodes(G) if np.allclose(G.nodes[k]["x"], np.full(4, s))]
        assert len(node) == 1, which
        attrs = G.nodes[node[0]]
        assert (attrs["index"], attrs["nullity"]) == (1, 1)
        assert attrs["energy"] == pytest.approx(closed_form(attrs["x"], np.eye(2))[0], abs=1e-14)
        # every point found on it lies on the segment (units parallel to (1, 1), sum 2 s (1, 1))
        members = attrs["members"].reshape(-1, 2, 2)
        assert np.allclose(members[..., 0], members[..., 1], atol=1e-8)
        assert np.allclose(members.sum(axis=1), 2 * s, atol=1e-8)


def test_saddles_and_barriers_of_the_two_unit_graph(two_units):
    for G in two_units.values():
        for k in saddles(G):
            _, grad, eig = closed_form(G.nodes[k]["x"], np.eye(2))
            assert grad < GRADIENT_TOL
            assert np.sum(eig < -ZERO_TOL) == G.nodes[k]["index"] >= 1
            assert zero_count(eig) == G.nodes[k]["nullity"]
    G = two_units["full"]
    a, b = minima(G)
    barrier = lowest_barrier(G, a, b)
    top = G.nodes[barrier.saddle]
    assert barrier.height == pytest.approx(top["energy"] - G.nodes[a]["energy"], abs=1e-15)
    # the lowest barrier is the lowest saddle reaching both minima
    joining = [s for s in saddles(G) if {a, b} <= set(G.successors(s))]
    assert barrier.energy == min(G.nodes[s]["energy"] for s in joining)


# ---------------------------------------------------------------------------- case 2: K = 6
@pytest.fixture(scope="module")
def six_units():
    example = load_example("graph_k6_spurious_minima")
    # seed 7: the 15th of its runs ends at a spurious minimum (and the 14 others at the teacher)
    return example, example.experiment(n_runs=15, seed=7)


def test_runs_follow_the_protocol(six_units):
    _, result = six_units
    runs = result["runs"]
    ends = runs["x_final"].values
    converged = runs["status"].values == Status.CONVERGED
    assert converged.all()
    _, grads, _ = zip(*(closed_form(x, np.eye(6)) for x in ends), strict=True)
    assert max(grads) <= 1e-9 / (2 * np.pi)
    J = loss(ends.reshape(-1, 6, 6), np.eye(6))
    np.testing.assert_array_equal(runs["spurious"].values, J >= 1e-3)
    assert runs["spurious"].values.sum() >= 1  # seed 7 was picked to hold one
    # each spurious end point is an image of its class representative, at the same loss
    group = UnitInputSymmetry(6, 6)
    reps = result["spurious"]
    for x, c in zip(ends, runs["end_class"].values, strict=True):
        if c >= 1:
            matched, g = group.match(x, reps[c - 1], tol=1e-5)
            assert bool(matched)
            assert np.linalg.norm(group.act(g, x) - reps[c - 1]) <= 1e-5
            assert loss(x.reshape(6, 6), np.eye(6)) == pytest.approx(
                loss(reps[c - 1].reshape(6, 6), np.eye(6)), abs=1e-12
            )


def test_every_minimum_node_is_verified(six_units):
    _, result = six_units
    G = result["graph"]
    found = minima(G)
    assert len(found) >= 2  # the teacher and at least one spurious minimum
    for m in found:
        value, grad, eig = closed_form(G.nodes[m]["x"], np.eye(6))
        assert grad < GRADIENT_TOL, (m, grad)
        assert eig[0] > -ZERO_TOL * np.abs(eig).max(), (m, eig[:3])
        assert G.nodes[m]["nullity"] == zero_count(eig)
        assert G.nodes[m]["energy"] == pytest.approx(value, abs=1e-13)
    teacher = min(found, key=lambda m: G.nodes[m]["energy"])
    assert G.nodes[teacher]["energy"] == pytest.approx(0.0, abs=1e-13)
    # the orbit of the identity under unit and input permutations: the 6! permutation matrices
    assert G.nodes[teacher]["multiplicity"] == math.factorial(6)


def test_every_saddle_node_is_verified(six_units):
    _, result = six_units
    G = result["graph"]
    assert saddles(G)
    for s in saddles(G):
        _, grad, eig = closed_form(G.nodes[s]["x"], np.eye(6))
        assert grad < GRADIENT_TOL
        assert np.sum(eig < -ZERO_TOL * np.abs(eig).max()) == G.nodes[s]["index"] >= 1


def test_barriers_between_teacher_and_spurious_minima(six_units):
    example, result = six_units
    G = result["graph"]
    teacher = min(minima(G), key=lambda m: G.nodes[m]["energy"])
    bars = example.barriers(G)
    assert bars and all(bar is not None for bar in bars.values())
    for m, bar in bars.items():
        assert G.nodes[m]["energy"] >= 1e-3
        saddle = G.nodes[bar.saddle]
        assert saddle["index"] >= 1
        assert bar.energy == pytest.approx(saddle["energy"], abs=1e-15)
        assert bar.height >= 0 and bar.energy - G.nodes[teacher]["energy"] >= 0
        assert bar.height == pytest.approx(saddle["energy"] - G.nodes[m]["energy"], abs=1e-15)
        assert bar.path[0] == m and bar.path[-1] == teacher
        # the top is the highest energy on the path
        assert bar.energy == max(G.nodes[k]["energy"] for k in bar.path)
