"""Teacher-student ReLU gradients: dynsys's batched closed form against the same closed form
written directly in numpy, and the closed form's accuracy per time against Monte Carlo.

1. The population gradient (Tian's closed form) of 1,000 networks (K = d = 20, Xavier-normal
   students, identity teacher), dynsys's ``gradient`` against an expert numpy implementation of
   the same formula: unit vectors and all pairwise cosines by one batched matmul, numpy's
   vectorized ``arccos``, the self-angles set to exactly 0 (``G(w, w) = w / 2``), the networks
   processed in cache-sized chunks. Both must agree to 1e-12 relative; timed warm and cold.
2. Not a speed-up: the time the closed form takes for one network (exact to rounding) next to
   the time Monte Carlo needs for a 1e-3 relative error in norm. A pilot run measures the
   per-sample variance, which fixes the number of samples N; the estimate is timed on
   min(N, ``max_samples``) samples and the time scaled linearly to N when the cap applies.
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks._timing import best_time, cold_time, report

K = D = 20
N_NETWORKS = 1000
CHUNK = 32  # networks per chunk of the numpy baseline (pairwise temporaries stay in cache)
TARGET = 1e-3
TOLERANCE = 1e-12


def students(n_networks: int, seed: int = 2017) -> np.ndarray:
    """Xavier-normal students ``N(0, 2 / (K + d))``, shape ``(n_networks, K, d)``."""
    rng = np.random.default_rng(seed)
    return np.sqrt(2.0 / (K + D)) * rng.standard_normal((n_networks, K, D))


def numpy_gradient(W: np.ndarray, W_star: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
    """Tian's closed-form population gradient of a batch of students, plain numpy.

    ``grad_{w_j} = sum_m b_m [(pi - theta_jm) o_m + |o_m| sin(theta_jm) w_j / |w_j|] / (2 pi)``
    over the rows ``o = [W; W_star]`` with ``b = [1, ..., 1, -1, ..., -1]``; shape
    ``(batch, K*d)``.
    """
    n, k, d = W.shape
    k_star = W_star.shape[0]
    b = np.r_[np.ones(k), -np.ones(k_star)]
    diag = np.arange(k)
    out = np.empty((n, k * d))
    for i in range(0, n, chunk):
        Wc = W[i : i + chunk]
        units = np.concatenate([Wc, np.broadcast_to(W_star, (len(Wc), k_star, d))], axis=1)
        norms = np.sqrt(np.einsum("nmd,nmd->nm", units, units))
        e = units / norms[..., None]
        cos = e[:, :k] @ e.transpose(0, 2, 1)
        np.clip(cos, -1.0, 1.0, out=cos)
        cos[:, diag, diag] = 1.0
        theta = np.arccos(cos)
        sin = np.sqrt(np.maximum(1.0 - cos * cos, 0.0))
        r = ((np.pi - theta) * b) @ units + (sin @ (b * norms)[..., None]) * e[:, :k]
        out[i : i + chunk] = r.reshape(len(Wc), k * d) / (2.0 * np.pi)
    return out


def ours_cold(n_networks: int) -> None:
    """dynsys's gradient of ``n_networks`` students (the cold-timing entry point)."""
    from dynsys.models.relu import gradient

    gradient(students(n_networks), np.eye(K))


def baseline_cold(n_networks: int) -> None:
    """The numpy baseline on ``n_networks`` students (the cold-timing entry point)."""
    numpy_gradient(students(n_networks), np.eye(K))


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest per-network ``|ours - theirs| / |theirs|`` (norms over the state)."""
    return float((np.linalg.norm(ours - theirs, axis=-1) / np.linalg.norm(theirs, axis=-1)).max())


def main(n_networks: int = N_NETWORKS, max_samples: int = 5_000_000, cold: bool = True) -> None:
    from dynsys.models.relu import gradient, monte_carlo

    teacher = np.eye(K)
    W = students(n_networks)
    ours_values = gradient(W, teacher)
    numpy_values = numpy_gradient(W, teacher)
    rel = relative_difference(ours_values, numpy_values)
    if rel > TOLERANCE:
        raise AssertionError(f"gradients differ from the numpy closed form by {rel:.1e}")
    ours = best_time(lambda: gradient(W, teacher), repeat=5)
    baseline = best_time(lambda: numpy_gradient(W, teacher), repeat=5)
    times = None
    if cold:
        times = (
            cold_time("benchmarks.bench_relu:ours_cold", n_networks=n_networks),
            cold_time("benchmarks.bench_relu:baseline_cold", n_networks=n_networks),
        )
    report(
        f"closed-form gradient of {n_networks} networks (K = d = {K})",
        ours,
        baseline,
        "numpy closed form",
        cold=times,
        settings=f"batched matmul + np.arccos, chunks of {CHUNK} networks",
        agreement=f"largest relative difference {rel:.1e} (required <= {TOLERANCE:g})",
        warm_note="best of 5",
    )

    W0 = W[0]
    exact = gradient(W0, teacher)
    analytic = best_time(lambda: gradient(W0, teacher), repeat=50)
    pilot = monte_carlo(W0, teacher, n_samples=200_000, rng=1)
    rel_pilot = math.sqrt(float(np.sum(pilot.gradient_se**2))) / float(np.linalg.norm(exact))
    needed = math.ceil(pilot.n_samples * (rel_pilot / TARGET) ** 2)
    run = min(needed, max_samples)
    start = time.perf_counter()
    est = monte_carlo(W0, teacher, n_samples=run, rng=2)
    elapsed = time.perf_counter() - start
    mc_time = elapsed * needed / run
    achieved = float(np.linalg.norm(est.gradient - exact) / np.linalg.norm(exact))
    note = "measured" if run == needed else f"scaled from {run:.2e} samples in {elapsed:.2f} s"
    print(
        f"   accuracy per time, one network (not equal work, so no speed-up is claimed): "
        f"closed form exact to rounding in {1e6 * analytic:.0f} us (warm); Monte Carlo "
        f"needs N = {needed:.2e} samples for {TARGET:g} relative error in norm (error at "
        f"{run:.2e} samples: {achieved:.1e}), {mc_time:.1f} s ({note})"
    )


if __name__ == "__main__":
    main()
