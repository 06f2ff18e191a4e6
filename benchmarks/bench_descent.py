"""The spurious-minimum protocol: dynsys's compiled, certified descent runs against batched numpy.

Protocol (the table of examples/spurious_minima_table.py): teacher ``I_d``, ``K = K* = d``,
output weights one and fixed, ``W0`` entries ``N(0, 1/d)``, plain gradient descent with step 0.1
on Tian's closed-form population loss, stopped when ``max_j |dJ/dw_j| <= 1e-9/(2 pi)``; a run is
spurious when ``J >= 1e-3`` at its end.

- dynsys: :func:`dynsys.models.relu.descent_runs` (compiled loop per run on a reused pool of two
  threads, certified early termination, end points labelled up to unit and input permutations).
- Baseline, what one writes with numpy alone: the closed-form gradient of a batch of networks in
  a few array operations (``matmul`` for the cosines and the pull term, numpy's vectorised
  ``arccos``), a working batch of ``CHUNK`` runs that finished runs leave and queued runs refill
  (no run waits for the slowest of its chunk), on two worker processes (each with its half of the
  runs, interleaved; pool started and warmed before the warm timing). It runs every orbit to the
  convergence test.
- Same answers: every run's end point from the baseline is given the family of dynsys's label
  set (matched up to the symmetry) and its spurious verdict; the bench prints how many runs differ
  (must be 0).
- Timings: warm (pool and compiled code ready; dynsys best of two calls, numpy one call) and cold
  (a fresh process each: imports, numba compilation from an empty cache, pool start, the work).

Environment: ``BENCH_DESCENT_RUNS`` (runs per K in the comparison, default 200),
``BENCH_DESCENT_KS`` (comma-separated K values, default "6,10,15,20"),
``BENCH_DESCENT_TABLE`` (runs per K of the whole K = 6..20 table timed for dynsys alone,
default 1000; 0 skips it).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import time

import numpy as np

from benchmarks._timing import cold_time

STEP = 0.1
TOL = 1e-9 / (2 * np.pi)
SPURIOUS = 1e-3
CHUNK = 256
SEED = 2017
MAX_STEPS = 2_000_000


def initial_points(K: int, runs: int, seed: int = SEED) -> np.ndarray:
    """The protocol's initial networks: ``runs`` draws of ``W0 (K, K)`` with N(0, 1/K) entries."""
    rng = np.random.default_rng(seed * 1000 + K)
    return rng.normal(size=(runs, K, K)) / np.sqrt(K)


# ----------------------------------------------------------------------------- the baseline
def batched_gradient(W: np.ndarray) -> np.ndarray:
    """Tian's gradient for a batch ``W (B, K, d)`` against the identity teacher, all output
    weights one."""
    K = W.shape[1]
    norm = np.sqrt(np.einsum("bkd,bkd->bk", W, W))
    U = W / norm[..., None]
    cos = np.clip(U @ np.swapaxes(U, 1, 2), -1.0, 1.0)  # student pairs
    idx = np.arange(K)
    cos[:, idx, idx] = 1.0
    cos_t = np.clip(U, -1.0, 1.0)  # with teacher unit m: U[:, :, m]
    theta = np.pi - np.arccos(cos)
    sin = np.sqrt(np.maximum(1.0 - cos * cos, 0.0))
    theta_t = np.pi - np.arccos(cos_t)
    sin_t = np.sqrt(np.maximum(1.0 - cos_t * cos_t, 0.0))
    side = np.einsum("bkm,bm->bk", sin, norm) - sin_t.sum(axis=2)
    grad = theta @ W - theta_t + side[..., None] * U
    return grad / (2 * np.pi)


