"""Saddle search between minima (dynsys.saddles), checked against mathematics: the published
critical points of the Mueller-Brown potential, the closed-form saddles of separable wells, and
determinism for a seed."""

import numpy as np
import pytest

from dynsys import GradientSystem, Status, explain, status_names
from dynsys._status import RESULTS
from dynsys.errors import InputError, InputTypeError, OptionError
from dynsys.graph import GraphOptions, critical_point_graph
from dynsys.models import lorenz, mueller_brown
from dynsys.saddles import SaddleOptions, dimer_search, find_saddles, graph_points, string_method

# Mueller and Brown (1979), as tabulated e.g. in the string-method literature
MB_MINIMA = np.array([[-0.558, 1.442], [0.623, 0.028], [-0.050, 0.467]])
MB_MINIMA_ENERGY = np.array([-146.700, -108.167, -80.768])
MB_SADDLES = np.array([[-0.822, 0.624], [0.212, 0.293]])
MB_SADDLE_ENERGY = np.array([-40.665, -72.249])
MB_CONNECTS = [{0, 2}, {1, 2}]  # A-M through the first saddle, M-B through the second


def four_wells() -> GradientSystem:
    """``V = (x^2 - 1)^2 + (y^2 - 1)^2``: minima (+-1, +-1), index-1 saddles (+-1, 0), (0, +-1)
    at V = 1, the index-2 maximum (0, 0) at V = 2."""

    def V(x, p):
        return ((x**2 - 1.0) ** 2).sum(-1)

    def grad(x, p):
        return 4.0 * x * (x**2 - 1.0)

    def hess(x, p):
        return (12.0 * x**2 - 4.0)[..., :, None] * np.eye(2)

    return GradientSystem(V, ["x", "y"], grad=grad, hess=hess, name="four_wells")


FOUR_MINIMA = [[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]]
FOUR_SADDLES = {(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)}


def _check_mueller_brown(ds, system):
    assert ds.sizes["saddle"] == 2
    for x, published, e_pub in zip(MB_SADDLES, MB_SADDLES, MB_SADDLE_ENERGY, strict=True):
        dist = np.abs(ds["x"].values - x).max(axis=1)
        k = int(np.argmin(dist))
        assert dist[k] < 1e-3, (ds["x"].values, published)
        assert abs(float(ds["energy"][k]) - e_pub) < 1e-2
        eig = np.linalg.eigvalsh(system.hessian(ds["x"].values[k]))
        assert int(np.sum(eig < 0)) == 1
        ends = {int(ds["minimum_a"][k]), int(ds["minimum_b"][k])}
        ends_x = ds["minimum_x"].values[sorted(ends)]
        ends_pub = {int(np.argmin(np.abs(MB_MINIMA - e).max(axis=1))) for e in ends_x}
        assert ends_pub == MB_CONNECTS[int(np.argmin(np.abs(MB_SADDLES - x).max(axis=1)))]
        assert (
            np.abs(ds["minimum_x"].values[sorted(ends)] - MB_MINIMA[sorted(ends_pub)]).max() < 1e-3
        )
    accepted = ds["outcome"].values == Status.CONVERGED
    assert accepted.any()
    assert (ds["candidate_saddle"].values[accepted] >= 0).all()
    assert (ds["candidate_index"].values[accepted] == 1).all()


@pytest.mark.parametrize("method", ["string", "dimer", "both"])
def test_mueller_brown_from_its_three_minima_gives_exactly_its_two_saddles(method):
    system = mueller_brown()
    ds = find_saddles(system, MB_MINIMA, method=method, seed=3)
    _check_mueller_brown(ds, system)
    # the minima the search refined are the published ones, with the published energies
    assert np.abs(ds["minimum_x"].values[:3] - MB_MINIMA).max() < 1e-3
    assert np.abs(ds["minimum_energy"].values[:3] - MB_MINIMA_ENERGY).max() < 1e-2
    assert set(status_names(ds["outcome"].values)) <= {s.name.lower() for s in RESULTS["saddles"]}


