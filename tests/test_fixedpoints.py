"""Tests of dynsys.fixedpoints against equilibria and spectra known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

from dynsys._status import Status
from dynsys.errors import UnknownParameterError
from dynsys.fixedpoints import NewtonOptions, find_fixed_points
from dynsys.models import bratu, double_well, fold_normal_form, lorenz, mueller_brown
from dynsys.system import GradientSystem, System

SIGMA, R, BETA = 10.0, 28.0, 8.0 / 3.0


def lorenz_without_jacobian() -> System:
    def f(s, p):
        x, y, z = s[..., 0], s[..., 1], s[..., 2]
        return np.stack(
            [p["sigma"] * (y - x), p["r"] * x - y - x * z, x * y - p["beta"] * z], axis=-1
        )

    return System(f, ["x", "y", "z"], {"sigma": SIGMA, "r": R, "beta": BETA}, name="lorenz_fd")


def radial_gradient_system(g: np.polynomial.Polynomial, name: str) -> GradientSystem:
    """``V(x) = G(|x|^2)`` in the plane with ``G' = g``: grad ``2 g(s) x``, ``s = |x|^2``."""
    G, dg = g.integ(), g.deriv()

    def V(x, p):
        return G((x**2).sum(-1))

    def grad(x, p):
        return 2.0 * g((x**2).sum(-1))[..., None] * x

    def hess(x, p):
        s = (x**2).sum(-1)
        outer = x[..., :, None] * x[..., None, :]
        return 2.0 * g(s)[..., None, None] * np.eye(2) + 4.0 * dg(s)[..., None, None] * outer

    return GradientSystem(V, ["x", "y"], grad=grad, hess=hess, name=name)


def lorenz_spectra():
    c = np.sqrt(BETA * (R - 1.0))
    origin = np.concatenate([[-BETA], np.roots([1.0, SIGMA + 1.0, SIGMA * (1.0 - R)])])
    cubic = np.roots([1.0, SIGMA + BETA + 1.0, BETA * (SIGMA + R), 2 * SIGMA * BETA * (R - 1)])
    return c, origin, cubic


def sort_spectrum(lam):
    return lam[np.lexsort((-lam.imag, -lam.real))]


def spectra_of(ds):
    return ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values


# ---------------------------------------------------------------------------- Lorenz
@pytest.fixture(scope="module")
def lorenz_seeds():
    return np.random.default_rng(2024).uniform(-30.0, 30.0, size=(200, 3))


def test_lorenz_has_exactly_three_equilibria_with_analytic_spectra(lorenz_seeds):
    ds = find_fixed_points(lorenz(sigma=SIGMA, r=R, beta=BETA), lorenz_seeds)
    c, origin, cubic = lorenz_spectra()
    assert ds.sizes["point"] == 3
    expected = {(-c, -c, R - 1.0): cubic, (0.0, 0.0, 0.0): origin, (c, c, R - 1.0): cubic}
    for k, (point, spectrum) in enumerate(expected.items()):
        np.testing.assert_allclose(ds["x"].values[k], point, atol=1e-12 * c)
        np.testing.assert_allclose(spectra_of(ds)[k], sort_spectrum(spectrum), rtol=1e-8)
    assert ds["index"].values.tolist() == [2, 1, 2]
    assert ds["kind"].values.tolist() == ["saddle focus", "saddle", "saddle focus"]
    # the non-trivial points carry one complex-conjugate pair
    imag = ds["eigenvalue_imag"].values
    assert np.count_nonzero(np.abs(imag[[0, 2]]) > 1.0, axis=1).tolist() == [2, 2]
    assert np.all(ds["residual"].values <= 1e-10)
    assert ds.attrs["n_converged"] + ds.attrs["n_failed"] == 200
    assert int(ds["n_seeds"].sum()) == ds.attrs["n_converged"]
    assert np.all(ds["status"].values == Status.CONVERGED)
    assert ds.attrs["system"] == "lorenz" and ds.attrs["param_r"] == R


