"""Basin computations against plain baselines.

1. Duffing basin map: orbits per second of :func:`dynsys.basins.basin_map` (batched Dormand-Prince,
   stop where the arrival rule puts ``|f|``, about 1e-7 here) against a Python loop of
   :func:`scipy.integrate.solve_ivp` (RK45, same tolerances, a terminal event at the same
   ``|f|``).
2. Gradient descent on the teacher-student ReLU loss, K = d = 20 (teacher the identity, output
   weights one and fixed, W0 entries N(0, 1/d), step 0.1, stop when the gradient is at most
   1e-9/(2 pi)): runs per second of :func:`dynsys.basins.basin_probabilities` (labelling up to
   permutations of hidden units and inputs included, end points verified by Newton) against a
   straightforward batched-numpy loop of the same protocol (Tian's closed-form gradient; the whole
   batch iterates until its last run has converged). Both stop on the protocol's rule, the
   largest per-unit norm ``max_j |dJ/dw_j|`` (``FlowOptions(converge_block=d)`` in dynsys).

Environment variables ``BENCH_BASINS_GRID`` (grid side, default 100), ``BENCH_BASINS_SOLVE_IVP``
(orbits for the baseline loop, default 200) and ``BENCH_BASINS_RUNS`` (descent runs, default 64)
change the sizes.
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy.integrate import solve_ivp

from dynsys.basins import BasinOptions, FlowOptions, NetworkInit, basin_map, basin_probabilities
from dynsys.models import duffing
from dynsys.models.relu import loss, teacher_student
from dynsys.symmetry import UnitInputSymmetry

STEP = 0.1
TOL = 1e-9 / (2 * np.pi)


def _duffing(side: int, n_loop: int) -> tuple[float, float]:
    system = duffing()
    grid = {"x": (-2, 2, side), "v": (-2, 2, side)}
    start = time.perf_counter()
    ds = basin_map(system, grid)
    ours = side * side / (time.perf_counter() - start)

    def rhs(t, s):
        return system.f(s)

    arrival = float(ds.attrs["converge_tol_used"])

    def settled(t, s):
        return np.linalg.norm(system.f(s)) - arrival

    settled.terminal = True
    rng = np.random.default_rng(0)
    starts = rng.uniform(-2, 2, size=(n_loop, 2))
    start = time.perf_counter()
    signs = []
    for x0 in starts:
        sol = solve_ivp(rhs, (0.0, 1000.0), x0, rtol=1e-8, atol=1e-10, events=settled)
        signs.append(np.sign(sol.y[0, -1]))
    theirs = n_loop / (time.perf_counter() - start)
    print(f"   Duffing {side}x{side} map: fractions {ds.fraction.values.round(4).tolist()}")
    print(
        f"   Duffing: dynsys {ours:,.0f} orbits/s, solve_ivp loop {theirs:,.1f} orbits/s, "
        f"ratio {ours / theirs:.0f}x"
    )
    return ours, theirs


def _baseline_gradient(W: np.ndarray, W_star: np.ndarray) -> np.ndarray:
    """Tian's population gradient for a batch ``W (B, K, d)``, all output weights one."""
    B, K, _ = W.shape
    others = np.concatenate([W, np.broadcast_to(W_star, (B, *W_star.shape))], axis=1)
    b = np.concatenate([np.ones(K), -np.ones(W_star.shape[0])])
    norm_w = np.linalg.norm(W, axis=2)
    norm_o = np.linalg.norm(others, axis=2)
    e = W / norm_w[..., None]
    cos = np.clip(np.einsum("bkd,bmd->bkm", e, others / norm_o[..., None]), -1.0, 1.0)
    cos[:, np.arange(K), np.arange(K)] = 1.0
    theta = np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    pull = np.einsum("bkm,bmd->bkd", b * (np.pi - theta), others)
    side = np.einsum("bkm,bm->bk", sin, b * norm_o)[..., None] * e
    return (pull + side) / (2 * np.pi)


def _baseline_descent(W0: np.ndarray, W_star: np.ndarray) -> np.ndarray:
    W = W0.copy()
    running = np.ones(len(W), dtype=bool)
    while running.any():
        g = _baseline_gradient(W, W_star)
        running = np.linalg.norm(g, axis=2).max(axis=1) > TOL
        W -= STEP * g * running[:, None, None]
    return W


def _descent(runs: int, K: int = 20) -> tuple[float, float]:
    W_star = np.eye(K)
    system = teacher_student(W_star)
    options = FlowOptions(
        method="gradient_descent",
        learning_rate=STEP,
        converge_tol=TOL,
        converge_block=K,
        t_max=np.inf,
        max_steps=10**7,
    )
    start = time.perf_counter()
    ds = basin_probabilities(
        system,
        NetworkInit(fan_in=K),
        runs,
        seed=0,
        options=BasinOptions(flow=options, chunk_size=runs, keep_states=True),
        symmetry=UnitInputSymmetry(K, K),
        reference=W_star.ravel(),
    )
    ours = runs / (time.perf_counter() - start)
    W0 = ds.x0.values.reshape(runs, K, K)
    start = time.perf_counter()
    W_end = _baseline_descent(W0, W_star)
    theirs = runs / (time.perf_counter() - start)
    gap = np.abs(loss(W_end, W_star) - loss(ds.x_final.values.reshape(runs, K, K), W_star))
    spurious = float(np.mean(loss(W_end, W_star) >= 1e-3))
    roles = dict(zip(ds.attractor_role.values.tolist(), ds.fraction.values, strict=True))
    print(
        f"   dynsys table: {ds.sizes['attractor']} attractors up to unit and input "
        f"permutations, teacher {roles.get('teacher', 0.0):.2f}"
    )
    print(
        f"   K = d = {K}: {runs} runs, {float(ds.n_steps.mean()):,.0f} iterations on average, "
        f"spurious fraction {spurious:.2f}, largest loss difference {gap.max():.1e}"
    )
    print(
        f"   K = d = {K} descent: dynsys {ours:.2f} runs/s, batched numpy {theirs:.2f} runs/s, "
        f"ratio {ours / theirs:.1f}x"
    )
    return ours, theirs


def main() -> None:
    side = int(os.environ.get("BENCH_BASINS_GRID", "100"))
    n_loop = int(os.environ.get("BENCH_BASINS_SOLVE_IVP", "200"))
    runs = int(os.environ.get("BENCH_BASINS_RUNS", "64"))
    ours, theirs = _duffing(side, n_loop)
    ours_gd, theirs_gd = _descent(runs)
    print(f"   ratios: Duffing map {ours / theirs:.0f}x, K = 20 descent {ours_gd / theirs_gd:.1f}x")


if __name__ == "__main__":
    main()
