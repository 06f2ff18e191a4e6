"""flow() against scipy's solve_ivp written as an expert would: a non-stiff and a stiff case.

Non-stiff: 10,000 Duffing orbits, both with Dormand-Prince 5(4) (``flow`` method "dopri5",
solve_ivp "RK45") at the same tolerances. The baseline integrates chunks of orbits as one
stacked system with a vectorized numpy vector field (one step size per chunk); the chunk size is
the fastest of 100, 1,000 and 10,000 orbits. Errors at t = 10 are measured against a tight
DOP853 reference on a subset of orbits; the baseline must be at least as accurate as ``flow``
(its largest error at most ``flow``'s times ``ACCURACY_SLACK``).

Stiff: 1,000 orbits of x' = -x + y, y' = -(y - x^2)/1e-6 (sink (0, 0), saddle (1, 1); starts with
x > 1 blow up), ``flow`` method "rosenbrock23" against solve_ivp "Radau" with the analytic
Jacobian and the same tolerances, both stopped when |f| <= 1e-5 or |x| > 1e8. The baseline is
the faster of solve_ivp's implicit methods "Radau" and "BDF" (one call each); it
integrates chunks of orbits as one stacked system with a sparse block-diagonal Jacobian and two
terminal events: an orbit escaping (it is removed and the rest restarted) and every orbit of the
chunk arrived; orbits that have arrived when the chunk restarts are removed too. Every orbit must
end at the same attractor (or escape) with both. (The implicit methods' Newton iterations stop at a
tolerance tied to atol, which leaves |f| ~ 1e-7 on the fast variable: a smaller common threshold
would not be met by the baseline.)

Both cases are timed warm (best of 3, best of 2 for the stiff case) and cold (first call in a
fresh process).
"""

from __future__ import annotations

import numpy as np

from benchmarks._timing import best_time, cold_time, report

N_ORBITS = 10_000
N_REFERENCE = 100  # orbits checked against the tight reference
T_END = 10.0
RTOL, ATOL = 1e-8, 1e-10
CHUNKS = (100, 1_000, 10_000)
ACCURACY_SLACK = 3.0
DUFFING = {"delta": 0.25, "alpha": -1.0, "beta": 1.0}

STIFF_EPS = 1e-6
N_STIFF = 1_000
STIFF_CHUNK = 100
METHODS = ("Radau", "BDF")
STIFF_RTOL, STIFF_ATOL = 1e-6, 1e-9
STIFF_TOL, STIFF_ESCAPE, STIFF_T_MAX = 1e-5, 1e8, 100.0


def starts(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-2.0, 2.0, size=(n, 2))


# ---------------------------------------------------------------------------- non-stiff
def duffing_stacked(t: float, y: np.ndarray) -> np.ndarray:
    """The Duffing field on stacked states ``[x_0, v_0, x_1, v_1, ...]``."""
    q, v = y[0::2], y[1::2]
    out = np.empty_like(y)
    out[0::2] = v
    out[1::2] = -DUFFING["delta"] * v - DUFFING["alpha"] * q - DUFFING["beta"] * q * q * q
    return out


def scipy_duffing(x0: np.ndarray, chunk: int, method: str = "RK45", rtol=RTOL, atol=ATOL):
    """States at ``T_END`` by solve_ivp on chunks of stacked orbits, shape ``(n, 2)``."""
    from scipy.integrate import solve_ivp

    parts = [
        solve_ivp(
            duffing_stacked,
            (0.0, T_END),
            x0[i : i + chunk].ravel(),
            method=method,
            rtol=rtol,
            atol=atol,
        ).y[:, -1]
        for i in range(0, len(x0), chunk)
    ]
    return np.concatenate(parts).reshape(-1, 2)


def dynsys_duffing(x0: np.ndarray):
    """``flow``'s result for the Duffing orbits (an xarray Dataset)."""
    from dynsys.integrate import FlowOptions, flow
    from dynsys.models.classic import duffing

    return flow(duffing(**DUFFING), x0, options=FlowOptions(t_max=T_END, rtol=RTOL, atol=ATOL))


def ours_cold(n_orbits: int) -> None:
    """The Duffing orbits by flow (the cold-timing entry point)."""
    dynsys_duffing(starts(n_orbits))


def baseline_cold(n_orbits: int, chunk: int) -> None:
    """The Duffing orbits by chunked solve_ivp (the cold-timing entry point)."""
    scipy_duffing(starts(n_orbits), chunk)


