"""Compiled gradient descent for the last few runs of a batch (private).

Profile (K = d = 20, one network left in the batch): a descent iteration in numpy costs about
80 us, of which the arithmetic (800 unit pairs, 3.2e4 multiply-adds, 800 arccos) is under 10 us;
the rest is the dispatch of some 50 small array operations. Batches are fine (about 6 us per
network and iteration at 1,000 networks, numpy's vectorised arccos is hard to beat), but runs
that approach a minimum with a small Hessian eigenvalue take 1e5 to 1e6 iterations and end up
alone in their batch: in the spurious-minimum experiment they were most of the wall time. This
module runs such runs to the end in one compiled loop per run (numba), with the stopping rules of
:func:`dynsys._descent.descent_flow`.
"""

from __future__ import annotations

import math

import numpy as np

from .._status import Status

__all__ = ["TeacherDescentTail"]

_RUNNING = int(Status.RUNNING)
_CONVERGED = int(Status.CONVERGED)
_ESCAPED = int(Status.ESCAPED)
_NONFINITE = int(Status.NONFINITE)
_TIME_LIMIT = int(Status.TIME_LIMIT)
_MAX_STEPS = int(Status.MAX_STEPS)

_compiled = None


def _kernels():
    """Compile (once per process; numba caches to disk) and return the descent loop."""
    global _compiled
    if _compiled is not None:
        return _compiled
    import numba

    @numba.njit(cache=True, fastmath={"contract", "reassoc"})
    def gradient(W, T, TU, a, b_t, beta_t, U, norm, pull, side, out):
        K, d = W.shape
        K_star = T.shape[0]
        for j in range(K):
            s = 0.0
            for k in range(d):
                s += W[j, k] * W[j, k]
            if not s > 0.0:
                return False
            norm[j] = math.sqrt(s)
            for k in range(d):
                U[j, k] = W[j, k] / norm[j]
        # student pairs: the angle is symmetric, compute it once per pair
        for j in range(K):
            pull[j, j] = math.pi * a[j]
            side[j] = 0.0
        for j in range(K):
            for m in range(j + 1, K):
                c = 0.0
                for k in range(d):
                    c += U[j, k] * U[m, k]
                c = min(1.0, max(-1.0, c))
                angle = math.pi - math.acos(c)
                sn = math.sqrt(max(1.0 - c * c, 0.0))
                pull[j, m] = a[m] * angle
                pull[m, j] = a[j] * angle
                side[j] += sn * a[m] * norm[m]
                side[m] += sn * a[j] * norm[j]
        for j in range(K):
            for k in range(d):
                out[j, k] = 0.0
            for m in range(K):
                coef = pull[j, m]
                for k in range(d):
                    out[j, k] += coef * W[m, k]
            sd = side[j]
            for m in range(K_star):
                c = 0.0
                for k in range(d):
                    c += U[j, k] * TU[m, k]
                c = min(1.0, max(-1.0, c))
                coef = b_t[m] * (math.pi - math.acos(c))
                for k in range(d):
                    out[j, k] += coef * T[m, k]
                sd += math.sqrt(max(1.0 - c * c, 0.0)) * beta_t[m]
            f = a[j] / (2.0 * math.pi)
            for k in range(d):
                out[j, k] = f * (out[j, k] + sd * U[j, k])
        return True

    @numba.njit(cache=True)
    def descend(x, g, k, eta, tol_sq, block, esc_sq, k_time, max_steps, T, TU, a, b_t, beta_t):
        n = x.size
        K = a.size
        d = n // K
        U = np.empty((K, d))
        norm = np.empty(K)
        pull = np.empty((K, K))
        side = np.empty(K)
        x_new = np.empty(n)
        g_new = np.empty(n)
        while True:
            for i in range(n):
                x_new[i] = x[i] - eta * g[i]
            ok = gradient(
                x_new.reshape(K, d),
                T,
                TU,
                a,
                b_t,
                beta_t,
                U,
                norm,
                pull,
                side,
                g_new.reshape(K, d),
            )
            k += 1
            x_sq = 0.0
            g_sq = 0.0
            for i in range(n):
                x_sq += x_new[i] * x_new[i]
                g_sq += g_new[i] * g_new[i]
            if not ok:  # a zero hidden unit: the gradient is undefined (NaN in numpy)
                g_sq = np.nan
            code = _RUNNING
            if tol_sq > 0.0:
                conv = g_sq
                if block > 0:
                    conv = 0.0
                    for start in range(0, n, block):
                        s = 0.0
                        for i in range(start, start + block):
                            s += g_new[i] * g_new[i]
                        conv = max(conv, s)
                if conv <= tol_sq:
                    code = _CONVERGED
            if x_sq > esc_sq:
                code = _ESCAPED
            if not (math.isfinite(x_sq) and math.isfinite(g_sq)):
                finite = ok
                for i in range(n):
                    if not (math.isfinite(x_new[i]) and math.isfinite(g_new[i])):
                        finite = False
                code = _ESCAPED if finite else _NONFINITE
            if code == _RUNNING:
                if k >= k_time:
                    code = _TIME_LIMIT
                elif k >= max_steps:
                    code = _MAX_STEPS
            if code == _NONFINITE:  # report the last finite iterate
                prev_sq = 0.0
                for i in range(n):
                    prev_sq += g[i] * g[i]
                return x, k - 1, code, prev_sq
            if code != _RUNNING:
                return x_new, k, code, g_sq
            x, x_new = x_new, x
            g, g_new = g_new, g

    _compiled = descend
    return descend