def test_a_string_between_the_outer_minima_finds_the_middle_one_and_both_saddles():
    system = mueller_brown()
    ds = find_saddles(system, MB_MINIMA[:2])
    assert ds.sizes["minimum"] == 3 and ds["minimum_origin"].values[2] == "path"
    assert np.abs(ds["minimum_x"].values[2] - MB_MINIMA[2]).max() < 1e-3
    _check_mueller_brown(ds, system)
    strings = string_method(system, MB_MINIMA[0], MB_MINIMA[1])
    assert strings.sizes["string"] == 2 and strings.attrs["n_split"] == 1
    ends = zip(strings["end_a"].values, strings["end_b"].values, strict=True)
    assert sorted(ends) == [(0, 2), (2, 1)]
    for x in MB_SADDLES:
        assert np.abs(strings["highest"].values - x).max(axis=1).min() < 2e-3


def test_four_wells_gives_the_four_saddles_and_never_the_maximum():
    system = four_wells()
    for method in ("string", "dimer"):
        ds = find_saddles(system, FOUR_MINIMA, method=method, seed=1)
        found = {tuple(np.round(x, 8) + 0.0) for x in ds["x"].values}
        assert found == FOUR_SADDLES
        np.testing.assert_allclose(ds["barrier_a"].values, 1.0, atol=1e-10)
        np.testing.assert_allclose(ds["barrier_b"].values, 1.0, atol=1e-10)
        for x, a, b in zip(
            ds["x"].values, ds["minimum_a"].values, ds["minimum_b"].values, strict=True
        ):
            # the saddle (1, 0) joins (1, 1) and (1, -1): the ends differ in one sign only
            ma, mb = ds["minimum_x"].values[[a, b]]
            assert np.sum(ma != mb) == 1 and np.allclose(ma + mb, 2 * x, atol=1e-8)


def test_a_string_on_the_diagonal_climbs_to_the_maximum_which_is_rejected_as_index_two():
    system = four_wells()
    ds = find_saddles(system, FOUR_MINIMA, pairs=[(0, 3)], options=SaddleOptions(perturbation=0.0))
    assert ds.sizes["saddle"] == 0
    assert status_names(ds["outcome"].values).tolist() == ["wrong_index"]
    assert ds["candidate_index"].values.tolist() == [2]
    np.testing.assert_allclose(ds["candidate_root"].values, 0.0, atol=1e-10)
    # with the seeded displacement the string leaves the diagonal through two saddles
    ds = find_saddles(system, FOUR_MINIMA, pairs=[(0, 3)], seed=0)
    assert ds.sizes["saddle"] == 2
    assert {tuple(np.round(x, 8) + 0.0) for x in ds["x"].values} <= FOUR_SADDLES
    assert not np.any(
        np.all(np.abs(ds["candidate_root"].values) < 1e-6, axis=1)
        & (ds["outcome"].values == Status.CONVERGED)
    )


def test_symmetric_double_well_closed_form():
    system = GradientSystem(
        lambda x, p: ((x**2 - 1.0) ** 2).sum(-1) / 4.0,
        ["x"],
        grad=lambda x, p: x * (x**2 - 1.0),
        name="quartic",
    )
    for method in ("string", "dimer"):
        ds = find_saddles(system, [[-1.0], [1.0]], method=method)
        assert ds.sizes["saddle"] == 1
        assert abs(float(ds["x"][0, 0])) < 1e-10
        np.testing.assert_allclose(
            ds[["barrier_a", "barrier_b"]].to_array().values, 0.25, atol=1e-12
        )


