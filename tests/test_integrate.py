"""Tests of dynsys.integrate against mathematics: exact solutions, matrix exponentials, order of
convergence, closed forms of gradient-descent iterations, and scipy's solve_ivp."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import solve_ivp

from dynsys._status import Status
from dynsys.errors import UnknownParameterError
from dynsys.integrate import FlowOptions, flow, trajectory
from dynsys.models.classic import bratu, double_well, duffing
from dynsys.system import GradientSystem, System

RK_METHODS = ["dopri5", "dop853"]
ORDERS = {"dopri5": 5, "dop853": 8}

# x' = A x with a damped rotation: x(t) = expm(t A) x0
A_DAMPED = np.array([[-0.5, 2.0], [-2.0, -0.5]])


def linear_system(A: np.ndarray) -> System:
    A = np.asarray(A, dtype=float)
    return System(
        lambda x, p: x @ A.T,
        A.shape[0],
        jac=lambda x, p: np.broadcast_to(A, (*x.shape[:-1], *A.shape)).copy(),
        name="linear",
    )


def oscillator() -> System:
    """Harmonic oscillator q'' = -k q: q = q0 cos(wt) + v0/w sin(wt), w = sqrt(k)."""

    def f(x, p):
        return np.stack([x[..., 1], -p["k"] * x[..., 0]], axis=-1)

    return System(f, ["q", "v"], {"k": 1.0}, name="oscillator")


def oscillator_exact(x0, t, k=1.0):
    w = np.sqrt(k)
    q0, v0 = x0
    return np.array(
        [q0 * np.cos(w * t) + v0 / w * np.sin(w * t), -q0 * w * np.sin(w * t) + v0 * np.cos(w * t)]
    )


def blowup() -> System:
    """x' = x^2: x(t) = x0 / (1 - x0 t), infinite at t = 1/x0 for x0 > 0."""
    return System(lambda x, p: x**2, ["x"], jac=lambda x, p: 2.0 * x[..., None], name="blowup")


def duffing_reference(system, x0, t_end):
    p = system.resolve_params()
    sol = solve_ivp(
        lambda t, y: system.f(y, p), (0.0, t_end), x0, method="DOP853", rtol=1e-9, atol=1e-12
    )
    return sol.y[:, -1]


# ------------------------------------------------------------------------------ flow: accuracy
@pytest.mark.parametrize("method", RK_METHODS)
def test_flow_duffing_batch_matches_solve_ivp(method):
    system = duffing()
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-2.0, 2.0, size=(2000, 2))
    opts = FlowOptions(method=method, t_max=10.0, rtol=1e-9, atol=1e-11)
    ds = flow(system, x0, options=opts)
    assert np.all(ds.status.values == Status.TIME_LIMIT)
    assert np.all(ds.t_final.values == 10.0)  # the last step lands exactly on t_max
    np.testing.assert_array_equal(ds.x0.values, x0)
    subset = rng.choice(2000, size=100, replace=False)
    ref = np.array([duffing_reference(system, x0[i], 10.0) for i in subset])
    assert np.abs(ds.x_final.values[subset] - ref).max() < 1e-6


@pytest.mark.parametrize("method", RK_METHODS)
def test_flow_order_of_convergence_with_fixed_steps(method):
    # Huge tolerances accept every step; max_step = first_step then fixes the step size.
    x0 = np.array([[1.0, 0.0], [0.3, -0.7]])
    exact = x0 @ scipy.linalg.expm(A_DAMPED).T
    steps = 0.5 ** np.arange(3, 7) if method == "dopri5" else 0.5 ** np.arange(1, 4)
    errors = []
    for h in steps:
        opts = FlowOptions(method=method, t_max=1.0, rtol=1e3, atol=1e3, first_step=h, max_step=h)
        ds = flow(linear_system(A_DAMPED), x0, options=opts)
        assert np.all(ds.n_steps.values == round(1.0 / h))
        errors.append(np.abs(ds.x_final.values - exact).max())
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - ORDERS[method]) < 0.6, (slope, errors)


