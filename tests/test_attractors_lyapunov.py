"""Lyapunov spectra by the QR method, checked against closed forms and literature values.

Statistical checks state their tolerance: an estimate must lie within 3 standard errors of the
known value, and the standard error itself must be small enough that the check can fail.
"""

import numpy as np
import pytest

from dynsys import InputError, InputTypeError, Status, System
from dynsys.attractors import LyapunovOptions, kaplan_yorke_dimension, lyapunov_spectrum
from dynsys.io import load, save
from dynsys.models import bistable_hopf, henon, logistic, lorenz

SIGMA, BETA = 10.0, 8.0 / 3.0
LORENZ_TRACE = -(SIGMA + 1.0 + BETA)
LORENZ_LAMBDA1 = 0.9056  # Sprott, Chaos and Time-Series Analysis (2003); also 0.906 elsewhere
HENON_LAMBDA1 = 0.41922  # Sprott (2003)


def lorenz_starts(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, 3)) * 5.0 + [0.0, 0.0, 25.0]


def test_lorenz_sum_of_exponents_is_the_trace():
    # The trace of the Lorenz Jacobian is -(sigma + 1 + beta) everywhere, so by Liouville's formula
    # log|det Y(t)| grows exactly like trace * t, and the QR factorization keeps prod |R_ii| =
    # |det Y| to rounding. The sum of the exponents is therefore exact up to the integration
    # error of Y alone (no statistical error at all): with rtol = 1e-10 and re-orthonormalization
    # every 0.1 (so that Y stays well conditioned, e^{(0.9 + 14.6) 0.1} ~ 5), the accumulated
    # error per unit time is ~1e-10, well inside 1e-6 for any run length.
    ds = lyapunov_spectrum(
        lorenz(), lorenz_starts(4), t_transient=2.0, t_total=10.0, dt_reorthonormalize=0.1
    )
    assert (ds.status.values == Status.CONVERGED).all()
    sums = ds.lyapunov_orbit.sum("exponent").values
    np.testing.assert_allclose(sums, LORENZ_TRACE, atol=1e-6)
    assert float(ds.lyapunov.sum()) == pytest.approx(LORENZ_TRACE, abs=1e-6)


def test_lorenz_largest_exponent():
    # 48 independent orbits of length 100 (each one batch): standard error ~0.0025, so the check
    # |lambda_1 - 0.9056| < 0.01 holds at about 4 standard errors when the method is right.
    ds = lyapunov_spectrum(
        lorenz(),
        lorenz_starts(48, seed=1),
        t_transient=10.0,
        t_total=100.0,
        dt_reorthonormalize=0.5,
        options=LyapunovOptions(rtol=1e-8, atol=1e-10, n_batches=1),
    )
    lam, se = ds.lyapunov.values, ds.lyapunov_stderr.values
    assert se[0] < 0.004
    assert abs(lam[0] - LORENZ_LAMBDA1) < 0.01
    assert abs(lam[0] - LORENZ_LAMBDA1) < 4 * se[0]
    assert abs(lam[1]) < 4 * se[1]  # the exponent along the flow
    # Kaplan-Yorke: 2 + lambda_1 / |lambda_3| (lambda_2 = 0) = 2.062 for the Lorenz attractor
    expected = 2 + (lam[0] + lam[1]) / abs(lam[2])
    assert float(ds.kaplan_yorke_dimension) == pytest.approx(expected, rel=1e-12)
    assert float(ds.kaplan_yorke_dimension) == pytest.approx(2.062, abs=0.002)
    # the running estimate ends at the orbit's estimate
    np.testing.assert_allclose(
        ds.lyapunov_running.isel(checkpoint=-1).values, ds.lyapunov_orbit.values, rtol=1e-12
    )
    assert float(ds.time[-1]) == pytest.approx(100.0)


