"""Tests of dynsys.graph.critical_point_graph against landscapes whose critical points and
connections are known: Mueller-Brown, the double well, a Mexican hat (a circle of minima), a
four-well potential traced from its maximum alone, general systems with sinks, and escapes."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dynsys._points import ToleranceWarning, relative_scale
from dynsys._status import RESULTS, Status
from dynsys.errors import InputError, InputTypeError, OptionError
from dynsys.graph import (
    ESCAPE,
    UNRESOLVED,
    GraphOptions,
    critical_point_graph,
    disconnectivity_tree,
    lowest_barrier,
    minima,
    minimum_energy_path,
    saddles,
    saddles_of_minimum,
    spurious_minima,
)
from dynsys.models import double_well, duffing, mueller_brown
from dynsys.symmetry import PermutationSymmetry
from dynsys.system import GradientSystem, System

MB_MINIMA = {"A": (-0.558, 1.442), "B": (-0.050, 0.467), "C": (0.623, 0.028)}
MB_SADDLES = {"AB": (-0.822, 0.624), "BC": (0.212, 0.293)}


def with_flow(**changes) -> GraphOptions:
    """GraphOptions whose flow options differ from the graph's defaults by ``changes``."""
    return GraphOptions(flow=GraphOptions().flow.replace(**changes))


def node_near(G: nx.DiGraph, point, tol: float) -> int:
    """The one node within ``tol`` of ``point``."""
    found = [k for k, x in G.nodes(data="x") if np.linalg.norm(np.asarray(x) - point) < tol]
    assert len(found) == 1, f"{len(found)} nodes near {point}"
    return found[0]


def check_trajectories(G: nx.DiGraph, system) -> None:
    """Every edge: starts next to its saddle, ends at its target, energy never increases."""
    for s, t, d in G.edges(data=True):
        path = d["path"]
        assert np.linalg.norm(path[0] - G.nodes[s]["x"]) == pytest.approx(d["offset"], rel=1e-9)
        if not np.isnan(G.nodes[t]["x"]).any():
            assert np.linalg.norm(path[-1] - G.nodes[t]["x"]) < 1e-4
            assert d["arc_length"] >= np.linalg.norm(G.nodes[t]["x"] - G.nodes[s]["x"]) - 1e-3
        if system.is_gradient:
            energy = system.potential(path)
            np.testing.assert_allclose(d["path_energy"], energy)
            assert np.all(np.diff(energy) <= 1e-9 * max(1.0, np.abs(energy).max()))
        assert np.all(np.diff(d["path_time"]) > 0)
        assert len(path) <= GraphOptions().path_points + 1


# ---------------------------------------------------------------------------- Mueller-Brown
@pytest.fixture(scope="module")
def mb_graph():
    system = mueller_brown()
    given = [*MB_MINIMA.values(), *MB_SADDLES.values()]  # 3 decimals: refined by Newton
    return system, critical_point_graph(system, given)


def test_mueller_brown_has_three_minima_and_two_saddles(mb_graph):
    system, G = mb_graph
    assert len(minima(G)) == 3 and len(saddles(G)) == 2 and len(G) == 5
    for point in [*MB_MINIMA.values(), *MB_SADDLES.values()]:
        k = node_near(G, point, 2e-3)
        assert np.linalg.norm(system.gradient(G.nodes[k]["x"])) < 1e-8
    assert G.graph["complete"]


def test_mueller_brown_saddles_join_the_right_minima(mb_graph):
    system, G = mb_graph
    m = {name: node_near(G, p, 2e-3) for name, p in MB_MINIMA.items()}
    s = {name: node_near(G, p, 2e-3) for name, p in MB_SADDLES.items()}
    assert set(G.successors(s["AB"])) == {m["A"], m["B"]}
    assert set(G.successors(s["BC"])) == {m["B"], m["C"]}
    assert all(d["status"] == Status.CONVERGED for *_, d in G.edges(data=True))
    assert saddles_of_minimum(G, m["B"]) == sorted([s["AB"], s["BC"]])
    assert saddles_of_minimum(G, m["A"]) == [s["AB"]]
    check_trajectories(G, system)