@pytest.mark.parametrize("method", RK_METHODS)
def test_flow_error_decreases_with_tolerance(method):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 3)) - 1.5 * np.eye(3)
    x0 = rng.normal(size=(20, 3))
    exact = x0 @ scipy.linalg.expm(4.0 * A).T
    errors = []
    for tol in [1e-4, 1e-6, 1e-8, 1e-10]:
        ds = flow(
            linear_system(A), x0, options=FlowOptions(method=method, t_max=4.0, rtol=tol, atol=tol)
        )
        errors.append(np.abs(ds.x_final.values - exact).max())
        assert errors[-1] < 100 * tol
    assert all(b < a / 5 for a, b in itertools.pairwise(errors)), errors


def test_flow_conserves_duffing_energy_without_damping():
    # params override: delta = 0 makes H = v^2/2 + alpha x^2/2 + beta x^4/4 a first integral.
    system = duffing()
    x0 = np.random.default_rng(2).uniform(-1.5, 1.5, size=(300, 2))
    ds = flow(
        system, x0, params={"delta": 0.0}, options=FlowOptions(t_max=20.0, rtol=1e-10, atol=1e-12)
    )

    def energy(x):
        return 0.5 * x[:, 1] ** 2 - 0.5 * x[:, 0] ** 2 + 0.25 * x[:, 0] ** 4

    np.testing.assert_allclose(energy(ds.x_final.values), energy(x0), atol=1e-7)
    assert ds.attrs["param_delta"] == 0.0


# ------------------------------------------------------------------------------ flow: stopping
def test_flow_bad_orbits_do_not_disturb_the_others():
    system = duffing()
    rng = np.random.default_rng(3)
    x0 = rng.uniform(-2.0, 2.0, size=(400, 2))
    opts = FlowOptions(
        t_max=10.0, rtol=1e-8, atol=1e-10, escape_radius=1e3, save_times=np.linspace(0.0, 10.0, 6)
    )
    clean = flow(system, x0, options=opts)
    mixed = x0.copy()
    nan_rows = np.arange(0, 400, 7)
    far_rows = np.setdiff1d(np.arange(3, 400, 11), nan_rows)
    mixed[nan_rows, 1] = np.nan
    mixed[far_rows] = [5e3, 0.0]
    ds = flow(system, mixed, options=opts)
    assert np.all(ds.status.values[nan_rows] == Status.NONFINITE)
    assert np.all(ds.status.values[far_rows] == Status.ESCAPED)
    good = np.ones(400, dtype=bool)
    good[nan_rows] = good[far_rows] = False
    for name in ["x_final", "t_final", "n_steps", "n_rejected", "x_saved", "status"]:
        np.testing.assert_array_equal(ds[name].values[good], clean[name].values[good])


def test_flow_blowup_escapes_at_the_singular_time():
    x0 = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, np.nan])[:, None]
    opts = FlowOptions(t_max=3.0, rtol=1e-10, atol=1e-12, escape_radius=1e6)
    ds = flow(blowup(), x0, options=opts)
    status = ds.status.values
    np.testing.assert_array_equal(status[:3], Status.TIME_LIMIT)
    np.testing.assert_array_equal(status[3:7], Status.ESCAPED)
    assert status[7] == Status.NONFINITE
    finite = x0[:3, 0]
    np.testing.assert_allclose(ds.x_final.values[:3, 0], finite / (1 - 3.0 * finite), rtol=1e-8)
    # the escape happens where x0 / (1 - x0 t) = 1e6, i.e. just before t = 1/x0
    t_escape = 1.0 / x0[3:7, 0] - 1e-6
    np.testing.assert_allclose(ds.t_final.values[3:7], t_escape, rtol=1e-5)
    assert np.all(np.abs(ds.x_final.values[3:7, 0]) > 1e6)


