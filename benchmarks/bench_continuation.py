"""Continuation against natural-parameter continuation with ``scipy.optimize.root``.

The baseline steps the parameter on a grid and solves ``f(x; p) = 0`` at each value with
``scipy.optimize.root`` (hybr, analytic Jacobian), starting from the previous solution. It is the
method one writes without a continuation library: it finds no special points, computes no
stability, and cannot pass a fold (past the fold there is no solution at the next parameter
value, so it fails or jumps to another branch).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.optimize

from benchmarks._timing import best_time, report
from dynsys.continuation import ContinuationOptions, bifurcation_diagram, continue_branch
from dynsys.models import bratu, lorenz

LORENZ_OPTIONS = ContinuationOptions(ds_max=0.5, p_min=0.0, p_max=30.0)
BRATU_OPTIONS = ContinuationOptions(ds_max=1.0, x_max=6.0)


def natural_continuation(system, x0, param, values) -> tuple[np.ndarray, int]:
    """Solve at each parameter value from the previous solution; stop at the first failure.

    Returns the solutions found and how many values succeeded.
    """
    x = np.asarray(x0, dtype=float)
    found = []
    for value in values:
        p = {**system.params, param: float(value)}
        sol = scipy.optimize.root(
            lambda z, p=p: system.f(z, p),
            x,
            jac=lambda z, p=p: system.jac_dense(z, p),
            method="hybr",
        )
        if not sol.success:
            break
        x = sol.x
        found.append(x)
    return np.asarray(found), len(found)


def _per_point(label: str, ours: float, theirs: float) -> None:
    print(
        f"   {label}, per point: dynsys {1e3 * ours:.2f} ms (corrector, tangent, eigenvalues, "
        f"test functions), natural + root {1e3 * theirs:.2f} ms (solve only), "
        f"ratio {theirs / ours:.2f}x"
    )


def bench_lorenz() -> None:
    system = lorenz(r=0.5)
    tree = bifurcation_diagram(system, [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    branches = [tree[name].dataset for name in sorted(tree.children)]
    n_points = sum(b.sizes["step"] for b in branches)
    ours = best_time(
        lambda: bifurcation_diagram(system, [0.0, 0.0, 0.0], "r", options=LORENZ_OPTIONS)
    )
    specials = [
        f"{t}@{p:.10g}"
        for b in branches
        for t, p in zip(b["special_type"].values, b["special_param"].values, strict=True)
    ]
    print(
        f"   Lorenz diagram: {len(branches)} branches, {n_points} points, special points "
        f"{specials} (Hopf exact 470/19 = {470 / 19:.10g})"
    )
    # baseline: the same number of points on each branch, on a parameter grid
    origin_r = np.linspace(0.0, 30.0, branches[0].sizes["step"])
    half = branches[1].sizes["step"] // 2
    pair_r = np.linspace(30.0, 0.0, half)  # from r = 30 down towards the branch point
    c30 = np.sqrt(8.0 / 3.0 * 29.0)
    starts = ([0.0, 0.0, 0.0], [c30, c30, 29.0], [-c30, -c30, 29.0])

    def baseline():
        runs = [natural_continuation(system, starts[0], "r", origin_r)]
        runs += [natural_continuation(system, s, "r", pair_r) for s in starts[1:]]
        return runs

    runs = baseline()
    theirs = best_time(baseline)
    jumped = [
        float(pair_r[k])
        for k in range(half)
        if k < runs[1][1] and abs(runs[1][0][k][2] - (pair_r[k] - 1.0)) > 1e-6
    ]
    print(
        f"   baseline: origin branch {runs[0][1]}/{origin_r.size} values, each non-trivial "
        f"half {runs[1][1]}/{half}; below r = 1 the non-trivial half has no solution and root "
        f"lands on the origin (first wrong value r = {jumped[0] if jumped else float('nan'):.3g}"
        "); no special points, no stability"
    )
    report("Lorenz diagram, total", ours, theirs, "natural + root")
    n_base = origin_r.size + 2 * half
    _per_point("Lorenz diagram", ours / n_points, theirs / n_base)


def bench_bratu() -> None:
    n = 100
    system = bratu(n, lam=0.0)
    branch = continue_branch(system, np.zeros(n), "lam", options=BRATU_OPTIONS, direction=1)
    fold = float(branch["special_param"].values[branch["special_type"].values == "LP"][0])
    n_points = branch.sizes["step"]
    ours = best_time(
        lambda: continue_branch(system, np.zeros(n), "lam", options=BRATU_OPTIONS, direction=1)
    )
    values = np.linspace(0.0, 2 * fold, 2 * n_points)  # the same spacing up to the fold
    start = time.perf_counter()
    _, ok = natural_continuation(system, np.zeros(n), "lam", values)
    theirs = time.perf_counter() - start
    print(
        f"   Bratu n={n}: fold located at lam = {fold:.12f}, {n_points} points, the branch "
        f"followed round the fold to max|u| = {np.abs(branch['x'].values).max():.2f}"
    )
    print(
        f"   baseline: {ok} of {values.size} values solved, last lam = {values[ok - 1]:.4f}; "
        f"it fails at the fold and never reaches the upper branch"
    )
    report("Bratu n=100, total", ours, theirs, "natural + root (stops at the fold)")
    _per_point("Bratu n=100", ours / n_points, theirs / max(ok, 1))


def main() -> None:
    """Print times per point and in total, ours against the natural-parameter baseline."""
    bench_lorenz()
    bench_bratu()


if __name__ == "__main__":
    main()
