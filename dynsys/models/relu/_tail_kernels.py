"""The compiled loop of :mod:`._tail` (private; imported on first use, since importing numba
takes a moment). A module-level function, so that numba's on-disk cache serves every process;
the gradient is the one of :mod:`._protocol_kernels`."""

import math

import numba
import numpy as np

from ..._status import Status
from ._protocol_kernels import gradient_into, workspace

_RUNNING = int(Status.RUNNING)
_CONVERGED = int(Status.CONVERGED)
_ESCAPED = int(Status.ESCAPED)
_NONFINITE = int(Status.NONFINITE)
_TIME_LIMIT = int(Status.TIME_LIMIT)
_MAX_STEPS = int(Status.MAX_STEPS)


@numba.njit(cache=True)
def descend(
    x, g, k, eta, tol_sq, block, esc_sq, k_time, max_steps, T, TU, a, b_t, beta_t, identity
):
    n = x.size
    K = a.size
    d = n // K
    ws = workspace(K, d, b_t.size, TU)
    x_new = np.empty(n)
    g_new = np.empty(n)
    while True:
        for i in range(n):
            x_new[i] = x[i] - eta * g[i]
        W_new, G_new = x_new.reshape(K, d), g_new.reshape(K, d)
        ok = gradient_into(W_new, a, T, TU, b_t, beta_t, identity, ws, G_new)
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
