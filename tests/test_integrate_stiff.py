"""Tests of the batched Rosenbrock method ``flow(method="rosenbrock23")`` on stiff systems: the
order conditions of the ode23s pair, its L-stability, global order 2, a stiff fold whose fates
are known exactly, Robertson's kinetics against Radau, batch independence, the statuses, the
options, and the stiff system's basins and graph through the arrival rule for implicit methods."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import solve_ivp

from dynsys import Status, System
from dynsys.basins import BasinOptions, basin_map
from dynsys.graph import GraphOptions, critical_point_graph
from dynsys.integrate import FLOW_METHODS, FlowOptions, flow
from dynsys.integrate._rosenbrock import _D, _Rosenbrock23, lu_factor, lu_solve

EPS = 1e-6
GRID = np.arange(-10, 11) / 5.0  # [-2, 2] in steps of 0.2, with 1.0 exactly on the grid


# ----------------------------------------------------------------------------- systems
def _stiff_f(x, p):
    u, v = x[..., 0], x[..., 1]
    return np.stack([-u + v, -(v - u**2) / EPS], axis=-1)


def _stiff_jac(x, p):
    J = np.zeros((*x.shape[:-1], 2, 2))
    J[..., 0, 0] = -1.0
    J[..., 0, 1] = 1.0
    J[..., 1, 0] = 2.0 * x[..., 0] / EPS
    J[..., 1, 1] = -1.0 / EPS
    return J


def stiff_fold():
    """x' = -x + y, y' = -(y - x^2)/1e-6: sink (0, 0), saddle (1, 1).

    The fast variable falls onto y = x^2 within ~1e-6, where x' = x (x - 1): x < 1 goes to the
    sink, x > 1 blows up in finite time (escapes). The saddle's stable manifold is the fast
    fibre x - 1 ~ -1e-6 (y - 1), so from x = 1 the sink is the fate exactly when y < 1.
    """
    return System(_stiff_f, ["x", "y"], jac=_stiff_jac, name="stiff_fold")


def grid_starts():
    return np.stack(np.meshgrid(GRID, GRID, indexing="ij"), axis=-1).reshape(-1, 2)


def fates(x0):
    """Exact fate of each start of the stiff fold: 'sink', 'saddle' or 'escape'."""
    x, y = x0[:, 0], x0[:, 1]
    sink = (x < 1.0) | ((x == 1.0) & (y < 1.0))
    saddle = (x == 1.0) & (y == 1.0)
    return np.where(sink, "sink", np.where(saddle, "saddle", "escape"))


def robertson():
    """Robertson's chemical kinetics: k1 = 0.04, k2 = 3e7, k3 = 1e4; a + b + c is conserved."""

    def f(x, p):
        a, b, c = x[..., 0], x[..., 1], x[..., 2]
        r1, r2, r3 = 0.04 * a, 3e7 * b * b, 1e4 * b * c
        return np.stack([-r1 + r3, r1 - r2 - r3, r2], axis=-1)

    def jac(x, p):
        b, c = x[..., 1], x[..., 2]
        J = np.zeros((*x.shape[:-1], 3, 3))
        J[..., 0, :] = np.stack([np.full_like(b, -0.04), 1e4 * c, 1e4 * b], axis=-1)
        J[..., 1, :] = np.stack([np.full_like(b, 0.04), -1e4 * c - 6e7 * b, -1e4 * b], axis=-1)
        J[..., 2, 1] = 6e7 * b
        return J

    return System(f, ["a", "b", "c"], jac=jac, name="robertson")


def linear_system(A) -> System:
    A = np.asarray(A, dtype=float)
    return System(
        lambda x, p: x @ A.T,
        A.shape[0],
        jac=lambda x, p: np.broadcast_to(A, (*x.shape[:-1], *A.shape)).copy(),
        name="linear",
    )


def _van_der_pol(x):
    return np.stack([x[..., 1], (1 - x[..., 0] ** 2) * x[..., 1] - x[..., 0]], axis=-1)


def _van_der_pol_jac(x):
    J = np.zeros((*x.shape[:-1], 2, 2))
    J[..., 0, 1] = 1.0
    J[..., 1, 0] = -2.0 * x[..., 0] * x[..., 1] - 1.0
    J[..., 1, 1] = 1.0 - x[..., 0] ** 2
    return J


def slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ----------------------------------------------------------------------------- the formulas
def test_local_orders_of_the_pair():
    """One step from the same state with halving h: the propagated solution has local error
    O(h^3) (order 2) and the error estimate differs from the true error by O(h^4), so the
    embedded solution is of order 3: the order conditions of the ode23s formulas hold."""
    y0 = np.array([1.5, -0.5])
    hs = 0.2 * 2.0 ** -np.arange(6)
    stepper = _Rosenbrock23(_van_der_pol, _van_der_pol_jac, rtol=0.0, atol=1.0)  # absolute norm
    y = np.tile(y0, (hs.size, 1))
    y_new, f_new, err_norm, _, hopeless = stepper.attempt(y, _van_der_pol(y), hs)
    assert hopeless is None
    np.testing.assert_array_equal(f_new, _van_der_pol(y_new))  # first same as last
    exact = np.array(
        [
            solve_ivp(
                lambda t, x: _van_der_pol(x), (0, h), y0, method="DOP853", rtol=1e-13, atol=1e-15
            ).y[:, -1]
            for h in hs
        ]
    )
    local = np.sqrt(((y_new - exact) ** 2).mean(axis=1))
    assert 2.9 < slope(hs, local) < 3.1
    assert 3.8 < slope(hs, np.abs(err_norm - local)) < 4.3
    assert abs(err_norm[-1] / local[-1] - 1.0) < 0.01


def test_stability_function_is_l_stable():
    """On y' = lambda y one step multiplies y by R(h lambda): |R| <= 1 on the negative axis and
    R -> 0 at infinity (about 4.8 / (h |lambda|)), so stiff components are damped, not kept."""
    z = -np.logspace(-3, 12, 61)
    stepper = _Rosenbrock23(lambda x: -x, lambda x: -np.ones((x.shape[0], 1, 1)), 1e-6, 1e-9)
    y = np.ones((z.size, 1))
    y_new, *_ = stepper.attempt(y, -y, -z)  # lambda = -1, h = -z
    R = y_new[:, 0]
    assert np.all(np.abs(R) <= 1.0)
    np.testing.assert_allclose(R[z > -1e-2], np.exp(z[z > -1e-2]), rtol=1e-6)
    assert abs(R[-1]) < 1e-11 and abs(R[-1] * z[-1]) == pytest.approx(4.83, rel=0.01)


def test_lu_matches_lapack_and_isolates_singular_rows():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 7):
        A = np.eye(n) - 0.5 * rng.normal(size=(50, n, n))
        A[3] = 0.0  # singular
        A[4, :, 0] = 0.0  # a zero column: singular
        b = rng.normal(size=(50, n))
        lu = A.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = lu_solve(lu, lu_factor(lu), b)
        ok = np.ones(50, dtype=bool)
        ok[[3, 4]] = False
        np.testing.assert_allclose(x[ok], np.linalg.solve(A[ok], b[ok, :, None])[..., 0])
        assert not np.isfinite(x[~ok]).all(axis=1).any()


# ----------------------------------------------------------------------------- (a) global order
@pytest.mark.parametrize(
    ("A", "x0"), [([[-1.0]], [1.0]), ([[-0.5, 2.0], [-2.0, -0.5]], [1.0, 0.5])]
)
def test_global_error_is_second_order(A, x0):
    system = linear_system(A)
    exact = scipy.linalg.expm(np.asarray(A)) @ np.asarray(x0)
    steps, errors = [], []
    for rtol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
        options = FlowOptions(method="rosenbrock23", t_max=1.0, rtol=rtol, atol=1e-14)
        ds = flow(system, [x0], options=options)
        assert ds.status.item() == Status.TIME_LIMIT and ds.t_final.item() == 1.0
        steps.append(ds.n_steps.item())
        errors.append(np.abs(ds.x_final.values[0] - exact).max())
    assert 1.8 <= -slope(steps, errors) <= 2.3


# ----------------------------------------------------------------------------- (b) stiff fold
def test_stiff_fold_converges_where_the_sink_is_the_fate():
    system = stiff_fold()
    x0 = grid_starts()
    fate = fates(x0)
    options = FlowOptions(method="rosenbrock23", t_max=100.0, converge_tol=1e-8, max_steps=10_000)
    ds = flow(system, x0, options=options)
    status = ds.status.values
    sink = fate == "sink"
    assert np.all(status[sink] == Status.CONVERGED)
    assert np.all(ds.speed_final.values[sink] <= 1e-8)
    assert np.abs(ds.x_final.values[sink]).max() <= 1e-8  # at the sink (0, 0), not the saddle
    assert np.all(status[fate == "escape"] == Status.ESCAPED)
    saddle = fate == "saddle"
    assert np.all(status[saddle] == Status.CONVERGED)
    np.testing.assert_array_equal(ds.x_final.values[saddle], [[1.0, 1.0]])
    assert ds.n_steps.values.max() < 6_000  # median about 3,500 at rtol 1e-6
    assert ds.attrs["n_jacobian_calls"] > 0
    assert ds.attrs["n_jacobian_evaluations"] <= ds.n_steps.values.sum() + x0.shape[0]

    # dopri5 is held to steps ~3e-6 by stability: 10,000 steps bring it nowhere near t = 20
    some = np.flatnonzero(sink & (np.abs(x0[:, 1] - x0[:, 0] ** 2) > 0.1))[::25]
    explicit = flow(system, x0[some], options=options.replace(method="dopri5"))
    assert np.all(explicit.status.values == Status.MAX_STEPS)
    assert explicit.t_final.values.max() < 0.1


