"""The compiled loops of :mod:`._relu_tail` (private; imported on first use, since importing
numba takes a moment). Module-level functions, so that numba's on-disk cache serves every
process."""

import math

import numba
import numpy as np

from ..._status import Status

_RUNNING = int(Status.RUNNING)
_CONVERGED = int(Status.CONVERGED)
_ESCAPED = int(Status.ESCAPED)
_NONFINITE = int(Status.NONFINITE)
_TIME_LIMIT = int(Status.TIME_LIMIT)
_MAX_STEPS = int(Status.MAX_STEPS)


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
