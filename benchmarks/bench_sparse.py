"""Sparse continuation at scale: the 2-D Bratu problem continued to its fold on grids of
``m x m`` unknowns, up to ``n = 316^2 ~ 1e5``.

No dense baseline can run at these sizes (one dense Jacobian at ``n = 1e5`` is 80 GB), so the
main number is the scaling exponent: the slope of ``log t`` against ``log n`` (1 would be
linear). On the smaller grids (``BASELINE_GRIDS``) the same run written directly with
``scipy.sparse`` is the baseline: pseudo-arclength with a bordered Newton corrector (one sparse LU
per iteration), the same step sizes, step control and stopping rule, the 6 eigenvalues of
smallest modulus at each point (dynsys monitors these too, by shift-invert ARPACK), and the fold
located by the Illinois method on the tangent's ``lam`` component. Both folds must agree to
``FOLD_AGREEMENT`` relative; timed warm (best of 2) and cold (first call in a fresh process).

The fold ``lam`` is checked against the continuum value 6.808124423 (the error should fall as
``h^2``). Memory: the tracemalloc peak of a second, untimed run on each grid (numpy and Python
allocations; tracemalloc slows the run it watches) and the process's maximum resident set size.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from typing import NamedTuple

import numpy as np

from benchmarks._timing import best_time, cold_time, report

BRATU_2D_FOLD = 6.808124423
GRIDS = (32, 64, 128, 224, 316)
BASELINE_GRIDS = (32, 64, 128)
FOLD_AGREEMENT = 1e-8
N_EIGEN = 6
MAX_NEWTON = 10
NEWTON_STEP_TOL = 1e-10
LOCATE_TOL, LOCATE_MAX_ITER = 1e-12, 60


class _Settings(NamedTuple):
    ds: float
    ds_max: float
    max_points: int
    x_max: float


def _settings(m: int) -> _Settings:
    # steps proportional to sqrt(n) = m (the norm of a grid function grows so): about the same
    # number of points to the fold on every grid; x_max stops the run just past the fold
    return _Settings(ds=0.1 * m, ds_max=0.5 * m, max_points=40, x_max=2.0)


def dynsys_fold(m: int, n_eigen: int = N_EIGEN):
    """dynsys's branch of the 2-D Bratu problem from ``u = 0`` to just past the fold."""
    from dynsys.continuation import ContinuationOptions, continue_branch
    from dynsys.models import bratu_2d

    options = ContinuationOptions(**_settings(m)._asdict(), n_eigen=n_eigen)
    return continue_branch(
        bratu_2d(m, lam=0.0), np.zeros(m * m), "lam", options=options, direction=1
    )


def fold_of(branch) -> float:
    types = branch["special_type"].values
    folds = branch["special_param"].values[types == "LP"]
    return float(folds[0]) if folds.size else float("nan")


def ours_cold(m: int) -> None:
    """dynsys's run on an ``m x m`` grid (the cold-timing entry point)."""
    dynsys_fold(m)


def baseline_cold(m: int) -> None:
    """The scipy.sparse run on an ``m x m`` grid (the cold-timing entry point)."""
    scipy_fold(m)


def _run(m: int) -> dict:
    n = m * m
    start = time.perf_counter()
    branch = dynsys_fold(m)
    elapsed = time.perf_counter() - start
    tracemalloc.start()  # a second, untimed run: tracemalloc slows allocation-heavy code
    dynsys_fold(m)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    types = branch["special_type"].values
    folds = branch["special_param"].values[types == "LP"]
    steps = branch["special_step"].values[types == "LP"]
    return {
        "m": m,
        "n": n,
        "time": elapsed,
        "points": int(branch.sizes["step"]),
        "to_fold": int(steps[0]) + 1 if steps.size else -1,
        "fold": float(folds[0]) if folds.size else float("nan"),
        "peak": peak,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: KiB
    }


