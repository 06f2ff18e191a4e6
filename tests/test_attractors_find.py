"""find_attractors: attractors of flows and maps, checked against closed forms.

The bistable Hopf normal form ``r' = mu r + r^3 - r^5``, ``theta' = 1`` has, for ``-1/4 < mu <
0``, a stable origin (eigenvalues ``mu +- i``), a stable cycle at ``r_s^2 = (1 + sqrt(1 + 4
mu)) / 2`` with period ``2 pi`` and radial Floquet exponent ``mu + 3 r_s^2 - 5 r_s^4``, and an
unstable cycle at ``r_u^2 = (1 - sqrt(1 + 4 mu)) / 2`` that separates the basins (the radial
equation is autonomous, so a seed goes to the origin exactly when ``r < r_u``).
"""

import numpy as np
import pytest

from dynsys import InputError, InputTypeError, Map, OptionError, Status, System, explain
from dynsys.attractors import AttractorOptions, find_attractors, label_states
from dynsys.io import load, save
from dynsys.models import bistable_hopf, henon, logistic, lorenz

MU = -0.1
R_STABLE = np.sqrt((1 + np.sqrt(1 + 4 * MU)) / 2)
R_UNSTABLE = np.sqrt((1 - np.sqrt(1 + 4 * MU)) / 2)
HOPF_OPTIONS = AttractorOptions(cell_size=0.05, dt=0.1)


def polar_seeds(radii, count: int, seed: int = 0) -> np.ndarray:
    theta = np.random.default_rng(seed).uniform(0, 2 * np.pi, count)
    return np.stack([radii * np.cos(theta), radii * np.sin(theta)], axis=1)


@pytest.fixture(scope="module")
def hopf():
    rng = np.random.default_rng(1)
    radii = rng.uniform(0.01, 1.8, 200)
    radii = radii[np.abs(radii - R_UNSTABLE) > 0.02]  # away from the separatrix
    seeds = polar_seeds(radii, radii.size)
    return radii, find_attractors(bistable_hopf(MU), seeds, options=HOPF_OPTIONS)


def test_hopf_finds_exactly_the_origin_and_the_stable_cycle(hopf):
    _, ds = hopf
    assert ds.attrs["n_attractors"] == 2
    kinds = ds.attractor_kind.values[:2].tolist()
    assert sorted(kinds) == ["cycle", "point"]
    point, cycle = kinds.index("point"), kinds.index("cycle")
    # the origin, Newton-verified, with eigenvalues mu +- i
    np.testing.assert_allclose(ds.attractor_x.values[point], [0.0, 0.0], atol=1e-10)
    assert float(ds.attractor_residual[point]) < 1e-10
    eig = (
        ds.attractor_eigenvalue_real.values[point] + 1j * ds.attractor_eigenvalue_imag.values[point]
    )
    np.testing.assert_allclose(np.sort_complex(eig), [MU - 1j, MU + 1j], atol=1e-10)
    np.testing.assert_allclose(ds.attractor_lyapunov.values[point], [MU, MU], atol=1e-10)
    # the cycle: period 2 pi from Poincare returns, accurate to the integration tolerance
    # (rtol = 1e-9): we ask for 1e-6
    assert float(ds.attractor_period[cycle]) == pytest.approx(2 * np.pi, abs=1e-6)
    assert float(ds.attractor_period_error[cycle]) < 1e-6
    # its radius, on every drawn point and at the point given for refinement
    drawn = ds.attractor_samples.values[cycle]
    drawn = drawn[np.isfinite(drawn).all(axis=1)]
    assert len(drawn) >= 100
    np.testing.assert_allclose(np.linalg.norm(drawn, axis=1), R_STABLE, atol=1e-6)
    assert np.linalg.norm(ds.attractor_x.values[cycle]) == pytest.approx(R_STABLE, abs=1e-6)
    # Floquet exponents: 0 along the flow and mu + 3 r^2 - 5 r^4 across it
    floquet = MU + 3 * R_STABLE**2 - 5 * R_STABLE**4
    np.testing.assert_allclose(ds.attractor_lyapunov.values[cycle], [0.0, floquet], atol=1e-6)
    # the section normal is the flow direction at the recorded point (tangent to the circle)
    normal = ds.attractor_section_normal.values[cycle]
    assert abs(normal @ ds.attractor_x.values[cycle]) < 1e-6
    np.testing.assert_allclose(ds.attractor_low.values[cycle], [-R_STABLE, -R_STABLE], atol=1e-3)