def _largest_error(values: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    err = np.abs(values - reference).max(axis=1)
    return float(err.max()), float(np.median(err))


def nonstiff(n_orbits: int = N_ORBITS, cold: bool = True) -> None:
    x0 = starts(n_orbits)
    result = dynsys_duffing(x0)
    ours = best_time(lambda: dynsys_duffing(x0), repeat=3)
    chunks = [c for c in CHUNKS if c <= n_orbits]
    chunk_time = {c: best_time(lambda c=c: scipy_duffing(x0, c), repeat=1) for c in chunks}
    chunk = min(chunk_time, key=chunk_time.get)
    baseline = best_time(lambda: scipy_duffing(x0, chunk), repeat=3)
    values = scipy_duffing(x0, chunk)

    n_ref = min(N_REFERENCE, n_orbits)
    reference = scipy_duffing(x0[:n_ref], 1, method="DOP853", rtol=1e-13, atol=1e-14)
    ours_err = _largest_error(result.x_final.values[:n_ref], reference)
    base_err = _largest_error(values[:n_ref], reference)
    if base_err[0] > ACCURACY_SLACK * ours_err[0]:
        raise AssertionError(f"the baseline is less accurate: {base_err} against {ours_err}")
    times = None
    if cold:
        times = (
            cold_time("benchmarks.bench_flow:ours_cold", n_orbits=n_orbits),
            cold_time("benchmarks.bench_flow:baseline_cold", n_orbits=n_orbits, chunk=chunk),
        )
    print(
        "   solve_ivp chunk sizes tried (one call each): "
        + ", ".join(f"{c} orbits {t:.2f} s" for c, t in chunk_time.items())
    )
    report(
        f"{n_orbits} Duffing orbits, t in [0, {T_END:g}]",
        ours,
        baseline,
        "solve_ivp(RK45), stacked chunks",
        cold=times,
        settings=f"rtol {RTOL:g}, atol {ATOL:g}, chunks of {chunk} orbits, numpy vector field",
        agreement=(
            f"error at t = {T_END:g} on {n_ref} orbits against DOP853 (rtol 1e-13): flow max "
            f"{ours_err[0]:.1e} (median {ours_err[1]:.1e}), baseline max {base_err[0]:.1e} "
            f"(median {base_err[1]:.1e})"
        ),
        warm_note="best of 3",
    )


# ---------------------------------------------------------------------------- stiff
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


def _nearest(x: np.ndarray) -> str:
    """The fixed point an arrived orbit sits at."""
    points = {"sink": (0.0, 0.0), "saddle": (1.0, 1.0)}
    return min(points, key=lambda k: np.linalg.norm(x - np.asarray(points[k])))


def _implicit_chunk(x0: np.ndarray, method: str = "Radau") -> list[str]:
    """Fates of a chunk of stiff orbits by an implicit method on the stacked system, removing
    orbits as they escape or arrive."""
    import scipy.sparse
    from scipy.integrate import solve_ivp

    fates = ["none"] * len(x0)
    active = np.arange(len(x0))
    x, t = x0.copy(), 0.0
    while active.size and t < STIFF_T_MAX:
        k = active.size

        def rhs(t, y, k=k):
            return _stiff_field(y.reshape(k, 2), None).ravel()

        def jac(t, y, k=k):
            blocks = _stiff_jac(y.reshape(k, 2), None)
            return scipy.sparse.bsr_matrix((blocks, np.arange(k), np.arange(k + 1)), (2 * k, 2 * k))

        def arrived(t, y, k=k):
            return np.sqrt((_stiff_field(y.reshape(k, 2), None) ** 2).sum(-1)).max() - STIFF_TOL

        def escaped(t, y, k=k):
            return np.sqrt((y.reshape(k, 2) ** 2).sum(-1)).max() - STIFF_ESCAPE

        arrived.terminal, arrived.direction = True, -1
        escaped.terminal, escaped.direction = True, 1
        sol = solve_ivp(
            rhs,
            (t, STIFF_T_MAX),
            x[active].ravel(),
            method=method,
            rtol=STIFF_RTOL,
            atol=STIFF_ATOL,
            jac=jac,
            events=(arrived, escaped),
        )
        t = sol.t[-1]
        y = sol.y[:, -1].reshape(k, 2)
        x[active] = y
        norm = np.sqrt((y**2).sum(-1))
        speed = np.sqrt((_stiff_field(y, None) ** 2).sum(-1))
        out = norm >= STIFF_ESCAPE * (1.0 - 1e-6)
        done = ~out & (speed <= STIFF_TOL * (1.0 + 1e-6))
        for i in np.flatnonzero(out):
            fates[active[i]] = "escape"
        for i in np.flatnonzero(done):
            fates[active[i]] = _nearest(y[i])
        active = active[~(out | done)]
        if sol.status != 1:  # reached t_max (or failed) without an event
            break
    return fates


def scipy_stiff(x0: np.ndarray, chunk: int = STIFF_CHUNK, method: str = "Radau") -> np.ndarray:
    """Fates of the stiff orbits by chunked solve_ivp ("sink", "saddle", "escape" or "none")."""
    return np.array(
        [f for i in range(0, len(x0), chunk) for f in _implicit_chunk(x0[i : i + chunk], method)]
    )


def dynsys_stiff(x0: np.ndarray):
    """``flow``'s result for the stiff orbits (an xarray Dataset)."""
    from dynsys import System
    from dynsys.integrate import FlowOptions, flow

    system = System(_stiff_field, ["x", "y"], jac=_stiff_jac, name="stiff_fold")
    options = FlowOptions(
        method="rosenbrock23",
        t_max=STIFF_T_MAX,
        rtol=STIFF_RTOL,
        atol=STIFF_ATOL,
        converge_tol=STIFF_TOL,
        escape_radius=STIFF_ESCAPE,
    )
    return flow(system, x0, options=options)


def dynsys_fates(result) -> np.ndarray:
    from dynsys import Status

    return np.array(
        [
            _nearest(x) if s == Status.CONVERGED else "escape" if s == Status.ESCAPED else "none"
            for s, x in zip(result.status.values, result.x_final.values, strict=True)
        ]
    )


def ours_stiff_cold(n_orbits: int) -> None:
    """The stiff orbits by flow (the cold-timing entry point)."""
    dynsys_stiff(starts(n_orbits))


def baseline_stiff_cold(n_orbits: int, method: str) -> None:
    """The stiff orbits by chunked solve_ivp (the cold-timing entry point)."""
    scipy_stiff(starts(n_orbits), method=method)


def stiff(n_orbits: int = N_STIFF, cold: bool = True) -> None:
    x0 = starts(n_orbits)
    result = dynsys_stiff(x0)
    fates = dynsys_fates(result)
    method_time = {m: best_time(lambda m=m: scipy_stiff(x0, method=m), repeat=1) for m in METHODS}
    method = min(method_time, key=method_time.get)
    looped = scipy_stiff(x0, method=method)
    agree = int(np.sum(looped == fates))
    counts = {k: int(np.sum(fates == k)) for k in ("sink", "saddle", "escape", "none")}
    print(
        f"   {n_orbits} orbits of the stiff fold (eps {STIFF_EPS:g}), flow fates {counts}; "
        f"flow: median {int(np.median(result.n_steps))} steps, {result.attrs['n_calls']} batch "
        f"calls of f, {result.attrs['n_jacobian_calls']} of the Jacobian"
    )
    if agree != n_orbits:
        raise AssertionError(f"fates differ on {n_orbits - agree} stiff orbits")
    ours = best_time(lambda: dynsys_stiff(x0), repeat=2)
    baseline = best_time(lambda: scipy_stiff(x0, method=method), repeat=2)
    times = None
    if cold:
        times = (
            cold_time("benchmarks.bench_flow:ours_stiff_cold", n_orbits=n_orbits),
            cold_time(
                "benchmarks.bench_flow:baseline_stiff_cold", n_orbits=n_orbits, method=method
            ),
        )
    print(
        "   solve_ivp methods tried (one call each): "
        + ", ".join(f"{m} {t:.2f} s" for m, t in method_time.items())
    )
    report(
        f"{n_orbits} stiff orbits",
        ours,
        baseline,
        f"solve_ivp({method}), stacked chunks",
        cold=times,
        settings=(
            f"rtol {STIFF_RTOL:g}, atol {STIFF_ATOL:g}, analytic sparse Jacobian, chunks of "
            f"{STIFF_CHUNK} orbits, stop at |f| <= {STIFF_TOL:g} or |x| > {STIFF_ESCAPE:g}"
        ),
        agreement=f"same fate on {agree} of {n_orbits} orbits",
        warm_note="best of 2",
    )


def main(n_orbits: int = N_ORBITS, n_stiff: int = N_STIFF, cold: bool = True) -> None:
    nonstiff(n_orbits, cold=cold)
    stiff(n_stiff, cold=cold)


if __name__ == "__main__":
    main()