def compare(m: int, cold: bool = True) -> None:
    """dynsys against the scipy.sparse baseline on an ``m x m`` grid."""
    branch = dynsys_fold(m)
    ours_fold = fold_of(branch)
    theirs = scipy_fold(m)
    rel = abs(ours_fold - theirs["fold"]) / abs(theirs["fold"])
    if not rel <= FOLD_AGREEMENT:
        raise AssertionError(f"folds differ: dynsys {ours_fold}, baseline {theirs['fold']}")
    ours = best_time(lambda: dynsys_fold(m), repeat=2)
    baseline = best_time(lambda: scipy_fold(m), repeat=2)
    times = None
    if cold:
        times = (
            cold_time("benchmarks.bench_sparse:ours_cold", m=m),
            cold_time("benchmarks.bench_sparse:baseline_cold", m=m),
        )
    report(
        f"Bratu 2-D to the fold, n = {m * m}",
        ours,
        baseline,
        "scipy.sparse pseudo-arclength",
        cold=times,
        settings=(
            f"splu of the bordered Jacobian, eigsh(k={N_EIGEN}, sigma=0) per point, "
            f"{theirs['points']} points (dynsys {branch.sizes['step']})"
        ),
        agreement=(
            f"fold lam dynsys {ours_fold:.10f}, baseline {theirs['fold']:.10f} "
            f"(relative difference {rel:.1e}, required <= {FOLD_AGREEMENT:g})"
        ),
        warm_note="best of 2",
    )
    per_point = (baseline / theirs["points"]) / (ours / branch.sizes["step"])
    print(
        f"   the step controls differ in detail, so the point counts do: per point, the warm "
        f"ratio is {per_point:.2f}x"
    )


def main(grids: tuple[int, ...] = GRIDS, baseline_grids=BASELINE_GRIDS, cold: bool = True) -> None:
    """Compare with the baseline on the smaller grids; then print, per grid: time, time per
    point, points to the fold, fold error, memory, and the scaling exponent of time and memory
    in n."""
    for m in baseline_grids:
        compare(m, cold=cold)
    _run(8)  # warm-up: imports and first calls are not part of the scaling
    rows = [_run(m) for m in grids]
    first = rows[0]
    print(
        "       m        n  time/s  s/point  points  to fold  fold lam         error   "
        "peak MB  B/unknown  max RSS MB  t/t0   n/n0"
    )
    for r in rows:
        print(
            f"   {r['m']:5d} {r['n']:8d} {r['time']:7.2f} {r['time'] / r['points']:8.3f} "
            f"{r['points']:7d} {r['to_fold']:8d}  {r['fold']:.9f} {BRATU_2D_FOLD - r['fold']:9.2e} "
            f"{r['peak'] / 1e6:8.1f} {r['peak'] / r['n']:10.0f} {r['rss'] / 1e6:11.0f} "
            f"{r['time'] / first['time']:6.1f} {r['n'] / first['n']:6.1f}"
        )
    n = np.array([r["n"] for r in rows], dtype=float)
    per_point = np.array([r["time"] / r["points"] for r in rows])
    peak = np.array([r["peak"] for r in rows], dtype=float)
    slope_t = np.polyfit(np.log(n), np.log(per_point), 1)[0]
    slope_big = np.polyfit(np.log(n[-3:]), np.log(per_point[-3:]), 1)[0]
    slope_m = np.polyfit(np.log(n), np.log(peak), 1)[0]
    errors = np.array([BRATU_2D_FOLD - r["fold"] for r in rows])
    orders = np.log(errors[:-1] / errors[1:]) / np.log(
        (np.array(grids[1:]) + 1) / (np.array(grids[:-1]) + 1)
    )
    print(
        f"   scaling: time per point ~ n^{slope_t:.2f} over n = {int(n[0])}..{int(n[-1])} "
        f"(n^{slope_big:.2f} over the three largest; sparse LU of a 2-D grid is expected "
        f"to cost O(n^1.5) flops with a nested-dissection-like ordering), "
        f"peak memory ~ n^{slope_m:.2f}"
    )
    print(f"   fold error order in h: {', '.join(f'{p:.2f}' for p in orders)} (2 expected)")
    print(
        f"   a dense Jacobian at n = {int(n[-1])} would take {8 * n[-1] ** 2 / 1e9:.0f} GB; "
        f"the run's tracemalloc peak was {peak[-1] / 1e6:.0f} MB"
    )


