"""The lane kernel of :mod:`._protocol`: ``L`` descent runs advanced together (private;
numba, imported on first use).

Layout: structure of arrays with the runs innermost, ``W (K, d, L)``, so that every loop of the
gradient (row norms, the cosines of unit pairs, their angles, the pull of the units and of the
teacher) is a loop over lanes that the compiler vectorises across runs; no BLAS call. Numba
leaves LLVM's SLP vectoriser off, so only such innermost loops are vectorised, and a partial sum
indexed by lane lives in memory: the sums over inputs and units are therefore taken four terms
per loop (a load and a store of the partial sum per four products), two sums sharing a factor
together. Arrays written in one loop are kept to one or two, else the compiler's overlap checks
give up and the loop stays scalar. The angles of all unit pairs, and those with the teacher's
units, are taken in one flat loop each.

Each lane's arithmetic reads only that lane (sums over units and inputs in a fixed order), so a
run's trajectory does not depend on its lane, on the runs beside it or on the number of lanes:
it is the same bit for bit wherever it is run. It differs from the one-run loop
:func:`._protocol_kernels.descend` (whose products go to BLAS) by rounding only.

Arc-cosines use the polynomial ``_acos`` of :mod:`._protocol_kernels` (within two ulp of
``numpy.arccos``).

Cost per run and iteration against the one-run loop of :mod:`._protocol_kernels` (one idle
core, 32 lanes, K = d): about 0.27 at K = 6, 0.5 at 10, 0.75 at 15, 1.0 at 20 (the angles,
about 1.6 ns each, are a third of it at K = 20); on a core shared with other work the lanes,
whose working set is about ``20 K d L`` doubles, lose more. Up to 16 lanes a call costs about
what 32 cost, 8, 4, 2 and 1 lanes less (the loops over lanes appear to run scalar when shorter
than the vector width times the unrolling). :mod:`._protocol` therefore uses lanes for small
networks only, and narrows them to 8 or fewer once few runs are left. Compiling this kernel
from an empty cache takes several seconds (about 4 s more than the one-run loop, idle core).
"""

import math

import numba
import numpy as np

from ._protocol_kernels import (
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

_FM = {"contract"}  # fused multiply-add only: each lane's sums keep their order
_PI = math.pi


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
        np.empty((pairs + 1, L)),  # cosines of the unit pairs (and a spare row)
        np.empty((max(pairs, K * max(d, Ks)), L)),  # angle terms
        np.empty((max(pairs, K * max(d, Ks)), L)),  # sines
    )


@numba.njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def _angles(c, tp, sp, n):
    """``tp = pi - acos(c)``, ``sp = sin(acos(c))`` for the first ``n`` entries (flat), ``c``
    clipped to ``[-1, 1]``: one long loop the compiler vectorises."""
    for q in range(n):
        x = min(1.0, max(-1.0, c[q]))
        tp[q] = _PI - _acos(x)
        sp[q] = math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))


@numba.njit(inline="always")
def _pair(j, m, K):
    """The index of the unit pair ``{j, m}`` (``j != m``) in the order ``(0, 1), (0, 2), ...``."""
    if j > m:
        j, m = m, j
    return j * K - j * (j + 1) // 2 + m - j - 1