def test_hopf_basins_are_split_by_the_unstable_cycle(hopf):
    radii, ds = hopf
    kinds = ds.attractor_kind.values[:2].tolist()
    point, cycle = kinds.index("point"), kinds.index("cycle")
    labels = ds.label.values
    np.testing.assert_array_equal(labels[radii < R_UNSTABLE], point)
    np.testing.assert_array_equal(labels[radii > R_UNSTABLE], cycle)
    status = ds.status.values
    assert (status[radii < R_UNSTABLE] == Status.CONVERGED).all()
    assert (status[radii > R_UNSTABLE] == Status.PERIODIC).all()
    assert ds.n_seeds.values.sum() == len(radii)


def test_label_states_with_a_table(hopf):
    _, ds = hopf
    kinds = ds.attractor_kind.values[:2].tolist()
    point, cycle = kinds.index("point"), kinds.index("cycle")
    on_cycle = polar_seeds(np.full(50, R_STABLE), 50, seed=7)  # every phase
    near_origin = polar_seeds(np.full(5, 1e-3), 5, seed=8)
    between = polar_seeds(np.full(5, 0.6), 5, seed=9)  # in the basin, on neither attractor
    states = np.concatenate([on_cycle, near_origin, between, [[np.nan, 0.0]]])
    labels = label_states(ds, states)
    assert (labels[:50] == cycle).all()
    assert (labels[50:55] == point).all()
    assert (labels[55:60] == -Status.UNMATCHED).all()
    assert labels[60] == -Status.NONFINITE
    # orbit tails: all on the cycle, or mixed
    tails = np.stack([on_cycle[:10], np.concatenate([on_cycle[:5], near_origin])])
    assert label_states(ds, tails, tails=True).tolist() == [cycle, -Status.UNMATCHED]
    with pytest.raises(InputError, match="expected"):
        label_states(ds, [[1.0, 2.0, 3.0]])
    with pytest.raises(InputTypeError, match="find_attractors"):
        label_states(ds[["label"]], [[1.0, 2.0]])


def test_lorenz_has_one_chaotic_attractor():
    system = lorenz()  # sigma = 10, r = 28, beta = 8/3
    c = np.sqrt(8.0 / 3.0 * 27.0)
    rng = np.random.default_rng(0)
    seeds = rng.uniform([-20, -25, 0], [20, 25, 50], size=(24, 3))
    # the unstable equilibria C+- and the origin: orbits that start there stay (to rounding) and
    # are refined by Newton to saddles, not attractors. (A start on the z-axis, the origin's
    # stable manifold, runs through cells of the attractor, whose closure holds the origin: at
    # the resolution of the grid it is labelled with the attractor.)
    special = [[c, c, 27.0], [-c, -c, 27.0], [0.0, 0.0, 0.0]]
    options = AttractorOptions(
        cell_size=2.0, dt=0.05, rtol=1e-7, atol=1e-9, lyapunov_time=40.0, lyapunov_dt=0.25
    )
    ds = find_attractors(system, np.concatenate([seeds, special]), options=options)
    assert ds.attrs["n_attractors"] == 1
    assert str(ds.attractor_kind[0].values) == "chaotic"
    assert (ds.label.values[:24] == 0).all()
    assert (ds.status.values[:24] == Status.RECURRENT).all()
    assert (ds.label.values[24:] == -Status.NOT_ATTRACTING).all()
    assert "not_attracting" in explain(-int(ds.label.values[24]))
    lam = ds.attractor_lyapunov.values[0]
    se = ds.attractor_lyapunov_stderr.values[0]
    assert lam[0] > 3 * se[0]
    assert abs(lam[0] - 0.9056) < 4 * se[0] + 0.01
    assert lam.sum() == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-4)
    # the butterfly: both wings, z between its well-known bounds
    low, high = ds.attractor_low.values[0], ds.attractor_high.values[0]
    assert low[0] < -10 < 10 < high[0]
    assert 0 < low[2] < 15 and 35 < high[2] < 50


