"""Periodic orbits by collocation (dynsys.cycles): cycles, periods and Floquet multipliers against
closed forms (Stuart-Landau, Bautin), the literature (Van der Pol), the convergence order of the
method, and bad input."""

import numpy as np
import pytest

from dynsys import InputError, InputTypeError, Map, OptionError, Status, System, load, save
from dynsys.cycles import (
    Collocation,
    CycleOptions,
    collapsed,
    find_periodic_orbit,
    floquet_from_monodromy,
    floquet_multipliers,
)
from dynsys.errors import UnknownParameterError
from dynsys.models import bautin_normal_form, lorenz, stuart_landau, van_der_pol

VDP_PERIOD = 6.663286859323130  # Van der Pol, mu = 1 (e.g. Strogatz; AUTO and MatCont agree)


@pytest.mark.parametrize(("mu", "omega"), [(1.0, 1.0), (0.25, 2.0), (2.0, 0.5)])
def test_stuart_landau_cycle_radius_period_and_multiplier(mu, omega):
    cycle = find_periodic_orbit(
        stuart_landau(mu=mu, omega=omega), [1.3 * np.sqrt(mu), 0.1], 6.0 / omega
    )
    assert int(cycle.status) == Status.CONVERGED
    radius = np.hypot(cycle.x.sel(state="x"), cycle.x.sel(state="y"))
    assert float(abs(radius - np.sqrt(mu)).max()) < 1e-10
    assert float(cycle.period) == pytest.approx(2 * np.pi / omega, abs=1e-10)
    exact = np.exp(-4 * np.pi * mu / omega)
    assert float(cycle.multiplier_real[0]) == pytest.approx(exact, rel=1e-8)
    assert float(cycle.multiplier_imag[0]) == 0.0
    assert abs(float(cycle.trivial_multiplier) - 1.0) < 1e-10
    assert bool(cycle.stable)
    # extremes of the piecewise polynomial (between its nodes it is accurate to h^(ncol+1))
    assert float(cycle.amplitude) == pytest.approx(2 * np.sqrt(mu), abs=1e-9)
    np.testing.assert_allclose(cycle.x_max, np.sqrt(mu), atol=1e-9)


def test_van_der_pol_period_to_1e_8_with_an_honest_error_estimate():
    cycle = find_periodic_orbit(van_der_pol(mu=1.0), [2.0, 0.0], 6.5)
    error = abs(float(cycle.period) - VDP_PERIOD)
    assert error < 1e-8
    estimate = float(cycle.period_error_estimate)
    assert error / 10 < estimate < 10 * error  # the Richardson estimate has the right size
    assert float(cycle.amplitude) == pytest.approx(2 * 2.00861986087484, abs=1e-8)  # max x
    assert bool(cycle.stable)


def test_mesh_adaptation_moves_points_to_the_fast_parts_and_helps():
    system = van_der_pol(mu=5.0)  # relaxation oscillation: slow drifts, fast jumps
    uniform = find_periodic_orbit(system, [2.0, 0.0], 11.6, options=CycleOptions(adapt_passes=0))
    adapted = find_periodic_orbit(system, [2.0, 0.0], 11.6)
    reference = find_periodic_orbit(system, [2.0, 0.0], 11.6, options=CycleOptions(ntst=160))
    T = float(reference.period)
    assert abs(float(adapted.period) - T) < abs(float(uniform.period) - T) / 10
    h = np.diff(adapted.mesh.values)
    assert h.max() / h.min() > 3


@pytest.mark.parametrize("ncol", [2, 3])
def test_period_converges_at_the_superconvergent_order_2_ncol(ncol):
    system = van_der_pol(mu=1.0)
    errors = []
    for ntst in (20, 40, 80):
        options = CycleOptions(ntst=ntst, ncol=ncol, adapt_passes=0, error_estimate=False)
        cycle = find_periodic_orbit(system, [2.0, 0.0], 6.6, options=options)
        errors.append(abs(float(cycle.period) - VDP_PERIOD))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert orders[-1] == pytest.approx(2 * ncol, abs=0.3)  # h^(2 ncol), not h^(ncol + 1)


