"""Matrix-free Hessian spectra of the teacher-student ReLU network, on one core.

1. ``k = d = 40`` (1,600 parameters), the largest size where the dense route is comfortable:
   the analytic Hessian-vector product with ARPACK for the 5 largest and 5 smallest eigenvalues
   against the fastest of three dense routes, each forming the closed-form Hessian first:
   ``numpy.linalg.eigvalsh`` (all eigenvalues), ``scipy.linalg.eigh`` with ``subset_by_index``
   (the two ends only), and ARPACK on the dense matrix. The eigenvalues are checked to agree to
   1e-8; timed warm and cold. Stochastic Lanczos quadrature (20 probes x 80 steps) is set next to
   the dense count of eigenvalues below 1 as accuracy per time (an estimate with a standard
   error against an exact count: not equal work, so no speed-up is claimed).
2. ``k = d = 100`` (10^4 parameters; the dense Hessian alone would be 800 MB): the same
   matrix-free computations, timed; the Hessian is never formed.

No baseline runs at ``k = d = 100``: the numbers there are times and memory, not ratios.

The network is the identity teacher with the student ``W = I + 0.3 G / sqrt(d)`` (``G``
standard normal): a generic point near the global minimum. BLAS runs on one thread for both
routes (threadpoolctl).
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import scipy.linalg
import scipy.sparse.linalg
from threadpoolctl import threadpool_limits

from benchmarks._timing import best_time, cold_time, report

DENSE_SIZE = 40
LARGE_SIZE = 100
TOP = 5
PROBES, STEPS = 20, 80


def student(kd: int) -> np.ndarray:
    rng = np.random.default_rng(2017)
    return np.eye(kd) + 0.3 * rng.standard_normal((kd, kd)) / np.sqrt(kd)


def matrix_free(system, W: np.ndarray) -> tuple:
    """The Hessian operator and its ``TOP`` largest and smallest eigenvalues (ARPACK)."""
    from dynsys.spectra import extreme_eigenvalues, hessian_operator

    H = hessian_operator(system, W.ravel())
    ds = extreme_eigenvalues(H, k=TOP, which="both", ncv=40)
    return H, ds


def dense_eigvalsh(W: np.ndarray) -> np.ndarray:
    """The ``TOP`` smallest then ``TOP`` largest eigenvalues (both ascending): all of them by
    ``numpy.linalg.eigvalsh`` of the closed-form Hessian."""
    from dynsys.models.relu import hessian

    lam = np.linalg.eigvalsh(hessian(W, np.eye(len(W))))
    return np.r_[lam[:TOP], lam[-TOP:]]


def dense_subset(W: np.ndarray) -> np.ndarray:
    """As :func:`dense_eigvalsh`, by ``scipy.linalg.eigh`` computing only the two ends."""
    from dynsys.models.relu import hessian

    H = hessian(W, np.eye(len(W)))
    n = len(H)
    low = scipy.linalg.eigh(H, eigvals_only=True, subset_by_index=[0, TOP - 1])
    high = scipy.linalg.eigh(H, eigvals_only=True, subset_by_index=[n - TOP, n - 1])
    return np.r_[low, high]


def dense_arpack(W: np.ndarray) -> np.ndarray:
    """As :func:`dense_eigvalsh`, by ARPACK (both ends at once) on the dense matrix."""
    from dynsys.models.relu import hessian

    H = hessian(W, np.eye(len(W)))
    lam = scipy.sparse.linalg.eigsh(H, k=2 * TOP, which="BE", ncv=40, return_eigenvectors=False)
    return np.sort(lam)


DENSE_ROUTES = {
    "dense Hessian + numpy eigvalsh": dense_eigvalsh,
    "dense Hessian + scipy eigh (two ends only)": dense_subset,
    "dense Hessian + ARPACK": dense_arpack,
}


def ours_cold(kd: int) -> None:
    """The matrix-free extreme eigenvalues on one thread (the cold-timing entry point)."""
    from dynsys.models.relu import teacher_student

    with threadpool_limits(1):
        matrix_free(teacher_student(np.eye(kd)), student(kd))


def baseline_cold(kd: int, route: str) -> None:
    """One dense route on one thread (the cold-timing entry point)."""
    with threadpool_limits(1):
        DENSE_ROUTES[route](student(kd))


def main(dense_size: int = DENSE_SIZE, large_size: int = LARGE_SIZE, cold: bool = True) -> None:
    from dynsys.models.relu import hessian, teacher_student
    from dynsys.spectra import hessian_operator, spectral_density

    with threadpool_limits(1):
        kd = dense_size
        W = student(kd)
        system = teacher_student(np.eye(kd))
        dense = np.linalg.eigvalsh(hessian(W, np.eye(kd)))
        expected = np.r_[dense[:TOP], dense[-TOP:]]
        _, ds = matrix_free(system, W)
        ours_values = np.sort(ds["eigenvalue"].values)
        err = float(np.abs(ours_values - expected).max())
        assert err < 1e-8, f"extreme eigenvalues disagree with dense eigvalsh by {err:.2e}"
        route_err = {
            name: float(np.abs(route(W) - expected).max()) for name, route in DENSE_ROUTES.items()
        }
        assert max(route_err.values()) < 1e-8, f"dense routes disagree: {route_err}"
        route_time = {
            name: best_time(lambda r=r: r(W), repeat=2) for name, r in DENSE_ROUTES.items()
        }
        fastest = min(route_time, key=route_time.get)
        t_ours = best_time(lambda: matrix_free(system, W), repeat=2)
        print(
            f"   k = d = {kd} ({kd * kd} parameters): largest {dense[-1]:.6f}, smallest "
            f"{dense[0]:.6f}; {ds.attrs['n_products']} Hessian-vector products; dense routes "
            + ", ".join(f"{name} {t:.3f} s" for name, t in route_time.items())
        )
        times = None
        if cold:
            times = (
                cold_time("benchmarks.bench_spectra:ours_cold", kd=kd),
                cold_time("benchmarks.bench_spectra:baseline_cold", kd=kd, route=fastest),
            )
        report(
            f"{TOP} largest + {TOP} smallest eigenvalues, n = {kd * kd}",
            t_ours,
            route_time[fastest],
            fastest,
            cold=times,
            settings="the fastest of the three dense routes above, one BLAS thread",
            agreement=f"largest difference from dense eigvalsh {err:.1e} (required < 1e-8)",
            warm_note="best of 2",
        )
        H = hessian_operator(system, W.ravel())
        start = time.perf_counter()
        slq = spectral_density(H, n_vectors=PROBES, lanczos_steps=STEPS, seed=1, thresholds=[1.0])
        t_slq = time.perf_counter() - start
        count, se = slq["count_below"].item(), slq["count_below_se"].item()
        truth = int((dense < 1.0).sum())
        print(
            f"   accuracy per time (not equal work, no speed-up claimed): SLQ ({PROBES} probes x "
            f"{STEPS} steps) estimates {count:.1f} +- {se:.1f} eigenvalues below 1 in "
            f"{t_slq:.2f} s; the exact dense count is {truth} "
            f"({abs(count - truth) / se:.1f} s.e. away), in "
            f"{route_time['dense Hessian + numpy eigvalsh']:.2f} s by dense eigvalsh"
        )

        kd = large_size
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