# ----------------------------------------------------------------------------- (c) Robertson
def test_robertson_against_radau():
    system = robertson()
    x0 = np.array([1.0, 0.0, 0.0])
    ref = solve_ivp(
        lambda t, x: system.f(x),
        (0.0, 40.0),
        x0,
        method="Radau",
        rtol=1e-10,
        atol=1e-12,
        jac=lambda t, x: system.jac_dense(x),
    ).y[:, -1]
    options = FlowOptions(method="rosenbrock23", t_max=40.0, rtol=1e-6, atol=1e-10)
    ds = flow(system, [x0], options=options)
    assert ds.status.item() == Status.TIME_LIMIT
    x = ds.x_final.values[0]
    assert np.all(np.abs(x - ref) <= 1e-4 * np.abs(ref))  # measured: about 8e-7
    assert abs(x.sum() - 1.0) < 1e-12  # linear invariants are kept by Rosenbrock methods
    assert ds.n_steps.item() < 1_000


# ----------------------------------------------------------------------------- (d) batches
@pytest.mark.parametrize("save_times", [None, (0.0, 0.1, 0.25, 1.0)])
def test_an_orbit_alone_equals_the_orbit_in_a_batch(save_times):
    system = stiff_fold()
    x0 = np.random.default_rng(3).uniform(-2.0, 2.0, size=(60, 2))
    x0[11] = np.nan
    options = FlowOptions(
        method="rosenbrock23", t_max=1.0, converge_tol=1e-8, save_times=save_times
    )
    batch = flow(system, x0, options=options)
    names = ["x_final", "t_final", "status", "n_steps", "n_rejected", "speed_final"]
    if save_times is not None:
        names.append("x_saved")
    for i in (0, 7, 59):
        alone = flow(system, x0[i : i + 1], options=options)
        for name in names:
            np.testing.assert_array_equal(alone[name].values[0], batch[name].values[i])
    other = flow(system, x0[[59, 0, 7]], options=options)
    for name in names:
        np.testing.assert_array_equal(other[name].values, batch[name].values[[59, 0, 7]])


# ----------------------------------------------------------------------------- (e) statuses
def test_nonfinite_and_escaping_orbits():
    def wall(x, p):  # x' = 1, undefined from x = 1 on
        return np.where(x < 1.0, 1.0, np.nan)

    walled = System(wall, ["x"], jac=lambda x, p: np.where(x < 1.0, 0.0, np.nan)[..., None])
    ds = flow(walled, [[0.0], [np.nan], [2.0]], options=FlowOptions(method="rosenbrock23"))
    assert np.all(ds.status.values == Status.NONFINITE)
    assert 0.99 < ds.x_final.values[0, 0] < 1.0  # the last accepted state before the wall

    # a Jacobian that is infinite where the orbit stands: no step size can help, stop at once
    cusp = System(
        lambda x, p: -np.cbrt(x),
        ["x"],
        jac=lambda x, p: (-(np.abs(x) ** (-2.0 / 3.0)) / 3.0)[..., None],
    )
    ds = flow(cusp, [[0.0]], options=FlowOptions(method="rosenbrock23"))
    assert ds.status.item() == Status.NONFINITE and ds.t_final.item() == 0.0

    # x' = x^2 blows up at t = 1 / x0
    blowup = System(lambda x, p: x**2, ["x"], jac=lambda x, p: 2.0 * x[..., None])
    options = FlowOptions(method="rosenbrock23", t_max=5.0, escape_radius=1e6)
    ds = flow(blowup, [[1.0], [0.5], [-1.0]], options=options)
    np.testing.assert_array_equal(
        ds.status.values, [Status.ESCAPED, Status.ESCAPED, Status.TIME_LIMIT]
    )
    np.testing.assert_allclose(ds.t_final.values[:2], [1.0, 2.0], rtol=1e-3)
    np.testing.assert_allclose(ds.x_final.values[2], [-1.0 / 6.0], rtol=1e-4)  # global error


