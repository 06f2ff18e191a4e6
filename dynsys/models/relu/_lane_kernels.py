"""The lane kernel of :mod:`._protocol`: ``LANES`` descent runs advanced together (private;
numba, imported on first use).

Layout: structure of arrays with the runs innermost, ``W (K, d, LANES)``, so that every loop of
the gradient (row norms, the cosines of unit pairs, their angles, the pull of the other units
and of the teacher) runs over the lanes with a trip count known to the compiler and is
vectorised across runs. There is no BLAS call (the per-run products are too small for it, and
BLAS calls from two threads contend), so threads scale with the cores.

Each lane's arithmetic reads only that lane (sums over units and inputs in a fixed order), so a
run's trajectory does not depend on its lane or on the runs beside it: it is the same whenever
and wherever it is run. It differs from the one-run loop :func:`._protocol_kernels.descend`
(whose products go to BLAS) by rounding only.

Arc-cosines use the polynomial ``_acos`` of :mod:`._protocol_kernels` (within two ulp of
``numpy.arccos``).
"""

import math

import numba
import numpy as np

from ._protocol_kernels import (  # noqa: F401
    _CONVERGED,
    _ESCAPED,
    _MAX_STEPS,
    _NONFINITE,
    _NOT_DIFFERENTIABLE,
    _RUNNING,
    _TIME_LIMIT,
    PAUSE_BALL,
    PAUSE_GRADIENT,
    _acos,
)

LANES = 8  # runs per kernel call (a compile-time constant of the loops below)

_FM = {"contract"}  # fused multiply-add only: each lane's sums keep their order
_PI = math.pi