def test_logistic_two_cycle_has_period_exactly_two():
    r = 3.2
    ds = find_attractors(
        logistic(r), np.linspace(0.05, 0.95, 20), options=AttractorOptions(cell_size=0.01)
    )
    assert ds.attrs["n_attractors"] == 1
    assert str(ds.attractor_kind[0].values) == "cycle"
    assert float(ds.attractor_period[0]) == 2.0
    points = np.sort(ds.attractor_samples.values[0, :, 0])
    root = np.sqrt((r - 3) * (r + 1))
    np.testing.assert_allclose(
        points, [(r + 1 - root) / (2 * r), (r + 1 + root) / (2 * r)], atol=1e-12
    )
    # multiplier of the 2-cycle: g'(p) g'(q) = 4 + 2 r - r^2
    assert float(ds.attractor_eigenvalue_real[0, 0]) == pytest.approx(4 + 2 * r - r**2, abs=1e-12)
    assert (ds.status.values == Status.PERIODIC).all()


def test_logistic_four_cycle_has_minimal_period_four():
    # r = 3.5 lies in the window of the stable 4-cycle (3.449 < r < 3.544)
    system = logistic(3.5)
    ds = find_attractors(system, [0.2, 0.7], options=AttractorOptions(cell_size=0.005))
    assert float(ds.attractor_period[0]) == 4.0
    x = ds.attractor_x.values[0]
    assert abs(system.iterate(x, 4)[0] - x[0]) < 1e-12
    assert min(abs(system.iterate(x, d)[0] - x[0]) for d in (1, 2)) > 0.1


def test_stable_fixed_point_of_a_map():
    r = 2.5
    ds = find_attractors(logistic(r), [0.1, 0.9], options=AttractorOptions(cell_size=0.01))
    assert str(ds.attractor_kind[0].values) == "point"
    assert float(ds.attractor_x[0, 0]) == pytest.approx(1 - 1 / r, abs=1e-14)
    assert float(ds.attractor_lyapunov[0, 0]) == pytest.approx(np.log(abs(2 - r)), abs=1e-12)
    assert (ds.status.values == Status.CONVERGED).all()


def test_henon_attractor_is_chaotic_and_far_seeds_escape():
    seeds = np.concatenate([np.random.default_rng(4).uniform(-0.5, 0.5, (10, 2)), [[3.0, 3.0]]])
    # the set is known by the cells its collected samples visit: 5000 iterates cover nearly all
    # of the natural measure at this resolution
    options = AttractorOptions(cell_size=0.02, collect_samples=5000)
    ds = find_attractors(henon(), seeds, options=options)
    assert ds.attrs["n_attractors"] == 1
    assert str(ds.attractor_kind[0].values) == "chaotic"
    lam, se = ds.attractor_lyapunov.values[0], ds.attractor_lyapunov_stderr.values[0]
    # 4 Lyapunov orbits of 10^4 iterates: the standard error is about 0.002 (see
    # test_attractors_lyapunov for the precise check); here 0.015 is 7 standard errors
    assert lam[0] > 3 * se[0]
    assert abs(lam[0] - 0.41922) < 0.015
    assert lam.sum() == pytest.approx(np.log(0.3), abs=1e-10)
    assert ds.label.values[-1] == -Status.ESCAPED
    # an independent orbit on the attractor lies in its cells
    x = henon().iterate([0.1, 0.1], 1000)
    tail = [x]
    for _ in range(2000):
        tail.append(henon().g(tail[-1]))
    labels = label_states(ds, np.array(tail))
    assert set(labels.tolist()) <= {0, -int(Status.UNMATCHED)}
    assert np.mean(labels == 0) > 0.95


def torus(omega: float = np.sqrt(2.0)) -> System:
    """Two uncoupled planar oscillators attracted to r = 1, frequencies 1 and omega: an attracting
    2-torus with exponents 0, 0, -2, -2, quasi-periodic for irrational omega."""

    def f(s, p):
        out = np.empty_like(s)
        for i, w in ((0, 1.0), (2, p["omega"])):
            x, y = s[..., i], s[..., i + 1]
            a = 1.0 - x * x - y * y
            out[..., i], out[..., i + 1] = a * x - w * y, a * y + w * x
        return out

    def jac(s, p):
        J = np.zeros((*s.shape, 4))
        for i, w in ((0, 1.0), (2, p["omega"])):
            x, y = s[..., i], s[..., i + 1]
            a = 1.0 - x * x - y * y
            J[..., i, i], J[..., i, i + 1] = a - 2 * x * x, -2 * x * y - w
            J[..., i + 1, i], J[..., i + 1, i + 1] = -2 * x * y + w, a - 2 * y * y
        return J

    return System(f, 4, {"omega": omega}, jac=jac, name="torus")