def lane_gradient(W, a, T, TU, b_t, beta_t, identity):
    """Tian's gradient of every lane of ``W (K, d, L)``, as :func:`descend_lanes` computes it
    (one call that stops at its start iterate); arguments as
    :func:`._protocol_kernels.gradient_into`. For tests."""
    K, d, L = W.shape
    W = np.ascontiguousarray(W, dtype=float)
    g = np.empty_like(W)
    args = (np.zeros(L, dtype=np.int64), np.ones(L, dtype=np.bool_), np.zeros(L, dtype=np.int64))
    descend_lanes(
        W.copy(), np.empty_like(W), g, *args, np.zeros(L), np.zeros(L), 0.1, 0.0, np.inf, 0, 0,
        np.full(L, -1.0), np.zeros_like(W), np.full(L, -1.0), a, T, TU, b_t, beta_t, identity,
        lane_workspace(K, d, b_t.size, L)
    )  # fmt: skip
    return g


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
    """Gradient descent on the active lanes of ``W (K, d, L)`` (updated in place) until one
    of them stops or pauses.

    Every active lane ``v`` follows :func:`._protocol_kernels.descend` from its iterate at
    iteration ``k[v]``: the same tests in the same order (its start iterate is tested first; a
    zero hidden unit there is ``NOT_DIFFERENTIABLE``; on a non-finite iterate after a step the
    last finite one is kept, ``k[v] - 1``), with the per-lane thresholds ``pause_sq[v]`` and
    ``center[..., v]``, ``radius_sq[v]``. All active lanes step together; the call returns as
    soon as at least one has a code other than ``RUNNING``: ``code[v]``, ``k[v]``,
    ``block_out[v] = max_j |dJ/dw_j|^2`` and ``g_sq_out[v] = |grad|^2`` for those; the other
    active lanes get ``RUNNING`` and stay at their last (tested) iterate, which the next call
    tests again. Inactive lanes are not moved (their entries only have to be finite or absent
    from the output). ``W_prev`` and ``g`` are scratch arrays shaped like ``W``.

    Returns the number of lanes that stopped.
    """
    K, D, L = W.shape
    d = D
    nrm, U, side, P, okl, cp, tp, sp = ws
    Ks = b_t.size
    D4 = D - D % 4
    K4 = K - K % 4
    step = np.empty(L)
    block = np.empty(L)
    gs = np.empty(L)
    xs = np.empty(L)
    ball = np.empty(L)
    acc = np.empty(L)
    stepped = np.zeros(L, dtype=np.bool_)
    any_ball = False
    for v in range(L):
        step[v] = eta if active[v] else 0.0
        any_ball = any_ball or (active[v] and radius_sq[v] > 0.0)
    while True:
        # the gradient of every lane into g (Tian's closed form)
        c = side[0]  # scratch row until the side terms are started
        for v in range(L):
            okl[v] = 1.0
        for j in range(K):
            for v in range(L):
                c[v] = 0.0
            for i in range(0, D4, 4):
                for v in range(L):
                    w0 = W[j, i, v]
                    w1 = W[j, i + 1, v]
                    w2 = W[j, i + 2, v]
                    w3 = W[j, i + 3, v]
                    c[v] += (w0 * w0 + w1 * w1) + (w2 * w2 + w3 * w3)
            for i in range(D4, D):
                for v in range(L):
                    c[v] += W[j, i, v] * W[j, i, v]
            for v in range(L):
                okl[v] = okl[v] if c[v] > 0.0 else 0.0
            for v in range(L):
                nrm[j, v] = math.sqrt(c[v])
            for v in range(L):
                c[v] = 1.0 / nrm[j, v]
            for i in range(D):
                for v in range(L):
                    U[j, i, v] = W[j, i, v] * c[v]
        for j in range(K):
            pj = _PI * a[j]
            for v in range(L):
                P[j, j, v] = pj
            for v in range(L):
                side[j, v] = 0.0
        # cosines of the unit pairs, two pairs (j, m), (j, m + 1) at a time
        p = 0
        for j in range(K):
            m = j + 1
            while m < K:
                two = m + 1 < K
                m1 = m + 1 if two else m
                for v in range(L):
                    cp[p, v] = 0.0
                    cp[p + 1, v] = 0.0
                for i in range(0, D4, 4):
                    for v in range(L):
                        u0 = U[j, i, v]
                        u1 = U[j, i + 1, v]
                        u2 = U[j, i + 2, v]
                        u3 = U[j, i + 3, v]
                        cp[p, v] += (u0 * U[m, i, v] + u1 * U[m, i + 1, v]) + (
                            u2 * U[m, i + 2, v] + u3 * U[m, i + 3, v]
                        )
                        cp[p + 1, v] += (u0 * U[m1, i, v] + u1 * U[m1, i + 1, v]) + (
                            u2 * U[m1, i + 2, v] + u3 * U[m1, i + 3, v]
                        )
                for i in range(D4, D):
                    for v in range(L):
                        u0 = U[j, i, v]
                        cp[p, v] += u0 * U[m, i, v]
                        cp[p + 1, v] += u0 * U[m1, i, v]
                inc = 2 if two else 1
                m += inc
                p += inc
        _angles(cp.ravel(), tp.ravel(), sp.ravel(), p * L)
        # side terms and the coefficients of the pull (one array written per loop)
        for j in range(K):
            for m in range(K):
                if m == j:
                    continue
                p = _pair(j, m, K)
                am = a[m]
                for v in range(L):
                    P[j, m, v] = am * tp[p, v]
                for v in range(L):
                    side[j, v] += sp[p, v] * am * nrm[m, v]
        # the pull of all students (P[j, j] = pi a_j included): two inputs, four units at a time
        D2 = D - D % 2
        for j in range(K):
            for i in range(0, D2, 2):
                for v in range(L):
                    g[j, i, v] = 0.0
                    g[j, i + 1, v] = 0.0
                for m in range(0, K4, 4):
                    for v in range(L):
                        q0 = P[j, m, v]
                        q1 = P[j, m + 1, v]
                        q2 = P[j, m + 2, v]
                        q3 = P[j, m + 3, v]
                        g[j, i, v] += (q0 * W[m, i, v] + q1 * W[m + 1, i, v]) + (
                            q2 * W[m + 2, i, v] + q3 * W[m + 3, i, v]
                        )
                        g[j, i + 1, v] += (q0 * W[m, i + 1, v] + q1 * W[m + 1, i + 1, v]) + (
                            q2 * W[m + 2, i + 1, v] + q3 * W[m + 3, i + 1, v]
                        )
                for m in range(K4, K):
                    for v in range(L):
                        q0 = P[j, m, v]
                        g[j, i, v] += q0 * W[m, i, v]
                        g[j, i + 1, v] += q0 * W[m, i + 1, v]
            for i in range(D2, D):
                for v in range(L):
                    g[j, i, v] = 0.0
                for m in range(0, K4, 4):
                    for v in range(L):
                        q0 = P[j, m, v] * W[m, i, v] + P[j, m + 1, v] * W[m + 1, i, v]
                        q1 = P[j, m + 2, v] * W[m + 2, i, v] + P[j, m + 3, v] * W[m + 3, i, v]
                        g[j, i, v] += q0 + q1
                for m in range(K4, K):
                    for v in range(L):
                        g[j, i, v] += P[j, m, v] * W[m, i, v]
        if identity:  # the cosine with teacher unit i is U[j, i]
            _angles(U.ravel(), tp.ravel(), sp.ravel(), K * D * L)
            p = 0
            for j in range(K):
                for i in range(D):
                    bt = b_t[i]
                    for v in range(L):
                        g[j, i, v] += bt * tp[p, v]
                    be = beta_t[i]
                    for v in range(L):
                        side[j, v] += be * sp[p, v]
                    p += 1
        else:
            p = 0
            for j in range(K):
                for m in range(Ks):
                    for v in range(L):
                        cp[0, v] = 0.0
                    for i in range(D):
                        tu = TU[m, i]
                        for v in range(L):
                            cp[0, v] += U[j, i, v] * tu
                    for v in range(L):
                        x = min(1.0, max(-1.0, cp[0, v]))
                        P[j, m, v] = b_t[m] * (_PI - _acos(x))
                        side[j, v] += beta_t[m] * math.sqrt(max((1.0 - x) * (1.0 + x), 0.0))
                for m in range(Ks):
                    for i in range(D):
                        tm = T[m, i]
                        for v in range(L):
                            g[j, i, v] += P[j, m, v] * tm
        for j in range(K):
            f = a[j] / (2.0 * _PI)
            for i in range(D):
                for v in range(L):
                    g[j, i, v] = f * (g[j, i, v] + side[j, v] * U[j, i, v])
        for v in range(L):
            block[v] = 0.0
        for v in range(L):
            gs[v] = 0.0
        for v in range(L):
            xs[v] = 0.0
        for v in range(L):
            ball[v] = 0.0
        d4 = d - d % 4
        for j in range(K):
            for v in range(L):
                acc[v] = 0.0
            for i in range(0, d4, 4):
                for v in range(L):
                    g0 = g[j, i, v]
                    g1 = g[j, i + 1, v]
                    g2 = g[j, i + 2, v]
                    g3 = g[j, i + 3, v]
                    acc[v] += (g0 * g0 + g1 * g1) + (g2 * g2 + g3 * g3)
            for i in range(d4, d):
                for v in range(L):
                    acc[v] += g[j, i, v] * g[j, i, v]
            for v in range(L):
                gs[v] += acc[v]
            for v in range(L):
                block[v] = max(block[v], acc[v])
            for v in range(L):
                xs[v] += nrm[j, v] * nrm[j, v]
        if any_ball:
            for j in range(K):
                for v in range(L):
                    acc[v] = 0.0
                for i in range(d):
                    for v in range(L):
                        dc = W[j, i, v] - center[j, i, v]
                        acc[v] += dc * dc
                for v in range(L):
                    ball[v] += acc[v]
        stopped = 0
        for v in range(L):
            c = _RUNNING
            first = not stepped[v]
            if active[v]:
                bl = block[v]
                if okl[v] == 0.0:
                    c = _NOT_DIFFERENTIABLE if first else _NONFINITE
                elif not (math.isfinite(xs[v]) and math.isfinite(gs[v])):
                    c = _NONFINITE
                elif xs[v] > esc_sq:
                    c = _ESCAPED
                elif tol_sq > 0.0 and bl <= tol_sq:
                    c = _CONVERGED
                elif bl <= pause_sq[v]:
                    c = PAUSE_GRADIENT
                elif radius_sq[v] > 0.0 and ball[v] <= radius_sq[v]:
                    c = PAUSE_BALL
                elif k[v] >= k_time:
                    c = _TIME_LIMIT
                elif k[v] >= max_steps:
                    c = _MAX_STEPS
            code[v] = c
            if c != _RUNNING:
                stopped += 1
                if c in (_NONFINITE, _NOT_DIFFERENTIABLE):
                    block_out[v] = np.nan
                    g_sq_out[v] = np.nan
                    if c == _NONFINITE and not first:  # report the last finite iterate
                        for j in range(K):
                            for i in range(d):
                                W[j, i, v] = W_prev[j, i, v]
                        k[v] -= 1
                else:
                    block_out[v] = bl
                    g_sq_out[v] = gs[v]
        if stopped:
            return stopped
        W_prev[...] = W
        for j in range(K):
            for i in range(d):
                for v in range(L):
                    W[j, i, v] -= step[v] * g[j, i, v]
        for v in range(L):
            if active[v]:
                k[v] += 1
                stepped[v] = True