def numpy_descent(W0: np.ndarray, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Run every network of ``W0 (N, K, d)`` to the protocol's stopping rule, ``chunk`` at a
    time with refills; return the end points and the iterations."""
    N = len(W0)
    out = np.empty_like(W0)
    iters = np.zeros(N, dtype=np.int64)
    queue = list(range(N - 1, -1, -1))
    rows = np.array([queue.pop() for _ in range(min(chunk, N))], dtype=np.int64)
    W = W0[rows].copy()
    k = np.zeros(len(rows), dtype=np.int64)
    g = batched_gradient(W)
    while rows.size:
        block = np.einsum("bkd,bkd->bk", g, g).max(axis=1)
        done = (block <= TOL * TOL) | (k >= MAX_STEPS) | ~np.isfinite(block)
        if done.any():
            out[rows[done]] = W[done]
            iters[rows[done]] = k[done]
            keep = ~done
            new = [queue.pop() for _ in range(min(int(done.sum()), len(queue)))]
            rows = np.concatenate([rows[keep], np.array(new, dtype=np.int64)])
            W = np.concatenate([W[keep] - STEP * g[keep], W0[new]])
            k = np.concatenate([k[keep] + 1, np.zeros(len(new), dtype=np.int64)])
            if rows.size:
                g = batched_gradient(W)
            continue
        W -= STEP * g
        k += 1
        g = batched_gradient(W)
    return out, iters


def _baseline_part(W0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return numpy_descent(W0)


def _one_blas_thread() -> None:
    """Pool initializer: one BLAS thread per worker process (two processes already fill the two
    cores; more threads would oversubscribe them, and idle OpenBLAS threads spin)."""
    from threadpoolctl import threadpool_limits

    _LIMITS.append(threadpool_limits(limits=1))


_LIMITS: list = []


def _warm(_: int) -> int:
    numpy_descent(initial_points(3, 2))
    return os.getpid()


class Baseline:
    """The numpy protocol on a pool of ``workers`` processes (started once)."""

    def __init__(self, workers: int = 2) -> None:
        import multiprocessing as mp

        self.workers = workers
        self.pool = cf.ProcessPoolExecutor(
            workers, mp_context=mp.get_context("spawn"), initializer=_one_blas_thread
        )
        list(self.pool.map(_warm, range(workers)))

    def __call__(self, W0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [W0[i :: self.workers] for i in range(self.workers)]
        results = list(self.pool.map(_baseline_part, parts))
        out = np.empty_like(W0)
        iters = np.empty(len(W0), dtype=np.int64)
        for i, (W, k) in enumerate(results):
            out[i :: self.workers] = W
            iters[i :: self.workers] = k
        return out, iters

    def close(self) -> None:
        self.pool.shutdown()


# ------------------------------------------------------------------------------- comparison
def compare_outcomes(ds, W_end: np.ndarray) -> dict[str, int]:
    """Label the baseline's end points with dynsys's families; count the runs whose family or
    spurious verdict differ from dynsys's.

    A baseline end point belongs to family ``f`` when some image of the family's representative
    under unit and input permutations (found by two assignment problems) lies within ``1e-4`` of
    it: an explicit group element, so a match is a proof."""
    from dynsys.models.relu import loss
    from dynsys.models.relu._protocol import _align

    K = W_end.shape[1]
    J = loss(W_end, np.eye(K))
    reps = ds["family_w"].values
    fam_loss = ds["family_loss"].values
    labels = np.full(len(W_end), -1)
    for i, (W, Ji) in enumerate(zip(W_end, J, strict=True)):
        for f in np.flatnonzero(np.abs(fam_loss - Ji) <= 1e-6 * max(Ji, 1e-12) + 1e-12):
            if np.linalg.norm(W - _align(W, reps[f], "units_inputs")) <= 1e-4:
                labels[i] = f
                break
    ours = ds["label"].values
    verdict_ours = ds["loss_final"].values >= SPURIOUS
    return {
        "family_differs": int(np.sum(labels != ours)),
        "verdict_differs": int(np.sum((J >= SPURIOUS) != verdict_ours)),
        "spurious": int(np.sum(verdict_ours)),
    }


def _ours(W0: np.ndarray):
    from dynsys.models.relu import descent_runs

    return descent_runs(W0, np.eye(W0.shape[1]), step=STEP, gradient_tol=TOL, workers=2)


def cold_dynsys(K: int, runs: int) -> None:
    """One dynsys call as a fresh process makes it (for :func:`benchmarks._timing.cold_time`)."""
    _ours(initial_points(K, runs))


def cold_numpy(K: int, runs: int) -> None:
    """The baseline as a fresh process runs it: the pool started, the runs, the pool closed."""
    pool = Baseline(2)
    try:
        pool(initial_points(K, runs))
    finally:
        pool.close()


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    runs = int(os.environ.get("BENCH_DESCENT_RUNS", "200"))
    ks = [int(k) for k in os.environ.get("BENCH_DESCENT_KS", "6,10,15,20").split(",")]
    table_runs = int(os.environ.get("BENCH_DESCENT_TABLE", "1000"))
    baseline = Baseline(2)
    print(
        f"   protocol: teacher I, K = d, step {STEP}, stop at max_j |dJ/dw_j| <= 1e-9/(2 pi); "
        f"{runs} runs per K; baseline: batched numpy, working batch {CHUNK} with refills, "
        "2 processes; dynsys: descent_runs on 2 threads"
    )
    try:
        for K in ks:
            W0 = initial_points(K, runs)
            print(f"   load average before K = {K}: {os.getloadavg()[0]:.2f}", flush=True)
            t_ours, ds = _best(lambda W0=W0: _ours(W0), 2)
            t_base, (W_end, iters) = _best(lambda W0=W0: baseline(W0), 1)
            diff = compare_outcomes(ds, W_end)
            certified = int((ds["certified_at"].values >= 0).sum())
            print(
                f"   K = {K:2d}: dynsys {t_ours:.2f} s, numpy {t_base:.2f} s, ratio "
                f"{t_base / t_ours:.1f}x (warm); iterations {int(ds.iterations.sum()):,} vs "
                f"{int(iters.sum()):,}; {certified}/{runs} certified; spurious {diff['spurious']}; "
                f"runs with another family {diff['family_differs']}, another verdict "
                f"{diff['verdict_differs']}",
                flush=True,
            )
        K = ks[-1]
        cold_ours = cold_time("benchmarks.bench_descent:cold_dynsys", K=K, runs=runs)
        cold_base = cold_time("benchmarks.bench_descent:cold_numpy", K=K, runs=runs)
        print(
            f"   K = {K} cold (a fresh process each: imports, numba compilation from an empty "
            f"cache, pool start): dynsys {cold_ours:.2f} s, numpy {cold_base:.2f} s, ratio "
            f"{cold_base / cold_ours:.1f}x"
        )
    finally:
        baseline.close()
    if table_runs:
        print(f"   load average before the table: {os.getloadavg()[0]:.2f}", flush=True)
        start = time.perf_counter()
        spurious = []
        for K in range(6, 21):
            ds = _ours(initial_points(K, table_runs))
            spurious.append(float((ds["loss_final"].values >= SPURIOUS).mean()))
        total = time.perf_counter() - start
        print(
            f"   whole table K = 6..20, {table_runs} runs each ({15 * table_runs:,} runs): "
            f"dynsys {total:.1f} s wall; spurious fractions "
            + " ".join(f"{f:.3f}" for f in spurious)
        )


if __name__ == "__main__":
    main()
