"""Branches of periodic orbits (continue_cycle) against mathematics: the Stuart-Landau family born
at a Hopf point, the fold of cycles of the Bautin normal form, period doubling and
Neimark-Sacker points of systems built with exactly known multipliers, the Brusselator's Hopf
cycles, and the Lorenz cycles that end in the homoclinic explosion (the period grows without
bound; the homoclinic value is computed independently by shooting along the unstable manifold
of the origin)."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from dynsys import (
    ContinuationError,
    ContinuationOptions,
    InputError,
    InputTypeError,
    Map,
    Status,
    System,
    UnknownParameterError,
    continue_branch,
    explain,
    load,
    save,
)
from dynsys.continuation import continue_cycle
from dynsys.cycles import CycleOptions, find_periodic_orbit
from dynsys.models import bautin_normal_form, brusselator, lorenz, stuart_landau

SIGMA, BETA = 10.0, 8.0 / 3.0
R_HOPF = 470.0 / 19.0


def _radius(branch) -> np.ndarray:
    """The radius of every profile sample, ``(step, time)``."""
    return np.hypot(branch["x"].values[..., 0], branch["x"].values[..., 1])


# ---------------------------------------------------------------------------- Stuart-Landau
@pytest.fixture(scope="module")
def landau_branch():
    options = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.5)
    origin = continue_branch(stuart_landau(mu=-0.5, omega=2.0), [0.0, 0.0], "mu", options=options)
    return origin, continue_cycle(stuart_landau(omega=2.0), origin, "mu", options=options)


def test_stuart_landau_cycles_start_at_the_hopf_point_with_radius_sqrt_mu(landau_branch):
    origin, branch = landau_branch
    assert origin["special_type"].values.tolist() == ["H"]
    assert abs(float(origin["special_param"][0])) < 1e-12
    mu = branch["param"].values
    assert branch.attrs["start"] == "hopf" and branch.attrs["hopf_lyapunov"] < 0
    assert mu[0] > 0 and mu[0] < 1e-3  # the first cycle is next to the Hopf point
    assert np.all(np.diff(mu) > 0) and mu[-1] == pytest.approx(1.5, abs=1e-12)
    assert int(branch["status"][0]) == Status.PARAM_BOUND
    assert np.abs(_radius(branch) - np.sqrt(mu)[:, None]).max() < 1e-10
    np.testing.assert_allclose(branch["period"], np.pi, atol=1e-10)  # 2 pi / omega
    np.testing.assert_allclose(branch["amplitude"], 2 * np.sqrt(mu), atol=1e-9)


def test_stuart_landau_multipliers_and_stability_along_the_branch(landau_branch):
    _, branch = landau_branch
    mu = branch["param"].values
    exact = np.exp(-4 * np.pi * mu / 2.0)
    np.testing.assert_allclose(branch["multiplier_real"][:, 0], exact, rtol=1e-8)
    assert bool(branch["stable"].all()) and int(branch["unstable_multipliers"].max()) == 0
    assert float(branch["floquet_error"].max()) < 1e-9
    assert branch.sizes["special"] == 0  # no fold, doubling or torus on this branch


def test_the_cycle_branch_saves_and_loads(landau_branch, tmp_path):
    _, branch = landau_branch
    save(branch, tmp_path / "branch.nc")
    back = load(tmp_path / "branch.nc")
    np.testing.assert_array_equal(back["x"].values, branch["x"].values)
    assert back["stable"].dtype == bool and back.attrs["continuation_param"] == "mu"


# ---------------------------------------------------------------------------- fold of cycles
def test_bautin_fold_of_cycles_at_minus_beta_squared_over_four():
    beta = 0.8
    system = bautin_normal_form(mu=-0.1, beta=beta)
    r2 = (beta + np.sqrt(beta**2 - 0.4)) / 2  # the outer cycle at mu = -0.1
    cycle = find_periodic_orbit(system, [np.sqrt(r2), 0.0], 6.3)
    options = ContinuationOptions(ds_max=0.05, p_min=-0.5, p_max=0.1)
    branch = continue_cycle(system, cycle, "mu", options=options)
    types = branch["special_type"].values.tolist()
    assert types == ["H", "LPC"]  # the far end is the Hopf point at mu = 0
    lpc = types.index("LPC")
    assert int(branch["special_status"][lpc]) == Status.CONVERGED
    assert float(branch["special_param"][lpc]) == pytest.approx(-(beta**2) / 4, abs=1e-9)
    assert float(branch["special_amplitude"][lpc]) / 2 == pytest.approx(np.sqrt(beta / 2), abs=1e-6)
    assert float(branch["special_multiplier_real"][lpc]) == pytest.approx(1.0, abs=1e-6)
    # along the branch the cycles satisfy mu = R^4 - beta R^2 and have the exact multiplier
    radius, mu = _radius(branch).max(axis=1), branch["param"].values
    np.testing.assert_allclose(mu, radius**4 - beta * radius**2, atol=1e-9)
    exact = np.exp(2 * np.pi * (mu + 3 * beta * radius**2 - 5 * radius**4))
    np.testing.assert_allclose(branch["multiplier_real"][:, 0], exact, rtol=1e-6)
    # the inner cycles are unstable, the outer ones stable
    squared = radius**2
    assert set(np.unique(branch["stable"].values[squared > beta / 2 + 1e-3])) == {True}
    inner = (squared < beta / 2 - 1e-3) & (radius > 1e-3)  # not the end point (zero amplitude)
    assert set(np.unique(branch["stable"].values[inner])) == {False}
    # the inner family shrinks onto the origin: the branch ends at the Hopf point
    status = dict(zip(branch["end"].values, branch["status"].values, strict=True))
    assert status == {"backward": Status.HOPF_POINT, "forward": Status.PARAM_BOUND}
    assert explain(Status.HOPF_POINT).startswith("hopf_point")
    assert abs(float(branch["special_param"][0])) < 1e-9 and branch["amplitude"][0] < 1e-6


# ---------------------------------------------------------------------------- PD and NS
def _polar(z):
    x, y = z[..., 0], z[..., 1]
    r = np.sqrt(x * x + y * y)
    return x, y, z[..., 2], r, x / r, y / r


def mobius(alpha=-0.2, beta=-0.5, omega=1.0) -> System:
    """The circle r = 1, z = 0 (period 2 pi / omega) whose normal plane turns half a turn per
    period: in the frame turning with it the normal dynamics are w' = diag(alpha, beta) w -
    |w|^2 w, so the multipliers are -exp(2 pi alpha / omega), -exp(2 pi beta / omega): a period
    doubling at alpha = 0 exactly."""

    def f(z, p):
        x, y, zz, r, c, s = _polar(z)
        rho = r - 1.0
        a, b, w = p["alpha"], p["beta"], p["omega"]
        c2, s2, cs = 0.5 * (1 + c), 0.5 * (1 - c), 0.5 * s  # cos^2, sin^2, sin cos of theta/2
        cube = rho * rho + zz * zz
        drho = (a * c2 + b * s2) * rho + (a - b) * cs * zz - 0.5 * w * zz - cube * rho
        dz = (a - b) * cs * rho + (a * s2 + b * c2) * zz + 0.5 * w * rho - cube * zz
        return np.stack([drho * c - w * y, drho * s + w * x, dz], axis=-1)

    params = {"alpha": alpha, "beta": beta, "omega": omega}
    return System(f, ["x", "y", "z"], params, name="mobius", probe=[1.1, 0.2, 0.05])


def torus(alpha=-0.2, nu=0.3, omega=1.0) -> System:
    """The circle r = 1, z = 0 with normal dynamics (rho + i z)' = (alpha + i nu)(rho + i z) -
    |.|^2 (.): multipliers exp(2 pi (alpha +- i nu) / omega), a Neimark-Sacker point at
    alpha = 0 with angle 2 pi nu / omega."""

    def f(z, p):
        x, y, zz, r, c, s = _polar(z)
        rho = r - 1.0
        a, v, w = p["alpha"], p["nu"], p["omega"]
        cube = rho * rho + zz * zz
        drho = a * rho - v * zz - cube * rho
        dz = v * rho + a * zz - cube * zz
        return np.stack([drho * c - w * y, drho * s + w * x, dz], axis=-1)

    params = {"alpha": alpha, "nu": nu, "omega": omega}
    return System(f, ["x", "y", "z"], params, name="torus", probe=[1.1, 0.2, 0.05])


def transverse_pitchfork(alpha=-0.2, omega=1.0) -> System:
    """The circle r = 1, z = 0 with z' = alpha z - z^3 + 0.3 (r - 1) z: the symmetry z -> -z
    keeps it a cycle for all alpha, and at alpha = 0 the cycles z = +-sqrt(alpha) branch off
    (a multiplier exp(2 pi alpha / omega) crosses +1): a branch point of cycles."""

    def f(z, p):
        x, y, zz, r, c, s = _polar(z)
        rho = r - 1.0
        drho = -rho - rho**3
        dz = p["alpha"] * zz - zz**3 + 0.3 * rho * zz
        return np.stack([drho * c - p["omega"] * y, drho * s + p["omega"] * x, dz], axis=-1)

    params = {"alpha": alpha, "omega": omega}
    return System(f, ["x", "y", "z"], params, name="pitchfork", probe=[1.1, 0.2, 0.05])


def _continue_in_alpha(system):
    cycle = find_periodic_orbit(system, [1.0, 0.0, 0.0], 6.0, options=CycleOptions(ntst=20))
    options = ContinuationOptions(ds_max=0.05, p_min=-0.3, p_max=0.2)
    return continue_cycle(
        system, cycle, "alpha", options=options, cycle_options=CycleOptions(ntst=20), direction=1
    )


def test_period_doubling_at_its_exact_parameter_with_multiplier_minus_one():
    omega = 1.0
    branch = _continue_in_alpha(mobius(omega=omega))
    assert branch["special_type"].values.tolist() == ["PD"]
    assert int(branch["special_status"][0]) == Status.CONVERGED
    assert abs(float(branch["special_param"][0])) < 1e-9
    assert float(branch["special_multiplier_real"][0]) == pytest.approx(-1.0, abs=1e-9)
    assert float(branch["special_period"][0]) == pytest.approx(2 * np.pi / omega, abs=1e-9)
    T = 2 * np.pi / omega
    alpha = branch["param"].values
    mu = branch["multiplier_real"].values  # largest modulus first
    expected = -np.sort(np.exp(np.stack([alpha, np.full_like(alpha, -0.5)], 1) * T), axis=1)[
        :, ::-1
    ]
    np.testing.assert_allclose(mu, expected, rtol=1e-7)
    assert np.all(branch["stable"].values == (alpha < 0))


def test_neimark_sacker_at_its_exact_parameter_and_angle():
    nu, omega = 0.3, 1.0
    branch = _continue_in_alpha(torus(nu=nu, omega=omega))
    assert branch["special_type"].values.tolist() == ["NS"]
    assert abs(float(branch["special_param"][0])) < 1e-9
    critical = complex(branch["special_multiplier_real"][0], branch["special_multiplier_imag"][0])
    assert abs(critical) == pytest.approx(1.0, abs=1e-9)
    assert np.angle(critical) == pytest.approx(2 * np.pi * nu / omega, abs=1e-8)
    assert int(branch["unstable_multipliers"][-1]) == 2


def test_branch_point_of_cycles_at_its_exact_parameter():
    branch = _continue_in_alpha(transverse_pitchfork())
    assert branch["special_type"].values.tolist() == ["BP"]  # not mistaken for a fold
    assert int(branch["special_status"][0]) == Status.CONVERGED
    assert abs(float(branch["special_param"][0])) < 1e-9
    assert float(branch["special_multiplier_real"][0]) == pytest.approx(1.0, abs=1e-9)
    alpha = branch["param"].values
    transverse = branch["multiplier_real"].values.max(axis=1)
    np.testing.assert_allclose(transverse, np.exp(2 * np.pi * alpha), rtol=1e-7)


# ---------------------------------------------------------------------------- Brusselator
def test_brusselator_cycles_from_the_hopf_point_at_b_equal_1_plus_a_squared():
    a = 1.0
    options = ContinuationOptions(ds_max=0.2, p_min=1.0, p_max=3.0)
    eq = continue_branch(brusselator(a=a, b=1.5), [a, 1.5 / a], "b", options=options)
    assert float(eq["special_param"][0]) == pytest.approx(1 + a**2, abs=1e-10)
    branch = continue_cycle(brusselator(a=a), eq, "b", options=options.replace(ds_max=0.1))
    assert branch["param"].values[0] > 1 + a**2  # supercritical: cycles for b > 1 + a^2
    assert float(branch["period"][0]) == pytest.approx(2 * np.pi / a, rel=1e-3)
    assert bool(branch["stable"].all()) and int(branch["status"][0]) == Status.PARAM_BOUND
    assert branch.sizes["special"] == 0
    # a point of the branch is a cycle: the orbit from it returns after one period
    k = branch.sizes["step"] - 1
    x0 = branch["x"].values[k, 0]
    p = {"a": a, "b": float(branch["param"][k])}
    sol = solve_ivp(
        lambda t, z: brusselator().f(z, p),
        (0, float(branch["period"][k])),
        x0,
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_allclose(sol.y[:, -1], x0, atol=1e-7)


# ---------------------------------------------------------------------------- Lorenz
def lorenz_homoclinic_r() -> float:
    """The r where the unstable manifold of the origin returns to it, by bisection: below it
    the branch x > 0 of the manifold stays at x > 0, above it crosses to x < 0."""

    def crosses(r):
        lam = (-(SIGMA + 1) + np.sqrt((SIGMA + 1) ** 2 + 4 * SIGMA * (r - 1))) / 2
        v = np.array([SIGMA, lam + SIGMA, 0.0])
        system = lorenz(r=r)

        def event(t, z):
            return z[0]

        event.terminal = True
        sol = solve_ivp(
            lambda t, z: system.f(z),
            (0, 6),
            1e-10 * v / np.linalg.norm(v),
            method="DOP853",
            rtol=1e-12,
            atol=1e-16,
            events=event,
        )
        return sol.t_events[0].size > 0 and sol.t_events[0][0] > 0.5

    low, high = 13.5, 14.5
    while high - low > 1e-8:
        mid = 0.5 * (low + high)
        low, high = (low, mid) if crosses(mid) else (mid, high)
    return 0.5 * (low + high)


@pytest.fixture(scope="module")
def lorenz_cycles():
    c = np.sqrt(BETA * (24.0 - 1))
    options = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
    eq = continue_branch(lorenz(r=24.0), [c, c, 23.0], "r", options=options)
    cycle_options = CycleOptions(period_max=10.0)
    opts = ContinuationOptions(ds=0.01, ds_max=1.0, p_min=0.0, p_max=30.0, max_points=400)
    return eq, continue_cycle(lorenz(), eq, "r", options=opts, cycle_options=cycle_options)


def test_lorenz_cycles_born_at_the_subcritical_hopf_point(lorenz_cycles):
    eq, branch = lorenz_cycles
    assert float(eq["special_param"][0]) == pytest.approx(R_HOPF, abs=1e-8)
    assert branch.attrs["hopf_lyapunov"] > 0  # subcritical: unstable cycles below r_H
    r = branch["param"].values
    assert r[0] < R_HOPF and np.all(np.diff(r) < 0)
    omega = np.sqrt(BETA * (R_HOPF + SIGMA))
    assert float(branch["period"][0]) == pytest.approx(2 * np.pi / omega, rel=1e-4)
    assert not bool(branch["stable"].any())  # one multiplier outside the unit circle throughout
    assert branch.sizes["special"] == 0  # no fold, branch point, doubling or torus


def test_lorenz_cycles_end_at_the_homoclinic_orbit_with_a_period_bound(lorenz_cycles):
    _, branch = lorenz_cycles
    assert int(branch["status"][0]) == Status.PERIOD_BOUND
    assert float(branch["period"][-1]) == pytest.approx(10.0, abs=1e-9)
    assert np.all(np.diff(branch["period"].values) > 0)
    r_last = float(branch["param"][-1])
    assert abs(r_last - 13.9266) < 1e-3  # the literature's value, to its digits
    assert abs(r_last - lorenz_homoclinic_r()) < 1e-6  # shooting, independently
    # the mesh followed the cycle: it crowds where the orbit is fast, far from the origin
    h = np.diff(branch["mesh"].values[-1])
    assert h.max() / h.min() > 10
    # the multipliers stay meaningful: one outside the unit circle all along; the flow direction
    # is carried accurately until the cycle lingers long next to the saddle (|f| tiny there)
    assert np.all(branch["unstable_multipliers"].values == 1)
    short = branch["period"].values < 3
    assert float(branch["floquet_error"].values[short].max()) < 1e-6


# ---------------------------------------------------------------------------- bad input
def test_bad_starts_are_named():
    system = stuart_landau()
    cycle = find_periodic_orbit(system, [1.0, 0.0], 6.0)
    with pytest.raises(UnknownParameterError, match="nu"):
        continue_cycle(system, cycle, "nu")
    with pytest.raises(InputTypeError, match="Dataset"):
        continue_cycle(system, np.zeros(2), "mu")
    with pytest.raises(InputTypeError, match="CycleOptions"):
        continue_cycle(system, cycle, "mu", cycle_options={"ntst": 10})
    with pytest.raises(InputError, match="direction"):
        continue_cycle(system, cycle, "mu", direction=2)
    with pytest.raises(InputError, match="outside"):
        continue_cycle(system, cycle, "mu", options=ContinuationOptions(p_max=0.5))
    failed = find_periodic_orbit(stuart_landau(mu=-1.0), [1.0, 0.0], 6.0)
    with pytest.raises(InputError, match="no cycle"):
        continue_cycle(system, failed, "mu")
    origin = continue_branch(
        stuart_landau(mu=-1.0), [0.0, 0.0], "mu", options=ContinuationOptions(p_max=-0.5)
    )
    with pytest.raises(InputError, match="no Hopf point"):
        continue_cycle(system, origin, "mu")
    with pytest.raises(InputError, match="continued in 'mu'"):
        continue_cycle(system, origin, "omega")
    logistic = Map(lambda x, p: p["a"] * x * (1 - x), ["x"], {"a": 3.2})
    with pytest.raises(InputTypeError, match="is a Map"):
        continue_cycle(logistic, cycle, "a")


def test_a_start_where_there_is_no_cycle_is_a_continuation_error():
    system = stuart_landau()
    cycle = find_periodic_orbit(system, [1.0, 0.0], 6.0)
    with pytest.raises(ContinuationError, match="no cycle found at the start"):
        continue_cycle(system, cycle, "mu", params={"mu": -1.0})


def test_a_state_bound_ends_the_branch():
    system = stuart_landau(mu=0.25)
    cycle = find_periodic_orbit(system, [0.5, 0.0], 6.0, options=CycleOptions(ntst=20))
    options = ContinuationOptions(ds_max=0.1, x_max=1.0)
    branch = continue_cycle(
        system, cycle, "mu", options=options, cycle_options=CycleOptions(ntst=20), direction=1
    )
    assert int(branch["status"][0]) == Status.STATE_BOUND
    assert float(np.abs(branch["x"]).max()) <= 1.0