@numba.njit(cache=True, nogil=True)
def lane_workspace(K, d, Ks, L):
    """Scratch arrays of :func:`lane_gradient` for ``K`` students, ``d`` inputs, ``Ks`` teacher
    units and ``L`` lanes."""
    pairs = max(K * (K - 1) // 2, 1)
    return (
        np.empty((K, L)),  # norms
        np.empty((K, d, L)),  # unit directions
        np.empty((K, L)),  # side terms
        np.empty((K, max(K, Ks), L)),  # pull coefficients of the students and of the teacher
        np.empty(L),  # lane flags: 1.0 when no hidden unit is zero
        np.empty((pairs, L)),  # cosines of the unit pairs
        np.empty((pairs, L)),  # their angle terms
        np.empty((pairs, L)),  # their sines
    )


@numba.njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def lane_gradient(W, a, T, TU, b_t, beta_t, identity, ws, out):
    """Tian's gradient of every lane of ``W (K, d, L)`` into ``out (K, d, L)``.

    ``ws[4][l]`` is set to 1.0 when lane ``l`` has no zero hidden unit, else 0.0 (its gradient
    is then not finite). Arguments as :func:`._protocol_kernels.gradient_into`; ``ws`` from
    :func:`lane_workspace`. Every loop over lanes is innermost and calls nothing (a call per
    unit pair would cost more than the pair's arithmetic); sums over inputs and units are taken
    four terms at a time, so that each partial sum is loaded and stored once per four products.
    """
    K, D, L = W.shape
    nrm, U, side, P, okl, cp, tp, sp = ws
    Ks = b_t.size
    D4 = D - D % 4
    K4 = K - K % 4
    c = tp[0]  # scratch row
    for l in range(L):
        okl[l] = 1.0
    for j in range(K):
        for l in range(L):
            c[l] = 0.0
        for i in range(0, D4, 4):
            for l in range(L):
                w0 = W[j, i, l]
                w1 = W[j, i + 1, l]
                w2 = W[j, i + 2, l]
                w3 = W[j, i + 3, l]
                c[l] += (w0 * w0 + w1 * w1) + (w2 * w2 + w3 * w3)
        for i in range(D4, D):
            for l in range(L):
                c[l] += W[j, i, l] * W[j, i, l]
        pj = _PI * a[j]
        for l in range(L):
            okl[l] = okl[l] if c[l] > 0.0 else 0.0
            nrm[j, l] = math.sqrt(c[l])
            side[j, l] = 0.0
            P[j, j, l] = pj
            c[l] = 1.0 / nrm[j, l]
        for i in range(D):
            for l in range(L):
                U[j, i, l] = W[j, i, l] * c[l]
    # cosines of the unit pairs
    p = 0
    for j in range(K):
        for m in range(j + 1, K):
            for l in range(L):
                cp[p, l] = 0.0
            for i in range(0, D4, 4):
                for l in range(L):
                    cp[p, l] += (U[j, i, l] * U[m, i, l] + U[j, i + 1, l] * U[m, i + 1, l]) + (
                        U[j, i + 2, l] * U[m, i + 2, l] + U[j, i + 3, l] * U[m, i + 3, l]
                    )
            for i in range(D4, D):
                for l in range(L):
                    cp[p, l] += U[j, i, l] * U[m, i, l]
            p += 1
    # their angles, in one flat loop
    n = p * L
    cf = cp.ravel()
    tf = tp.ravel()
    sf = sp.ravel()
    for q in range(n):
        x = min(1.0, max(-1.0, cf[q]))
        tf[q] = _PI - _acos(x)
        sf[q] = math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))
    # side terms and the coefficients of the pull
    p = 0
    for j in range(K):
        aj = a[j]
        for m in range(j + 1, K):
            am = a[m]
            for l in range(L):
                side[j, l] += sp[p, l] * am * nrm[m, l]
                side[m, l] += sp[p, l] * aj * nrm[j, l]
                P[j, m, l] = am * tp[p, l]
                P[m, j, l] = aj * tp[p, l]
            p += 1
    # the pull of all students (P[j, j] = pi a_j included)
    for j in range(K):
        for i in range(D):
            for l in range(L):
                out[j, i, l] = 0.0
            for m in range(0, K4, 4):
                for l in range(L):
                    out[j, i, l] += (P[j, m, l] * W[m, i, l] + P[j, m + 1, l] * W[m + 1, i, l]) + (
                        P[j, m + 2, l] * W[m + 2, i, l] + P[j, m + 3, l] * W[m + 3, i, l]
                    )
            for m in range(K4, K):
                for l in range(L):
                    out[j, i, l] += P[j, m, l] * W[m, i, l]
    if identity:  # the cosine with teacher unit i is U[j, i]
        for j in range(K):
            for i in range(D):
                bt = b_t[i]
                be = beta_t[i]
                for l in range(L):
                    x = min(1.0, max(-1.0, U[j, i, l]))
                    out[j, i, l] += bt * (_PI - _acos(x))
                    side[j, l] += be * math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))
    else:
        for j in range(K):
            for m in range(Ks):
                for l in range(L):
                    c[l] = 0.0
                for i in range(D):
                    tu = TU[m, i]
                    for l in range(L):
                        c[l] += U[j, i, l] * tu
                bt = b_t[m]
                be = beta_t[m]
                for l in range(L):
                    x = min(1.0, max(-1.0, c[l]))
                    P[j, m, l] = bt * (_PI - _acos(x))
                    side[j, l] += be * math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))
            for m in range(Ks):
                for i in range(D):
                    tm = T[m, i]
                    for l in range(L):
                        out[j, i, l] += P[j, m, l] * tm
    for j in range(K):
        f = a[j] / (2.0 * _PI)
        for i in range(D):
            for l in range(L):
                out[j, i, l] = f * (out[j, i, l] + side[j, l] * U[j, i, l])