def test_collocation_jacobian_matches_finite_differences():
    system = lorenz(r=28.0)
    col = Collocation(system, ntst=6, ncol=3, mesh=np.array([0, 0.1, 0.3, 0.5, 0.6, 0.8, 1.0]))
    rng = np.random.default_rng(0)
    X = 5 + rng.normal(size=(col.points, 3))
    ref = X + 0.1 * rng.normal(size=X.shape)
    v = col.join(X, 1.3)
    J = col.jacobian(v, {"sigma": 10.0, "r": 28.0, "beta": 8 / 3}, reference=ref, param="r")
    J = J.toarray()
    p = {"sigma": 10.0, "r": 28.0, "beta": 8 / 3}
    eps = 1e-6
    for q in rng.choice(v.size, 12, replace=False):
        e = np.zeros(v.size)
        e[q] = eps
        fd = (col.residual(v + e, p, reference=ref) - col.residual(v - e, p, reference=ref)) / (
            2 * eps
        )
        np.testing.assert_allclose(J[:, q], fd, atol=1e-6)
    fd_r = (
        col.residual(v, {**p, "r": 28.0 + eps}, reference=ref)
        - col.residual(v, {**p, "r": 28.0 - eps}, reference=ref)
    ) / (2 * eps)
    np.testing.assert_allclose(J[:, -1], fd_r, atol=1e-6)


def test_bautin_inner_unstable_cycle_and_its_multiplier():
    mu, beta = -0.1, 1.0
    r2 = (beta - np.sqrt(beta**2 + 4 * mu)) / 2  # the inner, unstable cycle
    cycle = find_periodic_orbit(
        bautin_normal_form(mu=mu, beta=beta), [np.sqrt(r2) * 1.02, 0.0], 6.3
    )
    radius = np.hypot(cycle.x[:, 0], cycle.x[:, 1])
    assert float(abs(radius - np.sqrt(r2)).max()) < 1e-10
    exact = np.exp(2 * np.pi * (mu + 3 * beta * r2 - 5 * r2**2))
    assert exact > 1 and float(cycle.multiplier_real[0]) == pytest.approx(exact, rel=1e-8)
    assert not bool(cycle.stable)


def test_a_cycle_found_twice_around_is_reported_once_around():
    cycle = find_periodic_orbit(van_der_pol(), [2.0, 0.0], 2 * 6.66)
    assert float(cycle.period) == pytest.approx(VDP_PERIOD, abs=1e-8)


def test_a_rough_period_guess_is_refined_by_the_closest_return():
    cycle = find_periodic_orbit(van_der_pol(), [2.0, 0.0], 4.0)
    assert float(cycle.period) == pytest.approx(VDP_PERIOD, abs=1e-8)


def test_an_unstable_cycle_of_lorenz_is_found_with_its_multipliers():
    # the shortest periodic orbit of the Lorenz attractor at r = 28 (period 1.5586522)
    cycle = find_periodic_orbit(lorenz(), [-1.0, -1.0, 20.0], 1.0)
    assert float(cycle.period) == pytest.approx(1.5586522, abs=1e-6)
    mu = cycle.multiplier_real.values + 1j * cycle.multiplier_imag.values
    # Liouville: the product of all multipliers is exp(T trace) = exp(-(sigma + 1 + beta) T)
    product = float(np.prod(mu).real) * float(cycle.trivial_multiplier)
    assert product == pytest.approx(np.exp(-(11 + 8 / 3) * float(cycle.period)), rel=1e-5)
    assert abs(mu[0]) > 1 and not bool(cycle.stable)


def test_floquet_multipliers_of_a_saved_cycle(tmp_path):
    system = stuart_landau(mu=0.5, omega=1.5)
    cycle = find_periodic_orbit(system, [0.8, 0.0], 4.0)
    save(cycle, tmp_path / "cycle.nc")
    loaded = load(tmp_path / "cycle.nc")
    assert bool(loaded.stable) and int(loaded.status) == 0
    result = floquet_multipliers(system, loaded)
    assert result.nontrivial[0].real == pytest.approx(np.exp(-4 * np.pi * 0.5 / 1.5), rel=1e-8)
    assert result.stable and result.unstable_count == 0 and result.error < 1e-10