def test_a_singular_w_shrinks_the_step():
    """x' = lam x with lam = 1 / d: the first trial step h = 1 makes W = I - h d J exactly
    singular; the attempt fails like a non-finite trial, the step shrinks and the orbit goes on."""
    lam = 1.0 / _D
    assert lam * -(1.0 * _D) + 1.0 == 0.0
    options = FlowOptions(method="rosenbrock23", t_max=1.0, first_step=1.0)
    ds = flow(linear_system([[lam]]), [[1.0], [0.0]], options=options)
    assert ds.status.values.tolist() == [Status.TIME_LIMIT, Status.TIME_LIMIT]
    assert ds.n_rejected.values[0] >= 1
    assert ds.x_final.values[0, 0] == pytest.approx(np.exp(lam), rel=1e-4)


# ----------------------------------------------------------------------------- (f) options
def test_options_round_trip():
    assert "rosenbrock23" in FLOW_METHODS
    options = FlowOptions(method="rosenbrock23", t_max=5.0)
    attrs = options.as_attrs()
    assert attrs["method"] == "rosenbrock23"
    assert FlowOptions.from_mapping(attrs) == options
    assert FlowOptions.from_mapping({"method": "rosenbrock23"}) == FlowOptions(
        method="rosenbrock23"
    )
    ds = flow(stiff_fold(), [[0.5, 0.0]], options=FlowOptions(method="rosenbrock23", t_max=1.0))
    assert ds.attrs["method"] == "rosenbrock23"
    assert ds.attrs["n_jacobian_calls"] >= ds.n_steps.item()
    explicit = flow(linear_system([[-1.0]]), [[1.0]], options=FlowOptions(t_max=1.0))
    assert "n_jacobian_calls" not in explicit.attrs


# ----------------------------------------------------------------------------- basins and graph
def _check_stiff_basins(ds):
    label = ds.label.values.reshape(-1)
    fate = fates(grid_starts())
    assert ds.attractor_kind.sel(attractor=0).item() == "sink node"
    np.testing.assert_allclose(ds.attractor_x.sel(attractor=0).values, [0.0, 0.0], atol=1e-12)
    attractors = ds.attractor.values[ds.attractor.values >= 0]
    assert attractors.tolist() == [0]  # the sink is the only attractor
    assert np.all(label[fate == "sink"] == 0)
    assert np.all(label[fate == "saddle"] == -Status.NOT_ATTRACTING)
    assert np.all(label[fate == "escape"] == -Status.ESCAPED)
    assert not np.any(ds.status.values == Status.MAX_STEPS)


def test_basins_of_the_stiff_fold_with_known_points():
    """The brief's flow options (t_max = 100) with the sink and the saddle given: the arrival
    rule for an implicit method is the rounding floor 10 Lambda s eps (~2e-9 with Lambda ~1e6),
    where the explicit floor 10 Lambda (atol + rtol s) would be ~10 and mean nothing."""
    options = BasinOptions(
        flow=FlowOptions(method="rosenbrock23", t_max=100.0, rtol=1e-6, atol=1e-9)
    )
    grid = {"x": GRID, "y": GRID}
    ds = basin_map(stiff_fold(), grid, attractors=[[0.0, 0.0], [1.0, 1.0]], options=options)
    _check_stiff_basins(ds)
    assert ds.attrs["converge_tol_used"] < 1e-8


def test_basins_of_the_stiff_fold_discovered():
    """No points given: the floor is 10 s eps ~ 2e-15 (Lambda = 1 until points are known). With
    atol = 1e-9 the orbit is not resolved below ~1e-9: the controller lets h grow tenfold per
    step, each step damping by |R(-h)| ~ 4.8 / h only, so |f| ~ 1e-14 at t = 100; t_max = 1000
    (the BasinOptions default) leaves room for the last long steps."""
    options = BasinOptions(
        flow=FlowOptions(method="rosenbrock23", t_max=1000.0, rtol=1e-6, atol=1e-9)
    )
    ds = basin_map(stiff_fold(), {"x": GRID, "y": GRID}, options=options)
    _check_stiff_basins(ds)


def test_graph_of_the_stiff_fold():
    flow_options = FlowOptions(
        method="rosenbrock23", t_max=100.0, rtol=1e-6, atol=1e-9, escape_radius=1e6
    )
    options = GraphOptions(flow=flow_options, path_resolution=200, path_points=50)
    G = critical_point_graph(stiff_fold(), [[0.0, 0.0], [1.0, 1.0]], options=options)
    kinds = dict(G.nodes(data="kind"))
    edges = {(kinds[a], kinds[b]): d["status"] for a, b, d in G.edges(data=True)}
    assert edges == {("saddle", "sink node"): Status.CONVERGED, ("saddle", "escape"): 3}
    assert G.graph["converge_tol_used"] < 1e-8