def test_flow_double_well_converges_to_the_minimum_on_the_side_of_x0():
    system = double_well()
    rng = np.random.default_rng(4)
    x0 = rng.uniform(-2.0, 2.0, size=(500, 2))
    x0[:, 0] += np.where(x0[:, 0] >= 0, 0.05, -0.05)  # stay off the stable manifold x = 0
    tol = 1e-6
    ds = flow(system, x0, options=FlowOptions(t_max=100.0, converge_tol=tol))
    assert np.all(ds.status.values == Status.CONVERGED)
    assert np.all(ds.speed_final.values <= tol)
    assert np.all(ds.t_final.values < 100.0)
    target = np.stack([np.sign(x0[:, 0]), np.zeros(500)], axis=1)
    # near a minimum |f| >= lambda_min |x - x*| with lambda_min = 1 (first order)
    assert np.abs(ds.x_final.values - target).max() <= 1.1 * tol
    np.testing.assert_allclose(ds.energy_final.values, 0.0, atol=tol**2)


def test_flow_on_the_stable_manifold_converges_to_the_saddle():
    ds = flow(double_well(), [[0.0, 1.5]], options=FlowOptions(t_max=100.0, converge_tol=1e-9))
    assert ds.status.values[0] == Status.CONVERGED
    np.testing.assert_allclose(ds.x_final.values[0], [0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(ds.energy_final.values[0], 0.25, atol=1e-12)


def test_flow_start_at_equilibrium_converges_at_once():
    ds = flow(double_well(), [[1.0, 0.0]], options=FlowOptions(converge_tol=1e-12))
    assert ds.status.values[0] == Status.CONVERGED
    assert ds.n_steps.values[0] == 0 and ds.t_final.values[0] == 0.0


def test_flow_max_steps_and_step_underflow():
    system = duffing()
    ds = flow(system, [[1.5, 0.0]], options=FlowOptions(t_max=100.0, max_steps=5))
    assert ds.status.values[0] == Status.MAX_STEPS
    assert ds.n_steps.values[0] + ds.n_rejected.values[0] == 5
    # a stiff decay: explicit steps must stay below ~3.3/1000 for stability, min_step forbids it
    stiff = linear_system(np.array([[-1000.0]]))
    ds = flow(stiff, [[1.0]], options=FlowOptions(t_max=10.0, min_step=0.01, first_step=0.05))
    assert ds.status.values[0] == Status.STEP_UNDERFLOW


# ------------------------------------------------------------------------------ flow: saving
def test_flow_saved_states_follow_the_exact_solution():
    times = np.linspace(0.0, 6.0, 13)
    x0 = np.array([[1.0, 0.0], [0.0, 2.0], [-0.5, 0.5]])
    for method in RK_METHODS:
        opts = FlowOptions(method=method, t_max=6.0, rtol=1e-10, atol=1e-12, save_times=times)
        ds = flow(oscillator(), x0, options=opts)
        np.testing.assert_array_equal(ds.time.values, times)
        exact = np.stack([oscillator_exact(x, times).T for x in x0])
        np.testing.assert_allclose(ds.x_saved.values, exact, atol=1e-8)
        np.testing.assert_array_equal(ds.x_saved.values[:, -1], ds.x_final.values)


def test_flow_dense_output_is_fourth_order():
    # fixed steps (huge tolerances, max_step = first_step); save times fall inside the steps
    times = np.array([0.3, 0.7, 1.1, 1.45, 1.9])
    x0 = np.array([[1.0, 0.0], [0.3, -0.7]])
    exact = np.stack([x0 @ scipy.linalg.expm(t * A_DAMPED).T for t in times], axis=1)
    steps = 0.5 ** np.arange(2, 6)
    errors = []
    for h in steps:
        opts = FlowOptions(
            t_max=2.0, rtol=1e3, atol=1e3, first_step=h, max_step=h, save_times=times
        )
        ds = flow(linear_system(A_DAMPED), x0, options=opts)
        errors.append(np.abs(ds.x_saved.values - exact).max())
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert slope > 3.6, (slope, errors)


def test_flow_saves_are_nan_after_an_orbit_stops():
    times = np.linspace(0.0, 100.0, 101)
    opts = FlowOptions(t_max=100.0, converge_tol=1e-6, save_times=times)
    ds = flow(double_well(), [[0.5, 0.5]], options=opts)
    t_stop = ds.t_final.values[0]
    saved = ds.x_saved.values[0]
    assert 0 < t_stop < 100.0
    assert np.all(np.isnan(saved[times > t_stop]))
    assert np.all(np.isfinite(saved[times <= t_stop]))
    # along a gradient flow the potential decreases
    energy = ds.energy_saved.values[0][times <= t_stop]
    assert np.all(np.diff(energy) <= 0)


def test_flow_leading_shape_is_flattened_in_c_order():
    x0 = np.random.default_rng(5).uniform(-1, 1, size=(3, 4, 2))
    ds = flow(duffing(), x0, options=FlowOptions(t_max=1.0))
    assert ds.sizes == {"orbit": 12, "state": 2}
    np.testing.assert_array_equal(ds.x0.values, x0.reshape(12, 2))
    single = flow(duffing(), x0[1, 2], options=FlowOptions(t_max=1.0))
    np.testing.assert_array_equal(single.x_final.values[0], ds.x_final.values[6])


def test_flow_dataset_layout_and_progress_bar():
    opts = FlowOptions(t_max=2.0, converge_tol=1e-3)
    ds = flow(double_well(), [[0.5, 0.5], [-0.5, 0.1]], options=opts, progress=True)
    assert set(ds.data_vars) == {
        "x0",
        "x_final",
        "t_final",
        "status",
        "n_steps",
        "n_rejected",
        "speed_final",
        "energy_final",
    }
    assert ds.x_final.dims == ("orbit", "state")
    assert list(ds.state.values) == ["x", "y"]
    assert ds.status.dtype == np.int8 and "flag_meanings" in ds.status.attrs
    assert all("long_name" in ds[v].attrs for v in ds.data_vars)
    assert ds.attrs["system"] == "double_well" and ds.attrs["method"] == "dopri5"
    assert ds.attrs["converge_tol"] == 1e-3 and ds.attrs["n_calls"] > 0
    quiet = flow(double_well(), [[0.5, 0.5], [-0.5, 0.1]], options=opts)
    np.testing.assert_array_equal(quiet.x_final.values, ds.x_final.values)


# ------------------------------------------------------------------------------ gradient descent
@pytest.mark.parametrize("eta", [0.5, 0.1])
def test_gradient_descent_matches_the_closed_form_on_y(eta):
    # double well: y_{k+1} = y_k - eta y_k, so y_k = (1 - eta)^k y0
    # x <- x - eta (x^3 - x) keeps the sign of x for |x| < sqrt(1 + 2/eta) (>= sqrt(5))
    rng = np.random.default_rng(6)
    x0 = rng.uniform(-1.5, 1.5, size=(50, 2))
    x0[:, 0] += np.where(x0[:, 0] >= 0, 0.1, -0.1)
    if eta == 0.5:  # dyadic starts make every iterate exact
        x0 = np.round(x0 * 64) / 64
    tol = 1e-10
    opts = FlowOptions(method="gradient_descent", learning_rate=eta, converge_tol=tol, save_every=1)
    ds = flow(double_well(), x0, options=opts)
    assert np.all(ds.status.values == Status.CONVERGED)
    k = ds.iteration.values
    y_exact = x0[:, 1, None] * (1.0 - eta) ** k
    y_saved = ds.x_saved.values[:, :, 1]
    reached = k[None, :] <= ds.n_steps.values[:, None]
    assert np.all(np.isnan(y_saved[~reached]))
    if eta == 0.5:
        np.testing.assert_array_equal(y_saved[reached], y_exact[reached])
    else:
        np.testing.assert_allclose(y_saved[reached], y_exact[reached], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ds.x_final.values[:, 0], np.sign(x0[:, 0]), atol=tol)
    np.testing.assert_array_equal(ds.t_final.values, ds.n_steps.values * eta)
    # converged at the first iterate with |grad V| <= tol, not earlier
    grad = double_well().gradient
    rows = np.arange(50)
    before = ds.x_saved.values[rows, ds.n_steps.values - 1]
    assert np.all(np.linalg.norm(grad(before), axis=1) > tol)
    assert np.all(ds.speed_final.values <= tol)
    # the loss decreases along descent with eta < 2 / L (L = 3 x^2 - 1 <= 6.7 on |x| <= 1.6)
    if eta == 0.1:
        energy = ds.energy_saved.values
        assert np.all(np.diff(energy, axis=1)[reached[:, 1:]] <= 0)


def test_gradient_descent_on_a_general_system_is_explicit_euler():
    system = linear_system(np.array([[-1.0, 0.0], [0.0, -3.0]]))
    eta = 0.25
    opts = FlowOptions(method="gradient_descent", learning_rate=eta, t_max=2.0, save_every=2)
    ds = flow(system, [[1.0, 1.0]], options=opts)
    assert ds.status.values[0] == Status.TIME_LIMIT
    assert ds.n_steps.values[0] == 8 and ds.t_final.values[0] == 2.0
    k = ds.iteration.values
    np.testing.assert_array_equal(k, [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(ds.time.values, k * eta)
    exact = np.stack([(1 - eta) ** k, (1 - 3 * eta) ** k], axis=1)
    np.testing.assert_allclose(ds.x_saved.values[0], exact, rtol=1e-14)


def test_gradient_descent_escape_nonfinite_and_max_steps():
    # V = -x^2/2: x_k = (1 + eta)^k x0 runs away
    hill = GradientSystem(lambda x, p: -0.5 * (x**2).sum(-1), ["x"], grad=lambda x, p: -x)
    eta, radius = 0.5, 1e3
    x0 = np.array([[1.0], [np.nan], [-3.0], [0.0]])
    opts = FlowOptions(
        method="gradient_descent",
        learning_rate=eta,
        escape_radius=radius,
        converge_tol=1e-12,
        max_steps=40,
    )
    ds = flow(hill, x0, options=opts)
    np.testing.assert_array_equal(
        ds.status.values, [Status.ESCAPED, Status.NONFINITE, Status.ESCAPED, Status.CONVERGED]
    )
    for row in (0, 2):
        k = int(np.ceil(np.log(radius / abs(x0[row, 0])) / np.log(1 + eta)))
        assert ds.n_steps.values[row] == k
        assert ds.x_final.values[row, 0] == x0[row, 0] * (1 + eta) ** k
    slow = flow(
        hill,
        [[1.0]],
        options=FlowOptions(method="gradient_descent", learning_rate=1e-3, max_steps=7),
    )
    assert slow.status.values[0] == Status.MAX_STEPS and slow.n_steps.values[0] == 7


# ------------------------------------------------------------------------------ trajectory
@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_trajectory_harmonic_oscillator_is_exact(method):
    t = np.linspace(0.0, 10.0, 21)
    ds = trajectory(
        oscillator(),
        [1.0, 0.5],
        10.0,
        params={"k": 4.0},
        method=method,
        rtol=1e-10,
        atol=1e-12,
        t_eval=t,
    )
    assert ds.x.dims == ("time", "state")
    np.testing.assert_array_equal(ds.time.values, t)
    np.testing.assert_allclose(ds.x.values, oscillator_exact([1.0, 0.5], t, k=4.0).T, atol=1e-6)
    assert ds.attrs["status"] == 0 and ds.attrs["param_k"] == 4.0


@pytest.mark.parametrize("method", ["Radau", "BDF", "LSODA"])
def test_trajectory_gives_the_jacobian_to_implicit_methods(method):
    # a stiff linear system (eigenvalues -1 and -1000); count the calls of its Jacobian
    A = np.array([[-1000.0, 0.0], [1.0, -1.0]])
    calls = []

    def jac(x, p):
        calls.append(x.shape)
        return np.broadcast_to(A, (*x.shape[:-1], 2, 2)).copy()

    system = System(lambda x, p: x @ A.T, 2, jac=jac, name="stiff")
    calls.clear()
    x0 = np.array([1.0, 1.0])
    ds = trajectory(system, x0, 5.0, method=method, rtol=1e-9, atol=1e-12)
    assert ds.attrs["n_jacobian_calls"] > 0 and len(calls) > 0
    np.testing.assert_allclose(ds.x.values[-1], scipy.linalg.expm(5.0 * A) @ x0, atol=1e-8)


def test_trajectory_linear_system_matches_expm_and_backward_time():
    x0 = np.array([1.0, -1.0])
    ds = trajectory(linear_system(A_DAMPED), x0, (0.0, 3.0), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(ds.x.values[-1], scipy.linalg.expm(3.0 * A_DAMPED) @ x0, atol=1e-9)
    back = trajectory(linear_system(A_DAMPED), ds.x.values[-1], (3.0, 0.0), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(back.x.values[-1], x0, atol=1e-8)


def test_trajectory_energy_decreases_and_events_stop():
    ds = trajectory(double_well(), [0.1, 1.0], 20.0, method="Radau")
    assert np.all(np.diff(ds.energy.values) <= 1e-12)
    assert ds.attrs["n_jacobian_calls"] > 0

    def crosses_zero(t, x):
        return x[0]

    crosses_zero.terminal = True
    ev = trajectory(oscillator(), [1.0, 0.0], 10.0, events=crosses_zero, rtol=1e-10, atol=1e-12)
    assert ev.attrs["status"] == 1
    np.testing.assert_allclose(ev.t_event_0.values, [np.pi / 2], rtol=1e-9)
    np.testing.assert_allclose(ev.x_event_0.values, [[0.0, -1.0]], atol=1e-9)


def test_trajectory_reports_a_solver_failure_instead_of_raising():
    # x' = x^2 from x0 = 1 is infinite at t = 1: the solver stops there with status -1
    ds = trajectory(blowup(), [1.0], 2.0)
    assert ds.attrs["status"] == -1 and ds.attrs["message"]
    assert 0.999 < ds.time.values[-1] < 1.0 + 1e-6
    # the exact solution reaches x at time 1 - 1/x
    np.testing.assert_allclose(ds.time.values, 1.0 - 1.0 / ds.x.values[:, 0], atol=1e-6)


def test_trajectory_sparse_jacobian_with_bdf():
    # a stiff, sparse discretised Bratu problem relaxes to its lower steady state
    system = bratu(n=30, lam=1.0, sparse=True)
    ds = trajectory(system, np.zeros(30), 2.0, method="BDF", rtol=1e-8, atol=1e-10)
    assert ds.attrs["status"] == 0 and ds.attrs["n_jacobian_calls"] > 0
    assert np.abs(system.f(ds.x.values[-1])).max() < 1e-4


# ------------------------------------------------------------------------------ bad input
def test_bad_states_are_rejected_with_a_clear_error():
    with pytest.raises(ValueError, match=r"`x0` has shape \(5, 3\); expected \(\.\.\., 2\)"):
        flow(duffing(), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="`x0`"):
        flow(duffing(), 1.0)
    with pytest.raises(ValueError, match="one state of shape"):
        trajectory(duffing(), np.zeros((3, 2)), 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        trajectory(duffing(), [np.nan, 0.0], 1.0)
    with pytest.raises(ValueError, match="`t_span`"):
        trajectory(duffing(), [1.0, 0.0], (1.0, 1.0))
    with pytest.raises(ValueError, match="`method`"):
        trajectory(duffing(), [1.0, 0.0], 1.0, method="euler")
    with pytest.raises(TypeError, match="`options`"):
        flow(duffing(), [[1.0, 0.0]], options={"t_max": 1.0})
    with pytest.raises(UnknownParameterError):
        flow(duffing(), [[1.0, 0.0]], params={"gamma": 1.0})


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": "rk4"}, "method"),
        ({"t_max": 0.0}, "t_max"),
        ({"t_max": np.nan}, "t_max"),
        ({"rtol": 0.0}, "rtol"),
        ({"rtol": 1e-20}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"converge_tol": -1e-3}, "converge_tol"),
        ({"escape_radius": 0.0}, "escape_radius"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 10.5}, "max_steps"),
        ({"first_step": -0.1}, "first_step"),
        ({"min_step": 1.0, "max_step": 0.5}, "min_step"),
        ({"max_step": "big"}, "max_step"),
        ({"method": "gradient_descent"}, "learning_rate"),
        ({"method": "gradient_descent", "learning_rate": 0.0}, "learning_rate"),
        ({"save_times": [0.0, 2.0, 1.0]}, "save_times"),
        ({"save_times": [0.0, 200.0]}, "save_times"),
        ({"save_every": 10}, "save_every"),
        ({"method": "gradient_descent", "learning_rate": 0.1, "save_times": [1.0]}, "save_times"),
        ({"method": "gradient_descent", "learning_rate": 0.1, "save_every": 0}, "save_every"),
    ],
)
def test_bad_options_name_the_option(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        FlowOptions(**kwargs)


def test_options_normalise_values():
    opts = FlowOptions(converge_tol=0, save_times=np.array([0.0, 1.0]))
    assert opts.converge_tol is None
    assert opts.save_times == (0.0, 1.0)
    hash(opts)  # frozen and hashable


def test_converge_block_stops_on_the_largest_block_norm():
    # V = 1/2 sum lam_i x_i^2: descent iterates are x_k = (1 - eta lam)^k x0 exactly, so the
    # first iteration with max_j |grad_j| <= tol (blocks of two entries) is known in closed form.
    lam = np.array([1.0, 0.5, 1.0, 0.5])
    system = GradientSystem(lambda x, p: 0.5 * (x * x) @ lam, 4, grad=lambda x, p: x * lam)
    x0 = np.array([1.0, 1.0, 1.0, 1.0])  # two equal blocks: |grad|_2 = sqrt(2) max_j |grad_j|
    eta, tol = 0.1, 1e-6
    k = np.arange(2000)[:, None]
    grad = lam * (1.0 - eta * lam) ** k * x0
    blocks = np.linalg.norm(grad.reshape(-1, 2, 2), axis=2).max(axis=1)
    whole = np.linalg.norm(grad, axis=1)
    expected_block = int(np.argmax(blocks <= tol))
    expected_whole = int(np.argmax(whole <= tol))
    assert expected_block < expected_whole  # the two rules differ on this example
    for block, expected in ((2, expected_block), (None, expected_whole)):
        options = FlowOptions(
            method="gradient_descent",
            learning_rate=eta,
            converge_tol=tol,
            t_max=np.inf,
            converge_block=block,
        )
        ds = flow(system, x0, options=options)
        assert int(ds.status[0]) == Status.CONVERGED
        assert int(ds.n_steps[0]) == expected


def test_converge_block_must_divide_the_state_dimension():
    options = FlowOptions(method="gradient_descent", learning_rate=0.1, converge_block=3)
    with pytest.raises(ValueError, match="does not divide the state dimension 2"):
        flow(double_well(), [0.5, 0.5], options=options)
    with pytest.raises(ValueError, match="converge_block"):
        FlowOptions(converge_block=0)