def test_mueller_brown_barriers_are_energy_differences(mb_graph):
    system, G = mb_graph
    V = {name: float(system.potential(p)) for name, p in {**MB_MINIMA, **MB_SADDLES}.items()}
    m = {name: node_near(G, p, 2e-3) for name, p in MB_MINIMA.items()}
    s = {name: node_near(G, p, 2e-3) for name, p in MB_SADDLES.items()}
    # values at the literature's 3-decimal points; V is stationary there, so 1e-2 is ample
    assert G.edges[s["AB"], m["A"]]["energy_drop"] == pytest.approx(V["AB"] - V["A"], abs=1e-2)
    assert G.edges[s["AB"], m["B"]]["energy_drop"] == pytest.approx(V["AB"] - V["B"], abs=1e-2)
    assert G.edges[s["BC"], m["B"]]["energy_drop"] == pytest.approx(V["BC"] - V["B"], abs=1e-2)
    assert G.edges[s["BC"], m["C"]]["energy_drop"] == pytest.approx(V["BC"] - V["C"], abs=1e-2)
    barrier = lowest_barrier(G, m["C"], m["B"])
    assert barrier.saddle == s["BC"]
    assert barrier.height == pytest.approx(V["BC"] - V["C"], abs=1e-2)
    barrier = lowest_barrier(G, m["A"], m["C"])  # over both saddles: the higher one decides
    assert barrier.saddle == s["AB"] and barrier.path == [m["A"], s["AB"], m["B"], s["BC"], m["C"]]
    assert barrier.energy == pytest.approx(V["AB"], abs=1e-2)
    assert spurious_minima(G) == sorted([m["B"], m["C"]])  # A is the global minimum


def test_mueller_brown_minimum_energy_path_runs_through_both_saddles(mb_graph):
    system, G = mb_graph
    m = {name: node_near(G, p, 2e-3) for name, p in MB_MINIMA.items()}
    mep = minimum_energy_path(G, m["A"], m["C"])
    assert mep.reversed == [True, False, True, False]
    np.testing.assert_allclose(mep.x[0], G.nodes[m["A"]]["x"], atol=1e-4)
    np.testing.assert_allclose(mep.x[-1], G.nodes[m["C"]]["x"], atol=1e-4)
    np.testing.assert_allclose(mep.energy, system.potential(mep.x))
    assert mep.energy.max() == pytest.approx(float(system.potential(MB_SADDLES["AB"])), abs=1e-2)
    assert np.all(np.diff(mep.arc_length) >= 0)