def test_henon_exponents():
    ds = lyapunov_spectrum(
        henon(a=1.4, b=0.3),
        np.random.default_rng(2).uniform(-0.1, 0.1, (8, 2)),
        t_transient=100,
        t_total=20_000,
        options=LyapunovOptions(n_batches=4),
    )
    lam, se = ds.lyapunov.values, ds.lyapunov_stderr.values
    assert se[0] < 0.003
    assert abs(lam[0] - HENON_LAMBDA1) <= 3 * se[0]
    # det Dg = -b at every point: the sum is log b to rounding, orbit by orbit
    np.testing.assert_allclose(ds.lyapunov_orbit.sum("exponent"), np.log(0.3), atol=1e-10)


def test_logistic_map_at_r4_has_exponent_log2():
    ds = lyapunov_spectrum(
        logistic(r=4.0), np.random.default_rng(3).uniform(0.05, 0.95, 8), t_total=20_000
    )
    lam, se = float(ds.lyapunov[0]), float(ds.lyapunov_stderr[0])
    assert se < 0.005
    assert abs(lam - np.log(2.0)) <= 3 * se
    assert float(ds.kaplan_yorke_dimension) == 1.0  # one positive exponent of one


def test_stable_fixed_point_of_a_map_gives_log_multipliers():
    # Henon at a = 0.2: the fixed point x = (-(1 - b) + sqrt((1 - b)^2 + 4 a)) / (2 a), y = b x
    # attracts; its multipliers solve mu^2 + 2 a x mu - b = 0.
    a, b = 0.2, 0.3
    x = (-(1 - b) + np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a)
    mu = np.roots([1.0, 2 * a * x, -b])
    expected = np.sort(np.log(np.abs(mu)))[::-1]
    assert expected[0] < 0
    ds = lyapunov_spectrum(henon(a=a, b=b), [[x + 0.01, b * x]], t_transient=200, t_total=2000)
    np.testing.assert_allclose(ds.lyapunov.values, expected, atol=1e-9)
    assert float(ds.kaplan_yorke_dimension) == 0.0


def test_stable_focus_of_a_flow_gives_real_parts():
    # the origin of the bistable Hopf normal form: eigenvalues mu +- i
    # (near the origin the Jacobian differs from the linearization by O(r^2): start at r = 1e-4)
    mu = -0.1
    ds = lyapunov_spectrum(
        bistable_hopf(mu), [[1e-4, 0.0]], t_transient=5.0, t_total=50.0, dt_reorthonormalize=0.5
    )
    np.testing.assert_allclose(ds.lyapunov.values, [mu, mu], atol=1e-7)


def test_a_limit_cycle_has_a_zero_and_its_floquet_exponent():
    # the stable cycle r^2 = (1 + sqrt(1 + 4 mu)) / 2: exponents 0 and mu + 3 r^2 - 5 r^4
    mu = -0.1
    r2 = (1 + np.sqrt(1 + 4 * mu)) / 2
    floquet = mu + 3 * r2 - 5 * r2**2
    start = [[np.sqrt(r2), 0.0]]
    ds = lyapunov_spectrum(
        bistable_hopf(mu), start, t_transient=5.0, t_total=100.0, dt_reorthonormalize=0.5
    )
    # on the cycle the rates differ from the Floquet exponents only by the change of the tangent
    # basis between the ends of the run (a bounded term, divided by t_total): ~1e-9 here. The
    # start is the radial Floquet direction itself; a coordinate basis would stay in it (the
    # method starts from a generic basis for this reason).
    np.testing.assert_allclose(ds.lyapunov.values, [0.0, floquet], atol=1e-7)
    assert ds.lyapunov.values.sum() == pytest.approx(floquet, abs=1e-6)


def test_fewer_exponents_than_states():
    ds = lyapunov_spectrum(lorenz(), lorenz_starts(2), n_exponents=1, t_transient=2.0, t_total=10.0)
    assert ds.sizes["exponent"] == 1
    assert 0.5 < float(ds.lyapunov[0]) < 1.4
    assert np.isnan(float(ds.kaplan_yorke_dimension))  # one positive exponent cannot decide it