@numba.njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def descend_lanes(
    W,
    W_prev,
    g,
    k,
    active,
    code,
    block_out,
    g_sq_out,
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
    ws,
):
    """Gradient descent on the active lanes of ``W (K, d, LANES)`` (updated in place) until one
    of them stops or pauses.

    Every active lane ``l`` follows :func:`._protocol_kernels.descend` from its iterate at
    iteration ``k[l]``: the same tests in the same order (its start iterate is tested first; a
    zero hidden unit there is ``NOT_DIFFERENTIABLE``; on a non-finite iterate after a step the
    last finite one is kept, ``k[l] - 1``), with the per-lane thresholds ``pause_sq[l]`` and
    ``center[..., l]``, ``radius_sq[l]``. All active lanes step together; the call returns as
    soon as at least one has a code other than ``RUNNING``: ``code[l]``, ``k[l]``,
    ``block_out[l] = max_j |dJ/dw_j|^2`` and ``g_sq_out[l] = |grad|^2`` for those; the other
    active lanes get ``RUNNING`` and stay at their last (tested) iterate, which the next call
    tests again. Inactive lanes are not moved (their entries only have to be finite or absent
    from the output). ``W_prev`` and ``g`` are scratch arrays shaped like ``W``.

    Returns the number of lanes that stopped.
    """
    K, d, L = W.shape
    okl = ws[4]
    step = np.empty(L)
    block = np.empty(L)
    gs = np.empty(L)
    xs = np.empty(L)
    ball = np.empty(L)
    acc = np.empty(L)
    accx = np.empty(L)
    stepped = np.zeros(L, dtype=np.bool_)
    any_ball = False
    for l in range(L):
        step[l] = eta if active[l] else 0.0
        any_ball = any_ball or (active[l] and radius_sq[l] > 0.0)
    while True:
        lane_gradient(W, a, T, TU, b_t, beta_t, identity, ws, g)
        for l in range(L):
            block[l] = 0.0
            gs[l] = 0.0
            xs[l] = 0.0
            ball[l] = 0.0
        for j in range(K):
            for l in range(L):
                acc[l] = 0.0
                accx[l] = 0.0
            for i in range(d):
                for l in range(L):
                    acc[l] += g[j, i, l] * g[j, i, l]
                    accx[l] += W[j, i, l] * W[j, i, l]
            for l in range(L):
                gs[l] += acc[l]
                xs[l] += accx[l]
                block[l] = max(block[l], acc[l])
        if any_ball:
            for j in range(K):
                for l in range(L):
                    acc[l] = 0.0
                for i in range(d):
                    for l in range(L):
                        dc = W[j, i, l] - center[j, i, l]
                        acc[l] += dc * dc
                for l in range(L):
                    ball[l] += acc[l]
        stopped = 0
        for l in range(L):
            c = _RUNNING
            first = not stepped[l]
            if active[l]:
                bl = block[l]
                if okl[l] == 0.0:
                    c = _NOT_DIFFERENTIABLE if first else _NONFINITE
                elif not (math.isfinite(xs[l]) and math.isfinite(gs[l])):
                    c = _NONFINITE
                elif xs[l] > esc_sq:
                    c = _ESCAPED
                elif tol_sq > 0.0 and bl <= tol_sq:
                    c = _CONVERGED
                elif bl <= pause_sq[l]:
                    c = PAUSE_GRADIENT
                elif radius_sq[l] > 0.0 and ball[l] <= radius_sq[l]:
                    c = PAUSE_BALL
                elif k[l] >= k_time:
                    c = _TIME_LIMIT
                elif k[l] >= max_steps:
                    c = _MAX_STEPS
            code[l] = c
            if c != _RUNNING:
                stopped += 1
                if c == _NONFINITE or c == _NOT_DIFFERENTIABLE:
                    block_out[l] = np.nan
                    g_sq_out[l] = np.nan
                    if c == _NONFINITE and not first:  # report the last finite iterate
                        for j in range(K):
                            for i in range(d):
                                W[j, i, l] = W_prev[j, i, l]
                        k[l] -= 1
                else:
                    block_out[l] = bl
                    g_sq_out[l] = gs[l]
        if stopped:
            return stopped
        for j in range(K):
            for i in range(d):
                for l in range(L):
                    w = W[j, i, l]
                    W_prev[j, i, l] = w
                    W[j, i, l] = w - step[l] * g[j, i, l]
        for l in range(L):
            if active[l]:
                k[l] += 1
                stepped[l] = True