def test_floquet_split_from_a_monodromy_matrix():
    f = floquet_from_monodromy(np.array([[0.0, -2.0, 0], [2.0, 0.0, 0], [0, 0, 1.0]]))
    assert f.trivial == 1.0 and f.error == 0.0
    np.testing.assert_allclose(f.nontrivial, [2j, -2j], atol=1e-15)
    assert f.unstable_count == 2 and not f.stable


# ---------------------------------------------------------------------------- bad input
def test_a_guess_far_from_any_cycle_reports_failure_not_a_wrong_cycle():
    # mu < 0: the origin attracts everything, there is no cycle
    cycle = find_periodic_orbit(stuart_landau(mu=-1.0), [1.0, 0.0], 6.0)
    assert int(cycle.status) != Status.CONVERGED
    assert np.isnan(float(cycle.period)) and np.all(np.isnan(cycle.x))
    assert not bool(cycle.stable)
    assert cycle.attrs["message"] != "converged"
    far = find_periodic_orbit(van_der_pol(), [10.0, 10.0], 1.0)
    assert int(far.status) != Status.CONVERGED and np.isnan(float(far.period))


def test_a_profile_that_collapses_onto_an_equilibrium_is_not_a_cycle():
    # a guess on the focus of Van der Pol: a constant solves the equations for any period
    for x0 in ([0.0, 0.0], [1e-9, 0.0]):
        cycle = find_periodic_orbit(van_der_pol(mu=1.0), x0, 6.0)
        assert int(cycle.status) in (Status.SINGULAR_JACOBIAN, Status.MAX_ITER)
        assert np.isnan(float(cycle.period))
    col = Collocation(van_der_pol(), ntst=4, ncol=2)
    assert collapsed(col, np.full((col.points, 2), 3.0) + 1e-9, 1e-6)
    assert not collapsed(col, np.stack([np.cos(2 * np.pi * col.times)] * 2, -1), 1e-6)


@pytest.mark.parametrize("period", [0.0, -1.0, np.nan, np.inf, "six"])
def test_a_period_that_is_not_positive_is_an_input_error(period):
    with pytest.raises(InputError, match="period"):
        find_periodic_orbit(van_der_pol(), [2.0, 0.0], period)


def test_a_period_guess_beyond_period_max_is_an_input_error():
    with pytest.raises(InputError, match="period_max"):
        find_periodic_orbit(van_der_pol(), [2.0, 0.0], 6.6, options=CycleOptions(period_max=5.0))


def test_a_cycle_longer_than_period_max_is_reported():
    options = CycleOptions(period_max=6.65)
    cycle = find_periodic_orbit(van_der_pol(), [2.0, 0.0], 6.6, options=options)
    assert int(cycle.status) == Status.PERIOD_BOUND and np.isnan(float(cycle.period))


def test_a_map_is_refused_by_name():
    logistic = Map(lambda x, p: p["a"] * x * (1 - x), ["x"], {"a": 3.2})
    with pytest.raises(InputTypeError, match="is a Map"):
        find_periodic_orbit(logistic, [0.5], 2.0)


def test_bad_state_options_and_parameters_are_named():
    with pytest.raises(InputError, match="x0"):
        find_periodic_orbit(van_der_pol(), [2.0, 0.0, 1.0], 6.6)
    with pytest.raises(InputTypeError, match="CycleOptions"):
        find_periodic_orbit(van_der_pol(), [2.0, 0.0], 6.6, options={"ntst": 10})
    with pytest.raises(UnknownParameterError):
        find_periodic_orbit(van_der_pol(), [2.0, 0.0], 6.6, params={"nu": 1.0})
    with pytest.raises(OptionError, match="ncol"):
        CycleOptions(ncol=1)
    odd = find_periodic_orbit(van_der_pol(), [2.0, 0.0], 6.6, options=CycleOptions(ntst=41))
    assert np.isnan(float(odd.period_error_estimate)) and int(odd.status) == Status.CONVERGED
    assert "even ntst" in odd.attrs["period_error_method"]


def test_an_integration_that_blows_up_is_reported():
    blow = System(lambda x, p: np.stack([x[..., 0] ** 2, -x[..., 1]], -1), ["x", "y"])
    cycle = find_periodic_orbit(blow, [1.0, 1.0], 3.0)
    assert int(cycle.status) == Status.NONFINITE
    assert "integration" in cycle.attrs["message"]
