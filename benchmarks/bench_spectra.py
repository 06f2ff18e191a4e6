"""Matrix-free Hessian spectra of the teacher-student ReLU network, on one core.

1. ``k = d = 40`` (1,600 parameters), the largest size where the dense route is comfortable:
   forming the closed-form Hessian and ``numpy.linalg.eigvalsh`` against the analytic
   Hessian-vector product with ARPACK for the 5 largest and 5 smallest eigenvalues (checked to
   agree to 1e-8), and stochastic Lanczos quadrature (20 probes x 80 steps) against the dense
   count of eigenvalues below 1.
2. ``k = d = 100`` (10^4 parameters; the dense Hessian alone would be 800 MB): the same
   matrix-free computations, timed; the Hessian is never formed.

The network is the identity teacher with the student ``W = I + 0.3 G / sqrt(d)`` (``G``
standard normal): a generic point near the global minimum. BLAS runs on one thread for both
routes (threadpoolctl).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
from threadpoolctl import threadpool_limits

from benchmarks._timing import best_time, report
from dynsys.models.relu import hessian, teacher_student
from dynsys.spectra import extreme_eigenvalues, hessian_operator, spectral_density

DENSE_SIZE = 40
LARGE_SIZE = 100
TOP = 5
PROBES, STEPS = 20, 80


def student(kd: int) -> np.ndarray:
    rng = np.random.default_rng(2017)
    return np.eye(kd) + 0.3 * rng.standard_normal((kd, kd)) / np.sqrt(kd)


def matrix_free(system, W: np.ndarray) -> tuple:
    H = hessian_operator(system, W.ravel())
    ds = extreme_eigenvalues(H, k=TOP, which="both", ncv=40)
    return H, ds


def main() -> None:
    with threadpool_limits(1):
        kd = DENSE_SIZE
        W = student(kd)
        system = teacher_student(np.eye(kd))
        dense = np.linalg.eigvalsh(hessian(W, np.eye(kd)))
        _, ds = matrix_free(system, W)
        expected = np.r_[dense[:TOP], dense[::-1][:TOP]]
        err = float(np.abs(ds["eigenvalue"].values - expected).max())
        assert err < 1e-8, f"extreme eigenvalues disagree with dense eigvalsh by {err:.2e}"
        t_dense = best_time(lambda: np.linalg.eigvalsh(hessian(W, np.eye(kd))), repeat=2)
        t_ours = best_time(lambda: matrix_free(system, W), repeat=2)
        print(
            f"   k = d = {kd} ({kd * kd} parameters): extreme eigenvalues agree with dense to "
            f"{err:.1e} (largest {dense[-1]:.6f}, smallest {dense[0]:.6f}); "
            f"{ds.attrs['n_products']} Hessian-vector products"
        )
        report(
            f"{TOP} largest + {TOP} smallest eigenvalues, n = {kd * kd}",
            t_ours,
            t_dense,
            "dense Hessian + eigvalsh",
        )
        H = hessian_operator(system, W.ravel())
        start = time.perf_counter()
        slq = spectral_density(H, n_vectors=PROBES, lanczos_steps=STEPS, seed=1, thresholds=[1.0])
        t_slq = time.perf_counter() - start
        count, se = slq["count_below"].item(), slq["count_below_se"].item()
        truth = int((dense < 1.0).sum())
        print(
            f"   SLQ ({PROBES} probes x {STEPS} steps) in {t_slq:.2f} s: {count:.1f} +- {se:.1f} "
            f"eigenvalues below 1, dense count {truth} ({abs(count - truth) / se:.1f} s.e.)"
        )
        report(f"SLQ density, n = {kd * kd}", t_slq, t_dense, "dense Hessian + eigvalsh")

        kd = LARGE_SIZE
        W = student(kd)
        system = teacher_student(np.eye(kd))
        tracemalloc.start()  # peak of Python-allocated memory (numpy arrays included)
        start = time.perf_counter()
        H, ds = matrix_free(system, W)
        t_ext = time.perf_counter() - start
        peak_ext = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        lam, res = ds["eigenvalue"].values, ds["residual"].values
        print(
            f"   k = d = {kd} ({kd * kd} parameters, never formed): {TOP} largest + {TOP} "
            f"smallest eigenvalues in {t_ext:.1f} s ({ds.attrs['n_products']} products); "
            f"largest {lam[TOP]:.6f}, smallest {lam[0]:.6f}, max residual {np.nanmax(res):.1e}"
        )
        start = time.perf_counter()
        slq = spectral_density(H, n_vectors=PROBES, lanczos_steps=STEPS, seed=1, thresholds=[1.0])
        t_slq = time.perf_counter() - start
        peak_slq = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"   SLQ ({PROBES} probes x {STEPS} steps) in {t_slq:.1f} s: "
            f"{slq['count_below'].item():.1f} +- {slq['count_below_se'].item():.1f} of "
            f"{kd * kd} eigenvalues below 1"
        )
        dense_bytes = 8 * (kd * kd) ** 2
        print(
            f"   memory at n = {kd * kd} (tracemalloc peak): extreme eigenvalues "
            f"{peak_ext / 2**20:.1f} MiB, SLQ {peak_slq / 2**20:.1f} MiB; the dense Hessian "
            f"alone would be {dense_bytes / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