def test_quasi_periodic_torus():
    options = AttractorOptions(cell_size=0.25, dt=0.2, lyapunov_time=100.0, lyapunov_dt=0.5)
    ds = find_attractors(torus(), [[0.5, 0.0, 0.0, 1.5]], options=options)
    assert str(ds.attractor_kind[0].values) == "quasi-periodic"
    lam = ds.attractor_lyapunov.values[0]
    np.testing.assert_allclose(lam, [0.0, 0.0, -2.0, -2.0], atol=0.02)
    assert ds.status.values[0] == Status.RECURRENT


def test_a_cycle_in_a_torus_of_cycles_does_not_attract():
    # omega = 2: every orbit on the torus closes after time 2 pi, so the orbit settles on a
    # cycle; but its Floquet multipliers are 1 (along the flow), 1 (along the torus: the
    # neighbouring cycles neither approach nor recede) and e^{-4 pi} (twice). It is not
    # asymptotically stable, and the linearisation cannot make it an attractor.
    options = AttractorOptions(cell_size=0.25, dt=0.2)
    ds = find_attractors(torus(2.0), [[0.5, 0.0, 0.0, 1.5]], options=options)
    assert ds.attrs["n_attractors"] == 0
    assert ds.label.values.tolist() == [-Status.NOT_ATTRACTING]


def test_nan_seeds_are_reported_per_item():
    ds = find_attractors(
        logistic(2.5), [[0.2], [np.nan], [0.7]], options=AttractorOptions(cell_size=0.01)
    )
    assert ds.label.values.tolist() == [0, -Status.NONFINITE, 0]
    assert ds.n_seeds.sel(attractor=-int(Status.NONFINITE)).item() == 1


def test_grid_that_does_not_contain_the_attractors():
    # a bounded grid away from everything: orbits run outside it and end escaped (per seed);
    # a seed outside a grid that holds the attractor is followed into it
    outside = AttractorOptions(
        cell_size=0.05, grid_low=[2.0, 2.0], grid_high=[3.0, 3.0], max_outside=50
    )
    ds = find_attractors(bistable_hopf(MU), [[2.5, 2.5], [0.1, 0.0]], options=outside)
    assert ds.label.values.tolist() == [-Status.ESCAPED, -Status.ESCAPED]
    assert ds.n_samples.values.max() <= 60
    around = AttractorOptions(cell_size=0.05, grid_low=-1.2, grid_high=1.2)
    ds = find_attractors(bistable_hopf(MU), [[3.0, 0.0]], options=around)
    assert str(ds.attractor_kind[0].values) == "cycle"
    assert "grid_low" in ds


def test_budget_runs_out():
    options = AttractorOptions(cell_size=0.05, max_steps=50)
    ds = find_attractors(bistable_hopf(MU), [[1.5, 0.0]], options=options)
    assert ds.label.values.tolist() == [-Status.MAX_STEPS]
    assert ds.n_samples.values.tolist() == [50]


