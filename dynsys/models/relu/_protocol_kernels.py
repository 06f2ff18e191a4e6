"""The compiled descent loop of :mod:`._protocol` (private; numba, imported on first use).

One call runs one network from its current iterate until a stopping rule holds or it asks for a
certificate. Everything is laid out so that the compiler vectorises the inner loops: the angles
of the whole cosine matrix ``U U^T`` (both triangles) are taken in one flat loop, which costs
less than gathering the pairs into a flat array and scattering their angles back; the norms'
square roots and quotients are taken in flat loops too. The angle uses a polynomial arc-sine
(below) instead of the C library's scalar ``acos``, which the compiler cannot vectorise (about
14 ns a call here against under 1 ns per lane).

Arc-sine: ``asin(s) = s + s^3 R(s^2)`` for ``0 <= s <= 1/2``, where
``R(z) = sum_{n>=1} c_n z^(n-1)``, ``c_n = (2n)! / (4^n (n!)^2 (2n+1))`` (the Maclaurin series of
``asin``). ``R`` is replaced by the least-squares polynomial of degree 12 in ``u = 4 z`` on
Chebyshev nodes of ``[0, 1]``, fitted at import to values of the series summed to 80 terms
(positive terms, so the sum is accurate to rounding): relative error about 1e-15 in ``R``, below
3e-17 in ``asin`` since ``s^3 R`` is at most 0.025 of it. Then ``acos(c) = pi/2 - asin(c)`` for
``|c| <= 1/2``, and ``2 asin(sqrt((1 - c)/2))`` or ``pi - 2 asin(sqrt((1 + c)/2))`` beyond
(``1 - |c|`` is exact there). The tests compare it with ``numpy.arccos`` over ``[-1, 1]``.

For a teacher equal to the identity (``K* = d``, the protocol of the spurious-minimum table), the
cosine of student unit ``j`` with teacher unit ``m`` is ``U[j, m]`` itself: no products at all.
"""

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
_NOT_DIFFERENTIABLE = int(Status.NOT_DIFFERENTIABLE)
PAUSE_GRADIENT = 100  # returned code: the gradient fell below the pause threshold
PAUSE_BALL = 101  # returned code: the iterate entered the candidate ball

_FM = {"contract", "reassoc"}


def _asin_polynomial(degree: int = 12, nodes: int = 2000) -> np.ndarray:
    """Coefficients (increasing powers of ``u = 4 s^2``) of the polynomial that replaces ``R``
    (module notes)."""
    series = np.empty(80)
    series[0] = 1.0 / 6.0
    for n in range(1, series.size):
        series[n] = series[n - 1] * (2 * n + 1) ** 2 / ((2 * n + 2) * (2 * n + 3))
    u = 0.5 * (1.0 - np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes))
    values = np.zeros(nodes)
    for c in series[::-1]:
        values = values * (u / 4.0) + c
    vandermonde = np.vander(u, degree + 1, increasing=True)
    return np.linalg.lstsq(vandermonde, values, rcond=None)[0]


ASIN_POLY = _asin_polynomial()
_TOP = ASIN_POLY.size - 1
_HALF_PI = 0.5 * math.pi


@numba.njit(inline="always", fastmath=_FM)
def _asin_small(s):
    z = s * s
    u = 4.0 * z
    r = ASIN_POLY[_TOP]
    for i in range(_TOP - 1, -1, -1):
        r = r * u + ASIN_POLY[i]
    return s + s * z * r


@numba.njit(inline="always", fastmath=_FM)
def _acos(c):
    """``acos(c)`` for ``c`` in ``[-1, 1]``: the argument is reduced first, so that one
    polynomial is evaluated."""
    a = abs(c)
    small = a <= 0.5
    s = c if small else math.sqrt(0.5 * (1.0 - a))
    r = _asin_small(s)
    big = 2.0 * r if c > 0.0 else math.pi - 2.0 * r
    return _HALF_PI - r if small else big


@numba.njit(cache=True, fastmath=_FM)
def acos_array(c, out):
    """``out[i] = acos(c[i])`` for ``c`` in ``[-1, 1]`` (tests compare it with numpy)."""
    for i in range(c.size):
        out[i] = _acos(c[i])


@numba.njit(inline="always", fastmath=_FM)
def _angles(c, n, theta, sine):
    """``theta[i] = pi - acos(c[i])`` and ``sine[i] = sin(acos(c[i]))`` for ``i < n``, ``c``
    clipped to ``[-1, 1]`` (a flat loop the compiler vectorises)."""
    for i in range(n):
        x = min(1.0, max(-1.0, c[i]))
        theta[i] = math.pi - _acos(x)
        sine[i] = math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))