def test_failed_orbits_are_reported_and_left_out():
    starts = [[0.1, 0.1], [np.nan, 0.0], [50.0, 50.0]]  # the last one escapes to infinity
    ds = lyapunov_spectrum(henon(), starts, t_transient=10, t_total=1000)
    assert ds.status.values.tolist() == [Status.CONVERGED, Status.NONFINITE, Status.ESCAPED]
    assert np.isnan(ds.lyapunov_orbit.values[1:]).all()
    np.testing.assert_allclose(ds.lyapunov.values, ds.lyapunov_orbit.values[0])
    assert ds.attrs["n_orbits_used"] == 1


def test_too_long_an_interval_warns():
    with pytest.warns(RuntimeWarning, match="Lower dt_reorthonormalize"):
        lyapunov_spectrum(
            lorenz(),
            lorenz_starts(1),
            t_transient=0.0,
            t_total=4.0,
            dt_reorthonormalize=2.0,
            options=LyapunovOptions(n_batches=2),
        )


def test_kaplan_yorke_dimension():
    assert kaplan_yorke_dimension([0.5, -0.2, -1.0]) == pytest.approx(2.3)
    assert kaplan_yorke_dimension([0.1, 0.05]) == 2.0
    assert kaplan_yorke_dimension([-0.1]) == 0.0
    assert np.isnan(kaplan_yorke_dimension([0.1, 0.05], n=3))
    assert np.isnan(kaplan_yorke_dimension([np.nan, -1.0]))


def test_bad_input():
    with pytest.raises(InputTypeError, match=r"System .* or Map"):
        lyapunov_spectrum("lorenz", [1.0, 2.0, 3.0])
    with pytest.raises(InputTypeError, match="LyapunovOptions"):
        lyapunov_spectrum(lorenz(), [1.0, 2.0, 3.0], options={"rtol": 1e-8})
    with pytest.raises(InputError, match=r"expected \(\.\.\., 3\)"):
        lyapunov_spectrum(lorenz(), [1.0, 2.0])
    with pytest.raises(InputError, match="n_exponents"):
        lyapunov_spectrum(lorenz(), [1.0, 2.0, 3.0], n_exponents=4)
    with pytest.raises(InputError, match="t_total"):
        lyapunov_spectrum(lorenz(), [1.0, 2.0, 3.0], t_total=-1.0)
    with pytest.raises(InputError, match="counts iterations"):
        lyapunov_spectrum(henon(), [0.1, 0.1], t_total=10.5)
    with pytest.raises(InputError, match="multiples"):
        lyapunov_spectrum(henon(), [0.1, 0.1], t_total=1000, dt_reorthonormalize=3)
    with pytest.raises(InputError, match="batches"):
        lyapunov_spectrum(henon(), [0.1, 0.1], t_total=5)
    with pytest.raises(InputError, match="exceeds `t_total`"):
        lyapunov_spectrum(lorenz(), [1.0, 2.0, 3.0], t_total=1.0, dt_reorthonormalize=2.0)


def test_result_saves_and_loads(tmp_path):
    ds = lyapunov_spectrum(henon(), [[0.1, 0.1], [0.0, 0.2]], t_total=500)
    path = tmp_path / "lyapunov.nc"
    save(ds, path)
    back = load(path)
    np.testing.assert_array_equal(back.lyapunov.values, ds.lyapunov.values)
    assert back.status.values.tolist() == ds.status.values.tolist()


def test_a_general_system_without_analytic_jacobian():
    # a linear flow x' = A x with finite-difference Jacobian: exponents are the real parts
    A = np.array([[-0.5, 2.0], [-2.0, -0.5]])
    linear = System(lambda x, p: x @ A.T, 2, name="linear")
    ds = lyapunov_spectrum(linear, [[1.0, 0.0]], t_transient=1.0, t_total=20.0)
    np.testing.assert_allclose(ds.lyapunov.values, [-0.5, -0.5], atol=1e-6)