def test_lorenz_finite_difference_jacobian_matches_the_analytic_one(lorenz_seeds):
    fd_system = lorenz_without_jacobian()
    assert not fd_system.has_analytic_jacobian
    ds = find_fixed_points(fd_system, lorenz_seeds)
    assert ds.sizes["point"] == 3
    exact = lorenz(sigma=SIGMA, r=R, beta=BETA)
    points = ds["x"].values
    J_fd, J = fd_system.jac(points), exact.jac(points)
    assert np.abs(J_fd - J).max() <= 1e-6 * np.abs(J).max()
    _, origin, cubic = lorenz_spectra()
    for got, spectrum in zip(spectra_of(ds), [cubic, origin, cubic], strict=True):
        np.testing.assert_allclose(got, sort_spectrum(spectrum), rtol=1e-6)


# ---------------------------------------------------------------------------- gradient systems
def test_double_well_minima_saddle_and_exact_energies():
    seeds = np.random.default_rng(1).uniform(-2.0, 2.0, size=(60, 2))
    ds = find_fixed_points(double_well(), seeds)
    np.testing.assert_allclose(ds["x"].values, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    assert ds["kind"].values.tolist() == ["minimum", "minimum", "saddle-1"]
    assert ds["index"].values.tolist() == [0, 0, 1]
    np.testing.assert_allclose(ds["energy"].values, [0.0, 0.0, 0.25], atol=1e-15)
    assert ds["manifold"].values.tolist() == [-1, -1, -1] and ds.attrs["n_manifolds"] == 0


MB_MINIMA = [(-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467)]
MB_SADDLES = [(-0.822, 0.624), (0.212, 0.293)]


def test_mueller_brown_critical_points_in_the_box():
    box = [(-1.5, 1.2), (-0.5, 2.0)]
    grid = np.stack(np.meshgrid(np.linspace(*box[0], 30), np.linspace(*box[1], 30)), axis=-1)
    random = np.random.default_rng(7).uniform([-1.5, -0.5], [1.2, 2.0], size=(300, 2))
    seeds = np.concatenate([grid.reshape(-1, 2), random])
    ds = find_fixed_points(mueller_brown(), seeds, bounds=box)
    assert ds.sizes["point"] == 5
    found = dict(zip(map(tuple, ds["x"].values.round(3)), ds["kind"].values, strict=True))
    assert found == {**dict.fromkeys(MB_MINIMA, "minimum"), **dict.fromkeys(MB_SADDLES, "saddle-1")}
    # ordered by energy; every gradient vanishes
    assert np.all(np.diff(ds["energy"].values) > 0)
    assert np.all(ds["residual"].values < 1e-9)
    assert ds.attrs["n_seeds"] == 1200


def test_circle_of_equilibria_is_one_degenerate_manifold():
    # V = (|x|^2 - 1)^2 / 4: grad = (s - 1) x with s = |x|^2
    hat = radial_gradient_system(np.polynomial.Polynomial([-0.5, 0.5]), "mexican_hat")
    seeds = np.random.default_rng(0).uniform(-2.0, 2.0, size=(200, 2))
    ds = find_fixed_points(hat, seeds)
    on_circle = ds["kind"].values == "degenerate"
    assert on_circle.sum() > 10  # many distinct points of the one circle ...
    np.testing.assert_allclose(np.linalg.norm(ds["x"].values[on_circle], axis=1), 1.0, atol=1e-10)
    assert np.all(ds["nullity"].values[on_circle] == 1)
    assert np.all(ds["index"].values[on_circle] == 0)
    # ... all labelled as one manifold; the origin is an isolated maximum
    assert set(ds["manifold"].values[on_circle]) == {0} and ds.attrs["n_manifolds"] == 1
    origin = ~on_circle
    assert ds["kind"].values[origin].tolist() == ["maximum"]
    assert ds["manifold"].values[origin].tolist() == [-1]


def test_concentric_circles_are_separate_manifolds():
    # G'(s) = (s - 1)(s - 5/2)(s - 4) / 2: circles of equilibria at r = 1, sqrt(5/2), 2
    rings = radial_gradient_system(np.polynomial.Polynomial.fromroots([1.0, 2.5, 4.0]) / 2, "rings")
    seeds = np.random.default_rng(3).uniform(-2.5, 2.5, size=(300, 2))
    ds = find_fixed_points(rings, seeds)
    radius = np.linalg.norm(ds["x"].values, axis=1)
    labels = ds["manifold"].values
    assert ds.attrs["n_manifolds"] == 3
    ring_labels = []
    for r in (1.0, np.sqrt(2.5), 2.0):
        members = np.isclose(radius, r, atol=1e-9)
        assert members.sum() > 3
        ring_labels.append(set(labels[members].tolist()))
    assert sorted(ring_labels, key=min) == [{0}, {1}, {2}]
    assert radius[labels == -1].tolist() == [0.0]


# ---------------------------------------------------------------------------- deflation
def cubic_system() -> System:
    return System(
        lambda x, p: (x - 1.0) * (x - 2.0) * (x + 3.0),
        ["x"],
        jac=lambda x, p: (3.0 * x**2 - 7.0)[..., None],
        name="cubic",
    )


def test_deflation_finds_roots_the_seeds_miss():
    # from x > 2 Newton on a cubic with three real roots converges to the largest root
    seeds = np.linspace(5.0, 10.0, 20)
    plain = find_fixed_points(cubic_system(), seeds)
    assert plain["x"].values.ravel().tolist() == [2.0]
    deflated = find_fixed_points(cubic_system(), seeds, deflation=3)
    np.testing.assert_allclose(deflated["x"].values.ravel(), [-3.0, 1.0, 2.0], atol=1e-12)
    assert deflated["deflation_round"].values.tolist() == [1, 1, 0]
    assert deflated["n_seeds"].values.tolist() == [0, 0, 20]
    assert deflated.attrs["n_found_by_deflation"] == 2
    assert deflated.attrs["n_deflation_rounds_run"] == 2  # the second round found nothing
    # f' = 3x^2 - 7 at the roots: 20, -4, 5
    np.testing.assert_allclose(deflated["eigenvalue_real"].values.ravel(), [20.0, -4.0, 5.0])


def test_deflation_in_the_plane_from_one_basin():
    seeds = np.random.default_rng(4).normal([1.0, 0.0], 0.05, size=(10, 2))
    assert find_fixed_points(double_well(), seeds).sizes["point"] == 1
    ds = find_fixed_points(double_well(), seeds, deflation=True)
    np.testing.assert_allclose(ds["x"].values, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], atol=1e-12)