def test_bad_input():
    system = bistable_hopf(MU)
    with pytest.raises(OptionError, match="`cell_size` must be positive numbers"):
        AttractorOptions(cell_size=0.0)
    with pytest.raises(OptionError, match="`cell_size` must be positive numbers"):
        AttractorOptions(cell_size=-0.1)
    with pytest.raises(OptionError, match="grid_high"):
        AttractorOptions(cell_size=0.1, grid_low=[0.0, 0.0])
    with pytest.raises(OptionError, match="above grid_low"):
        AttractorOptions(cell_size=0.1, grid_low=[0.0, 1.0], grid_high=[1.0, 1.0])
    with pytest.raises(OptionError, match="recurrence_count"):
        AttractorOptions(cell_size=0.1, recurrence_count=0)
    with pytest.raises(InputError, match="cell_size is required"):
        find_attractors(system, [[1.0, 0.0]])
    with pytest.raises(InputError, match="one value or one per state"):
        find_attractors(system, [[1.0, 0.0]], options=AttractorOptions(cell_size=[0.1] * 3))
    with pytest.raises(InputError, match=r"expected \(\.\.\., 2\)"):
        find_attractors(system, [[1.0, 0.0, 0.0]], options=HOPF_OPTIONS)
    with pytest.raises(InputError, match="empty"):
        find_attractors(system, np.zeros((0, 2)), options=HOPF_OPTIONS)
    with pytest.raises(InputError, match="rectangular"):
        find_attractors(system, [[1.0, 0.0], [1.0]], options=HOPF_OPTIONS)
    with pytest.raises(InputTypeError, match="AttractorOptions"):
        find_attractors(system, [[1.0, 0.0]], options={"cell_size": 0.1})
    with pytest.raises(InputTypeError, match=r"System .* or Map"):
        find_attractors(lambda x: x, [[1.0, 0.0]], options=HOPF_OPTIONS)


def test_result_saves_and_loads(tmp_path, hopf):
    _, ds = hopf
    path = tmp_path / "attractors.nc"
    save(ds, path)
    back = load(path)
    assert back.attractor_kind.values.tolist() == ds.attractor_kind.values.tolist()
    np.testing.assert_array_equal(back.label.values, ds.label.values)
    np.testing.assert_array_equal(back.cell_index.values, ds.cell_index.values)
    # a loaded table labels states like the original
    states = polar_seeds(np.full(20, R_STABLE), 20)
    np.testing.assert_array_equal(label_states(back, states), label_states(ds, states))


def hopf_with_contracting_directions(n: int) -> System:
    """The bistable Hopf normal form in (x0, x1) and x_i' = -x_i in the other n - 2 states."""
    plane = bistable_hopf(MU)

    def f(s, p):
        return np.concatenate([plane.f(s[..., :2]), -s[..., 2:]], axis=-1)

    def jac(s, p):
        J = np.zeros((*s.shape, n))
        J[..., :2, :2] = plane.jac(s[..., :2])
        idx = np.arange(2, n)
        J[..., idx, idx] = -1.0
        return J

    return System(f, n, jac=jac, name="hopf x decay")


def test_sparse_grid_in_thirty_dimensions():
    n = 30
    rng = np.random.default_rng(5)
    seeds = np.zeros((6, n))
    seeds[:, :2] = polar_seeds(np.array([0.1, 0.2, 0.3, 0.5, 1.0, 1.5]), 6)
    seeds[:, 2:] = rng.uniform(-0.5, 0.5, (6, n - 2))
    ds = find_attractors(hopf_with_contracting_directions(n), seeds, options=HOPF_OPTIONS)
    assert sorted(ds.attractor_kind.values.tolist()) == ["cycle", "point"]
    cycle = ds.attractor_kind.values.tolist().index("cycle")
    point = 1 - cycle
    np.testing.assert_array_equal(ds.label.values, [point] * 3 + [cycle] * 3)
    assert float(ds.attractor_period[cycle]) == pytest.approx(2 * np.pi, abs=1e-6)
    floquet = MU + 3 * R_STABLE**2 - 5 * R_STABLE**4
    expected = np.sort([0.0, floquet] + [-1.0] * (n - 2))[::-1]
    np.testing.assert_allclose(ds.attractor_lyapunov.values[cycle], expected, atol=1e-6)
    np.testing.assert_allclose(ds.attractor_x.values[point], 0.0, atol=1e-10)


def circle_map_attractor(omega: float = (np.sqrt(5.0) - 1.0) / 2.0) -> Map:
    """``(r, theta) -> (sqrt(r), theta + 2 pi omega)`` in x, y: the unit circle attracts, and on
    it the map is a rotation, quasi-periodic for irrational omega; exponents 0 and log(1/2)."""

    def g(s, p):
        x, y = s[..., 0], s[..., 1]
        scale = (x * x + y * y) ** -0.25
        c, d = np.cos(2 * np.pi * p["omega"]), np.sin(2 * np.pi * p["omega"])
        return np.stack([scale * (c * x - d * y), scale * (d * x + c * y)], axis=-1)

    return Map(g, ["x", "y"], {"omega": omega}, name="circle attractor")