# ---------------------------------------------------------------------------- baseline
def scipy_fold(m: int, n_eigen: int = N_EIGEN) -> dict:
    """The same run written directly with scipy.sparse: pseudo-arclength continuation of the
    2-D Bratu problem from ``u = 0, lam = 0`` (bordered Newton corrector, one sparse LU per
    iteration), the ``n_eigen`` eigenvalues of smallest modulus of each point's Jacobian
    (shift-invert ARPACK), and the fold located where the tangent's ``lam`` component changes
    sign (regula falsi in arclength). The same step sizes, point limit and stopping rule as the
    dynsys run."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spl

    options = _settings(m)
    n = m * m
    second = sp.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1])
    lap = (sp.kron(sp.identity(m), second) + sp.kron(second, sp.identity(m))) * (m + 1) ** 2
    lap = lap.tocsc()

    def residual(y):
        return lap @ y[:n] + y[n] * np.exp(y[:n])

    def jacobian(y):
        return lap + sp.diags(y[n] * np.exp(y[:n]))

    def bordered(y, t):
        e = np.exp(y[:n])[:, None]
        B = sp.bmat(
            [[jacobian(y), sp.csc_matrix(e)], [sp.csr_matrix(t[None, :n]), [[t[n]]]]], format="csc"
        )
        return spl.splu(B)

    def tangent(y, previous):
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        t = bordered(y, previous).solve(rhs)
        t /= np.linalg.norm(t)
        return t if t @ previous > 0 else -t

    def correct(y_pred, t):
        y = y_pred.copy()
        for iteration in range(1, MAX_NEWTON + 1):
            r = np.r_[residual(y), t @ (y - y_pred)]
            dy = bordered(y, t).solve(-r)
            y += dy
            if np.linalg.norm(dy) <= NEWTON_STEP_TOL * max(1.0, np.linalg.norm(y)):
                return y, iteration
        return None, MAX_NEWTON

    def locate(y, t, ds, g_lo, g_hi):
        """``lam`` where the tangent's ``lam`` component vanishes, by the Illinois method."""
        lo, hi, side = 0.0, ds, 0
        for _ in range(LOCATE_MAX_ITER):
            sigma = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
            w, _ = correct(y + sigma * t, t)
            g = tangent(w, t)[-1]
            if g * g_hi > 0:
                hi, g_hi = sigma, g
                g_lo = 0.5 * g_lo if side == 1 else g_lo
                side = 1
            else:
                lo, g_lo = sigma, g
                g_hi = 0.5 * g_hi if side == -1 else g_hi
                side = -1
            if g == 0.0 or hi - lo <= LOCATE_TOL * ds:
                break
        return float(w[n])

    y = np.zeros(n + 1)
    t = tangent(y, np.r_[np.zeros(n), 1.0])
    ds = options.ds
    points, fold, eigenvalues = [y], None, []
    while len(points) < options.max_points:
        z, iterations = correct(y + ds * t, t)
        if z is None:
            ds *= 0.5
            continue
        t_new = tangent(z, t)
        eigenvalues.append(spl.eigsh(jacobian(z), k=n_eigen, sigma=0.0, return_eigenvectors=False))
        if fold is None and t[-1] * t_new[-1] < 0:  # locate the fold between y and z
            fold = locate(y, t, ds, t[-1], t_new[-1])
        y, t = z, t_new
        points.append(y)
        if np.abs(y[:n]).max() > options.x_max:
            break
        if iterations < 4:
            ds = min(1.5 * ds, options.ds_max)
        elif iterations > 5:
            ds *= 0.5
    return {"points": len(points), "fold": fold if fold is not None else float("nan")}


if __name__ == "__main__":
    main()