@numba.njit(cache=True, fastmath=_FM)
def _gradient(
    W, a, T, b_t, beta_t, identity,
    norm, U, UT, C, P, S, side, an, tt, st, TUT, CT, pull,
    Cf, Pf, Sf, Uf, ttf, stf, CTf,
    out,
):  # fmt: skip
    """Tian's gradient of ``W (K, d)`` into ``out (K, d)``; False at a zero hidden unit.

    Arguments as :func:`gradient_into`, with the arrays of the work space one by one and then
    their flat views (:func:`flat_views`). A loop unpacks the work space and takes the views
    once: each array taken from a tuple, and each view, costs atomic reference counts, which
    at K = 20 cost 4% of an iteration and at K = 12 10% when taken at every gradient.
    """
    K, d = W.shape
    for j in range(K):
        s = 0.0
        for k in range(d):
            s += W[j, k] * W[j, k]
        if not s > 0.0:
            return False
        norm[j] = s
    for j in range(K):  # the square roots and quotients of all rows in flat loops
        norm[j] = math.sqrt(norm[j])
    for j in range(K):
        an[j] = 1.0 / norm[j]
    for j in range(K):
        inv = an[j]
        for k in range(d):
            U[j, k] = W[j, k] * inv
    for j in range(K):  # U^T, so that the product below has no transposed operand
        for k in range(d):
            UT[k, j] = U[j, k]
    np.dot(U, UT, C)  # cosines of all student pairs
    # the angles of the whole matrix (both triangles) in one flat loop: twice the angles of the
    # pairs, but no gathering of pairs and no scattering back (which cost more)
    _angles(Cf, K * K, Pf, Sf)
    for j in range(K):
        P[j, j] = math.pi
        S[j, j] = 0.0
    for j in range(K):
        an[j] = a[j] * norm[j]
    for j in range(K):
        sd = 0.0
        for m in range(K):
            P[j, m] *= a[m]
            sd += S[j, m] * an[m]
        side[j] = sd
    np.dot(P, W, out)  # the pull of the other students
    Ks = b_t.size
    if identity:  # the cosine with teacher unit k is U[j, k]
        _angles(Uf, K * d, ttf, stf)
        for j in range(K):
            sd = side[j]
            for k in range(d):
                sd += beta_t[k] * st[j, k]
            f = a[j] / (2.0 * math.pi)
            for k in range(d):
                out[j, k] = f * (out[j, k] + b_t[k] * tt[j, k] + sd * U[j, k])
    else:
        np.dot(U, TUT, CT)
        _angles(CTf, K * Ks, ttf, stf)
        for j in range(K):
            sd = side[j]
            for m in range(Ks):
                tt[j, m] *= b_t[m]
                sd += beta_t[m] * st[j, m]
            side[j] = sd
        np.dot(tt, T, pull)  # the teacher's pull
        for j in range(K):
            f = a[j] / (2.0 * math.pi)
            sd = side[j]
            for k in range(d):
                out[j, k] = f * (out[j, k] + pull[j, k] + sd * U[j, k])
    return True


@numba.njit(inline="always")
def flat_views(ws):
    """Flat views of the work-space arrays that :func:`_angles` reads and writes."""
    _, U, _, C, P, S, _, _, tt, st, _, CT, _ = ws
    return C.ravel(), P.ravel(), S.ravel(), U.ravel(), tt.ravel(), st.ravel(), CT.ravel()


@numba.njit(cache=True, fastmath=_FM)
def gradient_into(W, a, T, TU, b_t, beta_t, identity, ws, out):
    """Tian's gradient of ``W (K, d)`` into ``out (K, d)``; False at a zero hidden unit.

    ``T`` holds the teacher's units as rows and ``TU`` their directions (zero rows for zero
    units), ``b_t`` minus the teacher's output weights and ``beta_t`` those times the teacher's
    norms; with ``identity`` the teacher is ``I_d`` and ``T``, ``TU`` are not read. ``ws`` is the
    work space of :func:`workspace` (made for ``TU``). The matrix products (the cosines
    ``U U^T``, the pull terms ``P W``) go to BLAS; the angles are taken in flat loops.
    """
    norm, U, UT, C, P, S, side, an, tt, st, TUT, CT, pull = ws
    Cf, Pf, Sf, Uf, ttf, stf, CTf = flat_views(ws)
    return _gradient(
        W, a, T, b_t, beta_t, identity, norm, U, UT, C, P, S, side, an, tt, st, TUT, CT, pull,
        Cf, Pf, Sf, Uf, ttf, stf, CTf, out
    )  # fmt: skip