def test_quasi_periodic_invariant_circle_of_a_map():
    ds = find_attractors(
        circle_map_attractor(), [[0.3, 0.2], [2.0, -1.0]], options=AttractorOptions(cell_size=0.05)
    )
    assert ds.attrs["n_attractors"] == 1
    assert str(ds.attractor_kind[0].values) == "quasi-periodic"
    np.testing.assert_allclose(ds.attractor_lyapunov.values[0], [0.0, np.log(0.5)], atol=1e-3)
    drawn = ds.attractor_samples.values[0]
    np.testing.assert_allclose(np.linalg.norm(drawn[np.isfinite(drawn).all(1)], axis=1), 1.0)
    assert (ds.status.values == Status.RECURRENT).all()


def test_table_tells_one_object_from_two_in_a_cell():
    from dynsys.attractors._grid import CellGrid
    from dynsys.attractors._table import Attractor, AttractorTable

    grid = CellGrid(np.array([0.1, 0.1]))
    table = AttractorTable(grid)

    def point(x):
        x = np.array(x)
        return Attractor("point", x=x, samples=x[None], cells=grid.unique_cells(x[None]))

    assert table.add(point([0.0, 0.0])) == 0
    assert table.add(point([1e-12, 0.0])) == 0  # the same point, described twice
    assert table.add(point([0.03, 0.0])) == 1  # another point in the same cell
    assert "refine cell_size" in table.items[0].notes[0]
    assert len(table.items[1].cells) == 0  # the cell stays with the first
    assert table.add(point([0.03, 0.0])) == 1  # known although it owns no cell


def test_gradient_descent_past_the_stability_limit_oscillates():
    # Gradient descent on V = (x^2 - 1)^2 / 4 + y^2 / 2 with step eta: the map
    # x -> (1 + eta) x - eta x^3, y -> (1 - eta) y. Its minima (+-1, 0) have multipliers
    # 1 - 2 eta and 1 - eta; past eta = 1 they period-double. The 2-cycle {x1, x2} has
    # x1 + x2 = s, x1 x2 = 1 / eta with s^2 = 1 + 3 / eta, and multiplier 9 - 2 (1 + eta)^2
    # along x (stable for 1 < eta < sqrt(5) - 1), (1 - eta)^2 along y.
    from dynsys.maps import gradient_descent_map
    from dynsys.models import double_well

    options = AttractorOptions(cell_size=0.01)
    seeds = [[0.5, 0.3], [-0.7, 0.1]]
    eta = 0.9
    ds = find_attractors(gradient_descent_map(double_well(), step=eta), seeds, options=options)
    assert ds.attractor_kind.values.tolist() == ["point", "point"]
    np.testing.assert_allclose(np.abs(ds.attractor_x.values), [[1, 0], [1, 0]], atol=1e-12)
    multipliers = np.sort(ds.attractor_eigenvalue_real.values, axis=1)
    np.testing.assert_allclose(multipliers, [[1 - 2 * eta, 1 - eta]] * 2, atol=1e-12)
    eta = 1.05
    ds = find_attractors(gradient_descent_map(double_well(), step=eta), seeds, options=options)
    assert ds.attractor_kind.values.tolist() == ["cycle", "cycle"]
    assert ds.attractor_period.values.tolist() == [2.0, 2.0]
    s, p = np.sqrt(1 + 3 / eta), 1 / eta
    pair = np.sort([(s - np.sqrt(s * s - 4 * p)) / 2, (s + np.sqrt(s * s - 4 * p)) / 2])
    for row, sign in zip((0, 1), np.sign(ds.attractor_x.values[:, 0]), strict=True):
        cycle = ds.attractor_samples.values[row]
        cycle = cycle[np.isfinite(cycle).all(axis=1)]
        np.testing.assert_allclose(np.sort(sign * cycle[:, 0]), pair, atol=1e-12)
        np.testing.assert_allclose(cycle[:, 1], 0.0, atol=1e-12)
    multipliers = np.sort(ds.attractor_eigenvalue_real.values, axis=1)
    expected = np.sort([9 - 2 * (1 + eta) ** 2, (1 - eta) ** 2])
    np.testing.assert_allclose(multipliers, [expected] * 2, atol=1e-12)
    assert ds.label.values.tolist() == [0, 1]