def test_a_saddle_whose_manifold_escapes_is_unconnected():
    # V = x^3/3 - x + 2 y^2: minimum (1, 0) (softest mode x), saddle (-1, 0), whose left half
    # runs to infinity
    system = GradientSystem(
        lambda x, p: x[..., 0] ** 3 / 3 - x[..., 0] + 2 * x[..., 1] ** 2,
        ["x", "y"],
        name="cubic",
    )
    graph = GraphOptions(flow=GraphOptions().flow.replace(escape_radius=10.0))
    ds = find_saddles(system, [[1.0, 0.0]], method="dimer", options=SaddleOptions(graph=graph))
    assert ds.sizes["saddle"] == 0
    hit = ds["outcome"].values == Status.UNCONNECTED
    assert hit.any()
    assert np.abs(ds["candidate_root"].values[hit] - [-1.0, 0.0]).max() < 1e-8
    assert "unstable manifold" in explain(Status.UNCONNECTED)
    assert "index" in explain(Status.WRONG_INDEX)


@pytest.mark.parametrize("method", ["string", "dimer"])
def test_same_seed_gives_identical_results(method):
    system = four_wells()
    one = find_saddles(system, FOUR_MINIMA, method=method, seed=5)
    two = find_saddles(system, FOUR_MINIMA, method=method, seed=5)
    one.attrs.pop("created"), two.attrs.pop("created")  # the clock time of the run
    assert one.identical(two)
    for name in one.data_vars:
        a, b = one[name].values, two[name].values
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    other = find_saddles(system, FOUR_MINIMA, method=method, seed=6)
    assert not np.array_equal(one["candidate_x"].values, other["candidate_x"].values)


def test_found_saddles_join_the_graph_with_the_published_barriers():
    system = mueller_brown()
    ds = find_saddles(system, MB_MINIMA)
    G = critical_point_graph(system, graph_points(ds))
    kinds = sorted(G.nodes[k]["kind"] for k in G)
    assert kinds == ["minimum"] * 3 + ["saddle-1"] * 2
    minimum_of = {
        int(np.argmin(np.abs(MB_MINIMA - G.nodes[k]["x"]).max(axis=1))): k
        for k in G
        if G.nodes[k]["kind"] == "minimum"
    }
    for pub, (a, b) in enumerate([(0, 2), (1, 2)]):
        s = [
            k
            for k in G
            if G.nodes[k]["kind"] == "saddle-1"
            and np.abs(G.nodes[k]["x"] - MB_SADDLES[pub]).max() < 1e-3
        ]
        assert len(s) == 1
        s = s[0]
        assert set(G.successors(s)) == {minimum_of[a], minimum_of[b]}
        for m in (a, b):
            drop = G.edges[s, minimum_of[m]]["energy_drop"]
            assert abs(drop - (MB_SADDLE_ENERGY[pub] - MB_MINIMA_ENERGY[m])) < 2e-2


def test_dimer_search_converges_to_the_saddle_next_to_its_start():
    ds = dimer_search(mueller_brown(), MB_SADDLES + 0.05, directions=[1.0, 0.0])
    assert (ds["status"].values == Status.CONVERGED).all()
    np.testing.assert_allclose(ds["x"].values, MB_SADDLES, atol=1e-3)
    assert (ds["curvature"].values < 0).all()
    assert ds.attrs["n_gradient"] > 0


def test_bad_input_raises_with_the_fix():
    with pytest.raises(InputError, match="GradientSystem"):
        find_saddles(lorenz(), [[0.0, 0.0, 0.0]])
    with pytest.raises(InputError, match="not minima"):
        find_saddles(four_wells(), [[1.0, 1.0], [1.0, 0.0]])
    with pytest.raises(InputError, match="method"):
        find_saddles(four_wells(), FOUR_MINIMA, method="neb")
    with pytest.raises(InputError, match="pairs"):
        find_saddles(four_wells(), FOUR_MINIMA, pairs=[(0, 0)])
    with pytest.raises(InputError, match="shape"):
        string_method(four_wells(), [1.0, 1.0, 1.0], [1.0, -1.0])
    with pytest.raises(InputTypeError, match="SaddleOptions"):
        dimer_search(four_wells(), [0.9, 0.1], options={"dimer_iter": 3})
    with pytest.raises(OptionError, match="n_images"):
        SaddleOptions(n_images=2)