@numba.njit(cache=True)
def workspace(K, d, Ks, TU):
    """Scratch arrays of :func:`gradient_into` for ``K`` students, ``d`` inputs and the teacher
    directions ``TU (Ks, d)``."""
    return (
        np.empty(K),  # norms
        np.empty((K, d)),  # unit directions U
        np.empty((d, K)),  # U^T
        np.empty((K, K)),  # cosines
        np.empty((K, K)),  # angle terms, then the pull coefficients
        np.empty((K, K)),  # sines
        np.empty(K),  # side terms
        np.empty(K),  # output weights times norms
        np.empty((K, Ks)),
        np.empty((K, Ks)),
        np.ascontiguousarray(TU.T),
        np.empty((K, Ks)),
        np.empty((K, d)),
    )


@numba.njit(cache=True, nogil=True, fastmath=_FM)
def descend(
    W,
    k,
    eta,
    tol_sq,
    esc_sq,
    k_time,
    max_steps,
    pause_sq,
    center,
    radius_sq,
    a,
    T,
    TU,
    b_t,
    beta_t,
    identity,
):
    """Gradient descent on one network from iterate ``W (K, d)`` (C-contiguous, updated in
    place) at iteration ``k``, until a stopping rule holds or a pause is asked for.

    Stopping rules, checked after every step as :func:`dynsys.integrate.flow` does for gradient
    descent with ``converge_block = d``: converged when ``max_j |dJ/dw_j|^2 <= tol_sq``;
    escaped when ``|W|^2 > esc_sq``; non-finite (the last finite iterate is kept, ``k - 1``); the
    iteration limits ``k_time`` and ``max_steps``; a start iterate with a zero hidden unit is
    ``NOT_DIFFERENTIABLE``. Pauses: ``PAUSE_GRADIENT`` when
    ``max_j |dJ/dw_j|^2 <= pause_sq`` (before the convergence test is met), ``PAUSE_BALL`` when
    ``|W - center|^2 <= radius_sq``. The start iterate is tested too (iteration ``k``).

    Returns ``(k, code, max_j |dJ/dw_j|^2, |grad|^2)``.
    """
    K, d = W.shape
    ws = workspace(K, d, b_t.size, TU)
    norm, U, UT, C, P, S, side, an, tt, st, TUT, CT, pull = ws
    Cf, Pf, Sf, Uf, ttf, stf, CTf = flat_views(ws)
    g = np.empty((K, d))
    W_prev = np.empty((K, d))
    W_flat = W.reshape(K * d)  # W is C-contiguous (a run's row of the runs' array)
    Wp_flat = W_prev.reshape(K * d)
    g_flat = g.reshape(K * d)
    first = True
    while True:
        if not first:
            for q in range(K * d):
                Wp_flat[q] = W_flat[q]
                W_flat[q] -= eta * g_flat[q]
            k += 1
        ok = _gradient(
            W, a, T, b_t, beta_t, identity, norm, U, UT, C, P, S, side, an, tt, st, TUT, CT,
            pull, Cf, Pf, Sf, Uf, ttf, stf, CTf, g
        )  # fmt: skip
        block = 0.0
        g_sq = 0.0
        x_sq = 0.0
        for j in range(K):
            s = 0.0
            for i in range(d):
                s += g[j, i] * g[j, i]
            g_sq += s
            x_sq += norm[j] * norm[j]  # |w_j|, from the gradient
            block = max(block, s)
        ball = np.inf
        if radius_sq > 0.0:
            ball = 0.0
            for j in range(K):
                bs = 0.0
                for i in range(d):
                    dc = W[j, i] - center[j, i]
                    bs += dc * dc
                ball += bs
        finite = math.isfinite(x_sq)
        if not ok:
            if first:
                return k, _NOT_DIFFERENTIABLE, np.nan, np.nan
            code = _NONFINITE
        elif not (finite and math.isfinite(g_sq)):
            code = _NONFINITE
        elif x_sq > esc_sq:
            code = _ESCAPED
        elif tol_sq > 0.0 and block <= tol_sq:
            code = _CONVERGED
        elif block <= pause_sq:
            code = PAUSE_GRADIENT
        elif ball <= radius_sq:
            code = PAUSE_BALL
        elif k >= k_time:
            code = _TIME_LIMIT
        elif k >= max_steps:
            code = _MAX_STEPS
        else:
            code = _RUNNING
        if code == _NONFINITE and not first:  # report the last finite iterate
            for j in range(K):
                for i in range(d):
                    W[j, i] = W_prev[j, i]
            return k - 1, code, np.nan, np.nan
        if code != _RUNNING:
            return k, code, block, g_sq
        first = False
