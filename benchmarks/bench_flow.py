"""flow() against a Python loop of scipy's solve_ivp: a non-stiff and a stiff case.

Non-stiff: 10,000 Duffing orbits, both with Dormand-Prince 5(4) (``flow`` method "dopri5",
solve_ivp "RK45") with the same tolerances and the same vector field; their errors at t = 10 are
measured against a tight DOP853 reference on a subset of orbits and printed next to the times.

Stiff: 1,000 orbits of x' = -x + y, y' = -(y - x^2)/1e-6 (sink (0, 0), saddle (1, 1); starts with
x > 1 blow up), ``flow`` method "rosenbrock23" against solve_ivp "Radau" with the system's
Jacobian and the same tolerances, both stopped when |f| <= 1e-5 (a terminal event for solve_ivp)
or |x| > 1e8; every orbit of the loop must end at the same attractor (or escape) as its flow
orbit. (Radau's Newton iteration stops at a tolerance tied to atol, which leaves |f| ~ 1e-7 on
the fast variable: a smaller common threshold would not be met by the loop.)

The loops over all orbits would take minutes, so they are timed on a subset and extrapolated
linearly (each orbit costs a loop about the same).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks._timing import best_time, report
from dynsys import Status, System
from dynsys.integrate import FlowOptions, flow
from dynsys.models.classic import duffing

N_ORBITS = 10_000
N_LOOP = 500  # orbits the solve_ivp loop is timed on
N_REFERENCE = 100  # orbits checked against the tight reference
T_END = 10.0
RTOL, ATOL = 1e-8, 1e-10

STIFF_EPS = 1e-6
N_STIFF = 1_000
N_STIFF_LOOP = 100  # stiff orbits the solve_ivp loop is timed on (and checked against)
STIFF_RTOL, STIFF_ATOL = 1e-6, 1e-9
STIFF_TOL, STIFF_ESCAPE, STIFF_T_MAX = 1e-5, 1e8, 100.0


def _solve_ivp_loop(system, x0: np.ndarray, **kwargs) -> np.ndarray:
    p = system.resolve_params()

    def rhs(t, x):
        return system.f(x, p)

    return np.array([solve_ivp(rhs, (0.0, T_END), x, **kwargs).y[:, -1] for x in x0])


def _error_summary(values: np.ndarray, reference: np.ndarray) -> str:
    err = np.abs(values - reference).max(axis=1)
    return f"max {err.max():.1e}, median {np.median(err):.1e}"


def main() -> None:
    system = duffing()
    x0 = np.random.default_rng(0).uniform(-2.0, 2.0, size=(N_ORBITS, 2))
    options = FlowOptions(t_max=T_END, rtol=RTOL, atol=ATOL)

    result = flow(system, x0, options=options)
    ours = best_time(lambda: flow(system, x0, options=options), repeat=3)

    start = time.perf_counter()
    looped = _solve_ivp_loop(system, x0[:N_LOOP], method="RK45", rtol=RTOL, atol=ATOL)
    loop_subset = time.perf_counter() - start
    loop_all = loop_subset * N_ORBITS / N_LOOP

    reference = _solve_ivp_loop(system, x0[:N_REFERENCE], method="DOP853", rtol=1e-13, atol=1e-14)
    print(
        f"   {N_ORBITS} Duffing orbits, t in [0, {T_END:g}], rtol {RTOL:g}, atol {ATOL:g}; "
        f"errors at t = {T_END:g} on {N_REFERENCE} orbits vs DOP853 (rtol 1e-13):"
    )
    print(f"   flow(dopri5) error {_error_summary(result.x_final.values[:N_REFERENCE], reference)}")
    print(f"   solve_ivp(RK45) error {_error_summary(looped[:N_REFERENCE], reference)}")
    print(
        f"   solve_ivp loop timed on {N_LOOP} orbits ({loop_subset:.2f} s) and extrapolated "
        f"linearly to {N_ORBITS}; flow: best of 3, {result.attrs['n_calls']} batch calls of f"
    )
    report(f"{N_ORBITS} Duffing orbits", ours, loop_all, "solve_ivp loop (extrapolated)")
    _stiff()


def _stiff_field(x, p):
    u, v = x[..., 0], x[..., 1]
    return np.stack([-u + v, -(v - u**2) / STIFF_EPS], axis=-1)


def _stiff_jac(x, p):
    J = np.zeros((*x.shape[:-1], 2, 2))
    J[..., 0, 0] = -1.0
    J[..., 0, 1] = 1.0
    J[..., 1, 0] = 2.0 * x[..., 0] / STIFF_EPS
    J[..., 1, 1] = -1.0 / STIFF_EPS
    return J


def _radau_fate(system, x0: np.ndarray) -> str:
    p = system.resolve_params()

    def arrived(t, x):
        return np.sqrt(np.sum(system.f(x, p) ** 2)) - STIFF_TOL

    def escaped(t, x):
        return np.sqrt(np.sum(x**2)) - STIFF_ESCAPE

    arrived.terminal, arrived.direction = True, -1
    escaped.terminal, escaped.direction = True, 1
    sol = solve_ivp(
        lambda t, x: system.f(x, p),
        (0.0, STIFF_T_MAX),
        x0,
        method="Radau",
        rtol=STIFF_RTOL,
        atol=STIFF_ATOL,
        jac=lambda t, x: system.jac_dense(x, p),
        events=(arrived, escaped),
    )
    if sol.t_events[1].size:
        return "escape"
    if sol.t_events[0].size:
        return _nearest(sol.y_events[0][0])
    return "none"


def _nearest(x: np.ndarray) -> str:
    """The fixed point an arrived orbit sits at."""
    points = {"sink": (0.0, 0.0), "saddle": (1.0, 1.0)}
    return min(points, key=lambda k: np.linalg.norm(x - np.asarray(points[k])))


def _stiff() -> None:
    system = System(_stiff_field, ["x", "y"], jac=_stiff_jac, name="stiff_fold")
    x0 = np.random.default_rng(0).uniform(-2.0, 2.0, size=(N_STIFF, 2))
    options = FlowOptions(
        method="rosenbrock23",
        t_max=STIFF_T_MAX,
        rtol=STIFF_RTOL,
        atol=STIFF_ATOL,
        converge_tol=STIFF_TOL,
        escape_radius=STIFF_ESCAPE,
    )
    result = flow(system, x0, options=options)
    ours = best_time(lambda: flow(system, x0, options=options), repeat=3)
    status = result.status.values
    fates = np.array(
        [
            _nearest(x) if s == Status.CONVERGED else "escape" if s == Status.ESCAPED else "none"
            for s, x in zip(status, result.x_final.values, strict=True)
        ]
    )

    start = time.perf_counter()
    looped = np.array([_radau_fate(system, x) for x in x0[:N_STIFF_LOOP]])
    loop_subset = time.perf_counter() - start
    loop_all = loop_subset * N_STIFF / N_STIFF_LOOP
    agree = int(np.sum(looped == fates[:N_STIFF_LOOP]))
    counts = {k: int(np.sum(fates == k)) for k in ("sink", "saddle", "escape", "none")}
    print(
        f"   {N_STIFF} orbits of the stiff fold (eps {STIFF_EPS:g}), rtol {STIFF_RTOL:g}, "
        f"atol {STIFF_ATOL:g}, stop at |f| <= {STIFF_TOL:g} or |x| > {STIFF_ESCAPE:g}; "
        f"flow fates {counts}"
    )
    print(
        f"   same fate as solve_ivp(Radau) on {agree} of {N_STIFF_LOOP} orbits; flow: median "
        f"{int(np.median(result.n_steps))} steps, {result.attrs['n_calls']} batch calls of f, "
        f"{result.attrs['n_jacobian_calls']} of the Jacobian"
    )
    print(
        f"   solve_ivp loop timed on {N_STIFF_LOOP} orbits ({loop_subset:.2f} s) and "
        f"extrapolated linearly to {N_STIFF}; flow: best of 3"
    )
    if agree != N_STIFF_LOOP:
        raise AssertionError(f"fates differ on {N_STIFF_LOOP - agree} stiff orbits")
    report(f"{N_STIFF} stiff orbits", ours, loop_all, "solve_ivp(Radau) loop (extrapolated)")


if __name__ == "__main__":
    main()