# ---------------------------------------------------------------------------- options and hooks
def test_bounds_drop_and_count_points_outside():
    seeds = np.random.default_rng(1).uniform(-2.0, 2.0, size=(60, 2))
    ds = find_fixed_points(double_well(), seeds, bounds=[(0.0, 2.0), (-1.0, 1.0)])
    np.testing.assert_allclose(ds["x"].values, [[1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    assert ds.attrs["n_outside_bounds"] == 1
    same = find_fixed_points(
        double_well(), seeds, bounds=scipy.optimize.Bounds([0.0, -1.0], [2.0, 1.0])
    )
    np.testing.assert_array_equal(same["x"].values, ds["x"].values)


def test_symmetry_merges_points_of_one_orbit():
    # the reflection x -> -x of the double well (a signed permutation); canonical forms have
    # x >= 0, so the two minima are one orbit
    from dynsys.symmetry import ExplicitGroup

    seeds = np.random.default_rng(1).uniform(-2.0, 2.0, size=(60, 2))
    plain = find_fixed_points(double_well(), seeds)
    ds = find_fixed_points(double_well(), seeds, symmetry=ExplicitGroup([[~0, 1]]))
    np.testing.assert_allclose(ds["x"].values, [[1.0, 0.0], [0.0, 0.0]], atol=1e-12)
    assert ds["n_seeds"].values[0] == plain["n_seeds"].values[:2].sum()
    assert ds.attrs["symmetry"] == "ExplicitGroup"


def test_params_override_and_provenance():
    ds = find_fixed_points(fold_normal_form(mu=1.0), [-3.0, 3.0], params={"mu": 4.0})
    np.testing.assert_allclose(ds["x"].values.ravel(), [-2.0, 2.0], atol=1e-12)
    assert ds["kind"].values.tolist() == ["source node", "sink node"]
    assert ds.attrs["param_mu"] == 4.0 and ds.attrs["tol"] == 1e-10
    assert ds["state"].values.tolist() == ["x"]


def test_degenerate_root_converges_and_is_non_hyperbolic():
    # x' = -x^2 at mu = 0: a double root, Newton converges linearly (halves x each step)
    ds = find_fixed_points(fold_normal_form(mu=0.0), [1.0, -0.7, 3.0])
    assert ds.sizes["point"] == 1
    assert abs(float(ds["x"].values[0, 0])) < 1e-9
    assert ds["kind"].values.tolist() == ["non-hyperbolic"]


def test_sparse_jacobian_solves_the_discrete_bratu_problem():
    n, lam = 30, 1.0
    seeds = [np.zeros(n), 4.0 * np.sin(np.pi * np.arange(1, n + 1) / (n + 1))]
    sparse = find_fixed_points(bratu(n=n, lam=lam, sparse=True), seeds)
    dense = find_fixed_points(bratu(n=n, lam=lam), seeds)
    assert bratu(n=n, lam=lam, sparse=True).jacobian_is_sparse
    np.testing.assert_allclose(sparse["x"].values, dense["x"].values, atol=1e-10)
    assert sparse.sizes["point"] == 2
    # continuum solutions u = -2 ln(cosh((t - 1/2) theta / 2) / cosh(theta / 4)),
    # theta = sqrt(2 lam) cosh(theta / 4); the grid is second-order accurate
    t = np.arange(1, n + 1) / (n + 1)
    for k, guess in enumerate([1.5, 10.0]):
        theta = scipy.optimize.brentq(
            lambda th: th - np.sqrt(2 * lam) * np.cosh(th / 4), guess - 1.4, guess + 2
        )
        u = -2.0 * np.log(np.cosh((t - 0.5) * theta / 2) / np.cosh(theta / 4))
        assert np.abs(sparse["x"].values[k] - u).max() < 0.05 * max(1.0, np.abs(u).max())
    assert sparse["kind"].values.tolist() == ["sink node", "saddle"]


def test_failures_are_counted_not_raised():
    # x' = x^2 + 1 has no real root; |f|^2 has a minimum at x = 0 where f' = 0
    no_root = System(lambda x, p: x**2 + 1.0, ["x"], jac=lambda x, p: 2.0 * x[..., None])
    ds = find_fixed_points(no_root, np.linspace(-3.0, 3.0, 7))
    assert ds.sizes["point"] == 0 and ds.attrs["n_failed"] == 7
    assert ds.attrs["n_singular_jacobian"] + ds.attrs["n_max_iter"] == 7
    # log x is NaN for x < 0: non-finite from the start
    log = System(lambda x, p: np.log(x), ["x"], jac=lambda x, p: 1.0 / x[..., None])
    with np.errstate(invalid="ignore"):
        ds = find_fixed_points(log, [-1.0, -2.0, 0.5])
    assert ds["x"].values.ravel().tolist() == [1.0]
    assert ds.attrs["n_nonfinite"] == 2
    few = find_fixed_points(lorenz(), [[20.0, -20.0, 5.0]], options=NewtonOptions(max_iter=2))
    assert few.attrs["n_max_iter"] == 1 and few.sizes["point"] == 0


@pytest.mark.parametrize("sparse", [False, True])
def test_exactly_singular_jacobian_without_a_step_is_flagged(sparse):
    # f = (x^2 + 1, y): at x = 0 the Jacobian [[0, 0], [0, 1]] is singular and J^T f = 0
    def f(s, p):
        return np.stack([s[..., 0] ** 2 + 1.0, s[..., 1]], axis=-1)

    def jac(s, p):
        J = np.zeros((*s.shape[:-1], 2, 2))
        J[..., 0, 0] = 2.0 * s[..., 0]
        J[..., 1, 1] = 1.0
        return scipy.sparse.csr_matrix(J) if sparse and s.ndim == 1 else J

    system = System(f, 2, jac=jac)
    assert system.jacobian_is_sparse == sparse
    ds = find_fixed_points(system, [[0.0, 0.5], [0.0, -3.0], [1.0, 1.0]])
    assert ds.attrs["n_singular_jacobian"] == 3 and ds.sizes["point"] == 0


def test_result_does_not_depend_on_seed_order():
    seeds = np.random.default_rng(9).uniform(-2.0, 2.0, size=(80, 2))
    a = find_fixed_points(mueller_brown(), seeds)
    b = find_fixed_points(mueller_brown(), seeds[::-1])
    np.testing.assert_allclose(a["x"].values, b["x"].values, atol=1e-12)
    assert a["kind"].values.tolist() == b["kind"].values.tolist()


def test_without_classification():
    ds = find_fixed_points(double_well(), [[0.9, 0.1], [-0.2, 0.1]], classify=False)
    assert "mode" not in ds.dims and "kind" not in ds and "energy" in ds
    assert set(ds.data_vars) >= {"x", "residual", "status", "n_seeds", "deflation_round"}


def test_damping_and_step_bound_still_converge():
    options = NewtonOptions(damping=0.5, max_step=5.0, max_iter=200)
    ds = find_fixed_points(lorenz(), [[10.0, 10.0, 10.0], [-25.0, 5.0, 40.0]], options=options)
    assert ds.attrs["n_converged"] == 2
    assert np.all(ds["residual"].values <= options.tol)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tol": 0.0}, "`tol`"),
        ({"step_tol": -1.0}, "`step_tol`"),
        ({"max_iter": 0}, "`max_iter`"),
        ({"max_iter": 2.5}, "`max_iter`"),
        ({"max_backtracks": -1}, "`max_backtracks`"),
        ({"armijo": 0.5}, "`armijo`"),
        ({"backtrack": 1.0}, "`backtrack`"),
        ({"damping": 0.0}, "`damping`"),
        ({"max_step": 0.0}, "`max_step`"),
        ({"deflation_power": 0.0}, "`deflation_power`"),
        ({"deflation_shift": -1.0}, "`deflation_shift`"),
    ],
)
def test_newton_options_reject_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        NewtonOptions(**kwargs)


def test_find_fixed_points_rejects_bad_input():
    system = double_well()
    with pytest.raises(ValueError, match=r"`seeds` has shape \(4, 3\)"):
        find_fixed_points(system, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`seeds` is empty"):
        find_fixed_points(system, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        find_fixed_points(system, [[np.inf, 0.0]])
    with pytest.raises(TypeError, match="`options` must be a NewtonOptions"):
        find_fixed_points(system, [0.0, 0.0], options={"tol": 1e-8})
    with pytest.raises(ValueError, match="`dedup_tol`"):
        find_fixed_points(system, [0.0, 0.0], dedup_tol=0.0)
    for bad in (-1, 1.5, "yes"):
        with pytest.raises(ValueError, match="`deflation`"):
            find_fixed_points(system, [0.0, 0.0], deflation=bad)
    with pytest.raises(ValueError, match=r"`bounds` has shape \(2,\); expected \(2, 2\)"):
        find_fixed_points(system, [0.0, 0.0], bounds=[0.0, 1.0])
    with pytest.raises(ValueError, match="low <= high"):
        find_fixed_points(system, [0.0, 0.0], bounds=[(1.0, 0.0), (0.0, 1.0)])
    with pytest.raises(TypeError, match=r"`symmetry` must be a dynsys\.symmetry\.StateGroup"):
        find_fixed_points(system, [0.0, 0.0], symmetry=object())
    with pytest.raises(UnknownParameterError):
        find_fixed_points(system, [0.0, 0.0], params={"K": 2.0})


def test_newton_takes_the_full_step_on_a_stiff_system():
    # x' = -x + y, y' = -(y - x^2)/1e-6: from points near the slow manifold y = x^2 the full
    # Newton step raises |f| (the curvature term 4e-5/1e-6) and is still right; backtracking on
    # |f| alone crawled for 50 iterations. The natural monotonicity test accepts it.
    from dynsys._newton import newton_batch, solver_for
    from dynsys.models import stiff_manifold

    system = stiff_manifold()
    p = system.resolve_params()
    starts = np.array([[0.9936754, 0.98739073], [0.5, 0.2], [0.3, 0.09], [1.5, 2.2]])
    run = newton_batch(lambda z: system.f(z, p), solver_for(system, p), starts, NewtonOptions())
    assert np.all(run.status == Status.CONVERGED)
    assert np.all(run.n_iter <= 10)
    np.testing.assert_allclose(run.x, [[1, 1], [0, 0], [0, 0], [1, 1]], atol=1e-12)