# ---------------------------------------------------------------------------- double well
def test_double_well_one_saddle_two_edges_and_its_tree():
    system = double_well()
    G = critical_point_graph(system, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    (s,) = saddles(G)
    assert G.nodes[s]["kind"] == "saddle-1" and G.out_degree(s) == 2
    ends = sorted(tuple(G.nodes[t]["x"].round(12)) for t in G.successors(s))
    assert ends == [(-1.0, 0.0), (1.0, 0.0)]
    for t in G.successors(s):  # the path is the x axis from delta to +-1: length 1 - delta
        d = G.edges[s, t]
        assert d["arc_length"] == pytest.approx(1.0 - d["offset"], rel=1e-6)
        assert d["energy_drop"] == pytest.approx(0.25, abs=1e-12)
    tree = disconnectivity_tree(G)
    (root,) = tree.graph["roots"]
    assert sorted(tree.successors(root)) == sorted(minima(G))
    assert tree.nodes[root]["energy"] == pytest.approx(float(system.potential([0.0, 0.0])))
    assert tree.nodes[root]["energy"] == pytest.approx(0.25)
    check_trajectories(G, system)


# ---------------------------------------------------------------------------- Mexican hat
def mexican_hat(analytic: bool = True) -> GradientSystem:
    """``V = (r^2 - 1)^2 / 4``: a circle of minima at r = 1 and a maximum at the origin."""

    def V(x, p):
        return 0.25 * ((x**2).sum(-1) - 1.0) ** 2

    def grad(x, p):
        return ((x**2).sum(-1) - 1.0)[..., None] * x

    def hess(x, p):
        r2 = (x**2).sum(-1)[..., None, None]
        return (r2 - 1.0) * np.eye(2) + 2.0 * x[..., :, None] * x[..., None, :]

    kw = {"grad": grad, "hess": hess} if analytic else {}
    return GradientSystem(V, ["x", "y"], name="mexican_hat", **kw)


@pytest.mark.parametrize("analytic", [True, False])
def test_mexican_hat_circle_is_one_node_of_nullity_one(analytic):
    system = mexican_hat(analytic)
    angles = np.linspace(0, 2 * np.pi, 13)[:-1]
    given = np.concatenate([[[0.0, 0.0]], np.stack([np.cos(angles), np.sin(angles)], -1)])
    G = critical_point_graph(system, given)
    assert len(G) == 2
    (circle,) = minima(G)
    node = G.nodes[circle]
    assert node["nullity"] == 1 and node["index"] == 0 and node["kind"] == "degenerate"
    np.testing.assert_allclose(np.linalg.norm(node["members"], axis=-1), 1.0, atol=1e-8)
    assert len(node["members"]) >= 12
    (top,) = (k for k in G if k != circle)
    assert G.nodes[top]["kind"] == "maximum"
    edge = G.edges[top, circle]  # every direction from the maximum ends on the circle
    assert edge["n_trajectories"] == GraphOptions().sphere_directions
    assert edge["energy_drop"] == pytest.approx(0.25, abs=1e-9)


def test_mexican_hat_circle_found_from_the_maximum_alone():
    G = critical_point_graph(mexican_hat(), [[0.0, 0.0]])
    assert len(G) == 2
    (circle,) = minima(G)
    assert G.nodes[circle]["nullity"] == 1 and G.nodes[circle]["found_by"] == "flow"
    np.testing.assert_allclose(np.linalg.norm(G.nodes[circle]["members"], axis=-1), 1.0)


# ---------------------------------------------------------------------------- self-completion
def four_wells() -> GradientSystem:
    """``V = (x^2 - 1)^2 / 4 + (y^2 - 1)^2 / 2``: minima (+-1, +-1) at 0, saddles (0, +-1) at
    1/4 and (+-1, 0) at 1/2, a maximum at the origin at 3/4."""

    def V(s, p):
        return 0.25 * (s[..., 0] ** 2 - 1) ** 2 + 0.5 * (s[..., 1] ** 2 - 1) ** 2

    def grad(s, p):
        x, y = s[..., 0], s[..., 1]
        return np.stack([x**3 - x, 2 * (y**3 - y)], -1)

    def hess(s, p):
        x, y = s[..., 0], s[..., 1]
        zero = np.zeros_like(x)
        return np.stack(
            [np.stack([3 * x**2 - 1, zero], -1), np.stack([zero, 6 * y**2 - 2], -1)], -2
        )

    return GradientSystem(V, ["x", "y"], grad=grad, hess=hess, name="four_wells")


@pytest.fixture(scope="module")
def four_well_graph():
    return critical_point_graph(four_wells(), [[0.0, 0.0]])


def test_graph_completes_itself_from_the_maximum(four_well_graph):
    G = four_well_graph
    assert len(G) == 9 and G.graph["n_rounds"] == 2 and G.graph["complete"]
    assert len(minima(G)) == 4 and len(saddles(G)) == 4
    top = node_near(G, (0.0, 0.0), 1e-9)
    assert G.out_degree(top) == 8  # the 4 axes reach the saddles, the diagonals the minima
    for sx, sy in [(0, 1), (0, -1), (1, 0), (-1, 0)]:
        s = node_near(G, (sx, sy), 1e-6)
        assert G.nodes[s]["kind"] == "saddle-1" and G.nodes[s]["found_by"] == "flow"
        expected = {(1, sy), (-1, sy)} if sx == 0 else {(sx, 1), (sx, -1)}
        got = {tuple(np.round(G.nodes[t]["x"]).astype(int)) for t in G.successors(s)}
        assert got == expected
    assert G.number_of_edges() == 16


def test_four_wells_disconnectivity_and_barriers(four_well_graph):
    G = four_well_graph
    tree = disconnectivity_tree(G)
    (root,) = tree.graph["roots"]
    assert tree.nodes[root]["energy"] == pytest.approx(0.5)
    groups = sorted(
        sorted(tuple(np.round(G.nodes[m]["x"]).astype(int)) for m in tree.nodes[c]["minima"])
        for c in tree.successors(root)
    )
    assert groups == [[(-1, -1), (1, -1)], [(-1, 1), (1, 1)]]
    assert all(tree.nodes[c]["energy"] == pytest.approx(0.25) for c in tree.successors(root))
    a, b, c = (node_near(G, p, 1e-6) for p in [(1, 1), (-1, 1), (1, -1)])
    assert lowest_barrier(G, a, b).height == pytest.approx(0.25)
    assert lowest_barrier(G, a, c).height == pytest.approx(0.5)


# ---------------------------------------------------------------------------- general systems
def test_general_system_with_sinks_duffing():
    system = duffing()  # saddle at the origin, sinks (foci) at (+-1, 0)
    G = critical_point_graph(system, [[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    s = node_near(G, (0.0, 0.0), 1e-9)
    assert G.nodes[s]["kind"] == "saddle"
    ends = {tuple(np.round(G.nodes[t]["x"], 9)) for t in G.successors(s)}
    assert ends == {(1.0, 0.0), (-1.0, 0.0)}
    assert sorted(G.nodes[m]["kind"] for m in minima(G)) == ["sink focus", "sink focus"]
    assert np.isnan(G.nodes[s]["energy"])
    with pytest.raises(InputError, match="energies"):
        disconnectivity_tree(G)
    check_trajectories(G, system)


def test_escaping_and_unfinished_trajectories_are_recorded():
    saddle = System(lambda x, p: np.stack([x[..., 0], -x[..., 1]], -1), ["x", "y"], name="linear")
    G = critical_point_graph(saddle, [[0.0, 0.0]], options=with_flow(escape_radius=10.0))
    (escape,) = (k for k in G if G.nodes[k]["kind"] == ESCAPE)
    edge = G.edges[0, escape]
    assert edge["status"] == Status.ESCAPED and edge["n_trajectories"] == 2
    assert np.linalg.norm(edge["path"][-1]) > 10.0
    short = critical_point_graph(double_well(), [[0.0, 0.0]], options=with_flow(t_max=1.0))
    (lost,) = (k for k in short if short.nodes[k]["kind"] == UNRESOLVED)
    assert short.edges[0, lost]["status"] == Status.TIME_LIMIT
    assert short.edges[0, lost]["n_trajectories"] == 2


# ---------------------------------------------------------------------------- arrival and stiffness
def stiff_system() -> System:
    """``x' = -x + y, y' = -(y - x^2) / 1e-6``: a sink at (0, 0) (eigenvalues -1, -1e6) and a
    saddle at (1, 1) (about 1 and -1e6); explicit Runge-Kutta orbits cannot bring ``|f|`` near
    either below about ``1e6 (atol + rtol)``."""
    eps = 1e-6

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        return np.stack([-x + y, -(y - x**2) / eps], -1)

    def jac(s, p):
        x = s[..., 0]
        one = np.ones_like(x)
        return np.stack([np.stack([-one, one], -1), np.stack([2 * x / eps, -one / eps], -1)], -2)

    return System(f, ["x", "y"], jac=jac, name="stiff")


def check_stiff_graph(G: nx.DiGraph, system) -> None:
    """Every node a verified critical point; every edge that reached none says why."""
    verified = set()
    for k, d in G.nodes(data=True):
        if d["kind"] in (ESCAPE, UNRESOLVED):
            continue
        assert np.linalg.norm(system.f(d["x"])) <= 1e-8, (k, d["x"])
        verified.add(k)
    assert {tuple(G.nodes[k]["x"]) for k in verified} == {(0.0, 0.0), (1.0, 1.0)}
    failed = {
        Status.TIME_LIMIT,
        Status.MAX_STEPS,
        Status.NONFINITE,
        Status.STEP_UNDERFLOW,
        Status.UNVERIFIED,
        Status.MAX_ITER,
        Status.SINGULAR_JACOBIAN,
    }
    assert G.number_of_edges() > 0
    for _, t, d in G.edges(data=True):
        status = Status(d["status"])
        assert status in RESULTS["graph"] and status != Status.UNMATCHED
        kind = G.nodes[t]["kind"]
        if kind == UNRESOLVED:
            assert status in failed, status
        elif kind == ESCAPE:
            assert status == Status.ESCAPED
        else:
            assert t in verified
            assert status in (Status.CONVERGED, Status.TIME_LIMIT, Status.MAX_STEPS)


def test_stiff_graph_has_only_verified_nodes_and_says_why_edges_failed():
    system = stiff_system()
    G = critical_point_graph(system, [[0.0, 0.0], [1.0, 1.0]])
    check_stiff_graph(G, system)
    # the rule, over the sink's and the saddle's spectra (|eigenvalue| up to about 1e6), s = 1
    flow = GraphOptions().flow
    lam = max(
        np.abs(G.nodes[k]["eigenvalue_real"] + 1j * G.nodes[k]["eigenvalue_imag"]).max()
        for k in G
        if G.nodes[k]["kind"] not in (ESCAPE, UNRESOLVED)
    )
    assert lam == pytest.approx(1e6, rel=1e-5)
    assert G.graph["converge_tol_requested"] == "auto"  # chosen by the rule
    assert G.graph["converge_tol_used"] == pytest.approx(10 * lam * (flow.atol + flow.rtol))
    assert "converge_tol_note" not in G.graph


def test_stiff_graph_raises_a_small_converge_tol_with_a_warning_and_records_it():
    system = stiff_system()
    with pytest.warns(ToleranceWarning, match="converge_tol = 1e-09 was raised"):
        G = critical_point_graph(
            system, [[0.0, 0.0], [1.0, 1.0]], options=with_flow(converge_tol=1e-9)
        )
    check_stiff_graph(G, system)
    assert G.graph["converge_tol_requested"] == 1e-9
    assert G.graph["converge_tol_used"] > 1e-2  # 10 * 1e6 * (atol + rtol)
    assert "was raised to" in G.graph["converge_tol_note"]


def test_converge_tol_follows_the_arrival_rule_on_the_double_well():
    system = double_well()
    given = [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    G = critical_point_graph(system, given)
    flow = GraphOptions().flow
    lam = max(
        np.abs(G.nodes[k]["eigenvalue_real"] + 1j * G.nodes[k]["eigenvalue_imag"]).max() for k in G
    )
    s = max(float(relative_scale(G.nodes[k]["x"])) for k in G)
    rule = 10 * lam * (flow.atol + flow.rtol * s)
    assert G.graph["converge_tol_requested"] == "auto"  # chosen by the rule
    assert G.graph["converge_tol_used"] == pytest.approx(rule, rel=1e-12)
    assert "converge_tol_note" not in G.graph
    assert with_flow(converge_tol=0.0).flow.converge_tol is None  # 0 asks for the rule too
    # a request above the floor is used as it is
    H = critical_point_graph(system, given, options=with_flow(converge_tol=1e-6))
    assert H.graph["converge_tol_requested"] == 1e-6 == H.graph["converge_tol_used"]
    assert "converge_tol_note" not in H.graph
    assert all(d["status"] == Status.CONVERGED for *_, d in H.edges(data=True))


def test_points_that_are_not_critical_are_refused():
    # a node is a verified critical point: a given point Newton cannot verify is an error
    with pytest.raises(ValueError, match=r"rows \[0\]\) are not critical points"):
        critical_point_graph(double_well(), [[0.5, 0.5]])


def test_empty_input_gives_empty_graph():
    G = critical_point_graph(double_well(), np.zeros((0, 2)))
    assert len(G) == 0 and G.graph["complete"]


# ---------------------------------------------------------------------------- options and errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eps": -1.0}, "`eps` must be a positive number"),
        ({"flow": {"method": "euler"}}, "`method` must be one of"),
        (
            {"flow": {"method": "gradient_descent", "learning_rate": 0.1}},
            r"`flow` must be a FlowOptions with method in \['dopri5', 'dop853', 'rosenbrock23'\]",
        ),
        ({"flow": {"save_times": (0.0, 1.0)}}, "`flow` must be a FlowOptions without save_times"),
        ({"path_points": 1}, "`path_points` must be an integer >= 2"),
        ({"eps": 0.5}, "at most `max_offset`"),
        # FlowOptions reads converge_tol = 0 as "none" (here: the arrival rule); below 0 is wrong
        ({"flow": {"converge_tol": -1.0}}, "`converge_tol` must be a non-negative number"),
        ({"newton": 3}, "`newton` must be a NewtonOptions"),
        ({"flow": 3}, "`flow` must be a FlowOptions"),
    ],
)
def test_graph_options_reject_bad_values(kwargs, message):
    with pytest.raises(OptionError, match=message):
        if isinstance(kwargs.get("flow"), dict):  # built inside: FlowOptions checks too
            kwargs = {**kwargs, "flow": GraphOptions().flow.replace(**kwargs["flow"])}
        GraphOptions(**kwargs)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(InputError, match="fixed_points"):
        critical_point_graph(double_well(), [[0.0, 0.0, 0.0]])
    with pytest.raises(InputTypeError, match="GraphOptions"):
        critical_point_graph(double_well(), [[0.0, 0.0]], options={"eps": 1e-3})
    with pytest.raises(InputTypeError, match="symmetry"):
        critical_point_graph(double_well(), [[0.0, 0.0]], symmetry=object())
    with pytest.raises(InputError, match="symmetry"):  # a group of another dimension
        critical_point_graph(double_well(), [[0.0, 0.0]], symmetry=PermutationSymmetry(3, 1))


# ---------------------------------------------------------------------------- directions
def test_sphere_directions_are_unit_vectors_with_the_signed_axes():
    from dynsys.graph._trace import sphere_directions

    for k, count, expected in [(1, 8, 2), (2, 8, 8), (2, 5, 8), (3, 4, 6), (3, 10, 10)]:
        d = sphere_directions(k, count)
        assert d.shape == (expected, k)
        np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0)
        for axis in np.concatenate([np.eye(k), -np.eye(k)]):  # each signed axis, exactly
            assert any(np.array_equal(row, axis) for row in d)
    np.testing.assert_array_equal(sphere_directions(3, 10), sphere_directions(3, 10))


def test_unstable_basis_of_a_saddle_focus_spans_the_rotating_plane():
    from dynsys.graph._trace import unstable_basis
    from dynsys.stability import classify

    J = np.array([[1.0, -2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, -3.0]])  # 1 +- 2i, -3
    system = System(
        lambda x, p: x @ J.T,
        ["a", "b", "c"],
        jac=lambda x, p: np.broadcast_to(J, (*x.shape[:-1], 3, 3)),
        name="spiral",
    )
    ds = classify(system, [0.0, 0.0, 0.0], eigenvectors=True)
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    vec = ds["eigenvector_real"].values + 1j * ds["eigenvector_imag"].values
    basis, lambda_u = unstable_basis(lam, vec, 1e-8)
    assert basis.shape == (3, 2) and lambda_u == pytest.approx(1.0)
    np.testing.assert_allclose(basis.T @ basis, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(basis[2], 0.0, atol=1e-12)  # the plane c = 0
    G = critical_point_graph(system, [[0.0, 0.0, 0.0]], options=with_flow(escape_radius=5.0))
    assert G.nodes[0]["kind"] == "saddle focus" and G.nodes[0]["index"] == 2
    (escape,) = (k for k in G if G.nodes[k]["kind"] == ESCAPE)
    assert G.edges[0, escape]["n_trajectories"] == GraphOptions().sphere_directions
    assert np.all(np.abs(G.edges[0, escape]["path"][:, 2]) < 1e-12)  # stays in its plane
