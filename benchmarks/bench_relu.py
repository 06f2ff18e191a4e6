"""Teacher-student ReLU gradients: batched vs a Python loop, and closed form vs Monte Carlo.

1. The population gradient of 1,000 networks (K = d = 20) in one batched call against a Python
   loop calling the single-network gradient on each.
2. The closed-form gradient of one network against a Monte-Carlo estimate of equal accuracy
   (1e-3 relative error in norm). A pilot run measures the per-sample variance, which fixes the
   number of samples N needed; the estimate is timed on min(N, ``max_samples``) samples and the
   time scaled linearly to N when the cap applies (the cost is linear in N by construction).
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks._timing import best_time, report
from dynsys.models.relu import gradient, monte_carlo, orthonormal_teacher, xavier_init

K = D = 20
N_NETWORKS = 1000
TARGET = 1e-3


def main(max_samples: int = 5_000_000) -> None:
    teacher = orthonormal_teacher(K, D)
    W = xavier_init(K, D, rng=2017, size=N_NETWORKS).reshape(N_NETWORKS, K, D)

    batched = best_time(lambda: gradient(W, teacher), repeat=5)
    looped = best_time(lambda: [gradient(w, teacher) for w in W], repeat=3)
    report(f"gradient of {N_NETWORKS} networks (K = d = {K})", batched, looped, "Python loop")
    print(
        f"   time per network-gradient: batched {1e6 * batched / N_NETWORKS:.1f} us, "
        f"loop {1e6 * looped / N_NETWORKS:.1f} us"
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
        f"   Monte Carlo needs N = {needed:.2e} samples for {TARGET:g} relative error "
        f"(error at {run:.2e} samples: {achieved:.2e}); its time {mc_time:.1f} s is {note}"
    )
    print(f"   closed-form gradient of one network: {1e6 * analytic:.1f} us")
    report("one gradient at 1e-3 accuracy (K = d = 20)", analytic, mc_time, "Monte Carlo")


if __name__ == "__main__":
    main()
