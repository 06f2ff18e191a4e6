"""flow() on 10,000 Duffing orbits against a Python loop of scipy's solve_ivp, at equal accuracy.

Both use Dormand-Prince 5(4) (``flow`` method "dopri5", solve_ivp "RK45") with the same tolerances
and the same vector field; their errors at t = 10 are measured against a tight DOP853 reference on
a subset of orbits and printed next to the times. The loop over all orbits would take minutes, so
it is timed on a subset and extrapolated linearly (each orbit costs the loop about the same).
"""

from __future__ import annotations

import time

import numpy as np
from scipy.integrate import solve_ivp

from benchmarks._timing import best_time, report
from dynsys.integrate import FlowOptions, flow
from dynsys.models.classic import duffing

N_ORBITS = 10_000
N_LOOP = 500  # orbits the solve_ivp loop is timed on
N_REFERENCE = 100  # orbits checked against the tight reference
T_END = 10.0
RTOL, ATOL = 1e-8, 1e-10


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


if __name__ == "__main__":
    main()