class TeacherDescentTail:
    """Finish descent runs of a fixed-output-weight teacher-student network one at a time in a
    compiled loop (see the module notes); ``max_batch`` says from which batch size on.

    At K = d = 20 a compiled iteration costs about 15 us per run, a numpy iteration about
    60 us plus 6 us per run: from about a dozen runs down, and whenever the remaining runs need
    very different numbers of iterations, one run at a time in the compiled loop is cheaper.

    Examples
    --------
    >>> tail = TeacherDescentTail(np.eye(2), np.ones(2), np.ones(2))
    >>> x, k, code, g_sq = tail.run(np.array([0.9, 0.1, 0.1, 0.9]), 0, learning_rate=0.5,
    ...     converge_tol=1e-10, converge_block=None, escape_radius=1e8, k_time=10**6,
    ...     max_steps=10**6)
    >>> np.round(x, 8).tolist(), int(code) == int(Status.CONVERGED)
    ([1.0, 0.0, 0.0, 1.0], True)
    """

    max_batch = 12

    def __init__(self, W_star: np.ndarray, a: np.ndarray, a_star: np.ndarray) -> None:
        T = np.ascontiguousarray(W_star, dtype=float)
        norm_t = np.linalg.norm(T, axis=1)
        inv = np.divide(1.0, norm_t, out=np.zeros_like(norm_t), where=norm_t > 0)
        self.T = T
        self.TU = np.ascontiguousarray(T * inv[:, None])
        self.a = np.ascontiguousarray(a, dtype=float)
        self.b_t = -np.asarray(a_star, dtype=float)
        self.beta_t = self.b_t * norm_t

    def run(
        self,
        x: np.ndarray,
        k: int,
        *,
        learning_rate: float,
        converge_tol: float | None,
        converge_block: int | None,
        escape_radius: float,
        k_time: int,
        max_steps: int,
        g: np.ndarray | None = None,
    ) -> tuple[np.ndarray, int, int, float]:
        """Iterate from state ``x`` (gradient ``g``, computed if None) at iteration ``k`` until a
        stopping rule holds; return ``(x, k, status code, |grad|^2)`` as descent_flow records."""
        descend = _kernels()
        x = np.array(x, dtype=float)
        g = _python_gradient(self, x) if g is None else np.array(g, dtype=float)
        tol_sq = 0.0 if converge_tol is None else float(converge_tol) ** 2
        esc_sq = float(escape_radius) ** 2 if np.isfinite(escape_radius) else np.inf
        x_end, k_end, code, g_sq = descend(
            x,
            g,
            int(k),
            float(learning_rate),
            tol_sq,
            int(converge_block or 0),
            esc_sq,
            int(k_time),
            int(max_steps),
            self.T,
            self.TU,
            self.a,
            self.b_t,
            self.beta_t,
        )
        return np.array(x_end), int(k_end), int(code), float(g_sq)


def _python_gradient(tail: TeacherDescentTail, x: np.ndarray) -> np.ndarray:
    from ._relu_fixed import FixedTeacherGradient

    out = FixedTeacherGradient(tail.T, tail.a, -tail.b_t)(x)
    return np.full_like(x, np.nan) if out is None else out
