"""The compiled Dormand-Prince 5(4) loop over lanes of orbits, for fields declared in lane form
(:class:`dynsys.integrate.CompiledField` with ``lanes``; imported on first use).

:func:`dopri5_lanes` advances :data:`LANES` orbits together: each stage is a loop over the lanes,
innermost, that the compiler turns into vector instructions, and the field is evaluated for all
lanes in one call (``lanes(Y, params, OUT)`` with states in columns). The starts of the orbits
(:func:`_starts`) and the stop tests (:func:`_stop_tests`) run lane by lane too, in functions
called once for all lanes: a helper called per orbit with the loop's arrays costs an atomic
reference count per array and call, which measured more than the test itself. The step control
and the bookkeeping stay per orbit, with the helpers of :mod:`._compiled_kernels`. Each
orbit goes through exactly the operations of :func:`._compiled_orbits.dopri5_orbits` in the same
order (vector and scalar IEEE arithmetic round alike, and nothing is fused), so the two loops give
the same orbits bit for bit; an orbit that stops hands its lane to the next one.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
from numba.core.errors import NumbaExperimentalFeatureWarning

from ._compiled_kernels import (
    A21,
    A31,
    A32,
    A41,
    A42,
    A43,
    A51,
    A52,
    A53,
    A54,
    A61,
    A62,
    A63,
    A64,
    A65,
    B1,
    B3,
    B4,
    B5,
    B6,
    CONVERGED,
    E1,
    E3,
    E4,
    E5,
    E6,
    E7,
    MAX_STEPS,
    NONFINITE,
    RUNNING,
    STEP_UNDERFLOW,
    TIME_LIMIT,
    _code,
    _code_of_sums,
    _nan_max,
    _spacing,
    _step_factor,
)
from ._compiled_types import LANE_LYAPUNOV_SIGNATURE, LANES, LANES_SIGNATURE

STAGE_WEIGHTS = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [A21, 0.0, 0.0, 0.0, 0.0, 0.0],
        [A31, A32, 0.0, 0.0, 0.0, 0.0],
        [A41, A42, A43, 0.0, 0.0, 0.0],
        [A51, A52, A53, A54, 0.0, 0.0],
        [A61, A62, A63, A64, A65, 0.0],
        [B1, 0.0, B3, B4, B5, B6],
    ]
)
"""Row ``s``: the weights of stage ``s`` (k2 ... k7, the last one at the step's end) on
k1 ... ks; a zero weight's term is skipped, as in the one-orbit loop."""


@numba.njit(LANE_LYAPUNOV_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def no_lyapunov_lanes(Y, p, out) -> None:  # pragma: no cover - compiled
    """The Lyapunov function in lane form passed when there are no trapping regions."""
    out[:] = 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _combine(Y, hs, K, weights, count, acc, OUT) -> None:
    """``OUT = Y + hs * (K[0] * w[0] + ... + K[count-1] * w[count-1])`` lane by lane, the
    weighted terms summed left to right (a zero weight's term is skipped, as in the tableau);
    ``acc (lanes,)`` is scratch. The lane loops are innermost, for vector instructions."""
    n, L = Y.shape
    for j in range(n):
        for lane in range(L):
            acc[lane] = K[0, j, lane] * weights[0]
        for s in range(1, count):
            w = weights[s]
            if w != 0.0:
                for lane in range(L):
                    acc[lane] = acc[lane] + K[s, j, lane] * w
        for lane in range(L):
            OUT[j, lane] = Y[j, lane] + hs[lane] * acc[lane]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _ellipsoid_hits(Y, centers, forms, levels, dy, row, value, hit) -> None:
    """``hit[lane]``: the first stop ellipsoid ``(y - c)^T P (y - c) <= level`` holding the
    state in column ``lane`` of ``Y``, or -1; the arithmetic of
    :func:`._compiled_kernels._in_region`, with the lane loops innermost (``dy (n, lanes)``,
    ``row`` and ``value (lanes,)`` are scratch). Written without calls that take arrays: such a
    call per orbit and step costs atomic reference counts, more than the test itself."""
    n, L = Y.shape
    for lane in range(L):
        hit[lane] = -1
    for r in range(centers.shape[0] - 1, -1, -1):  # the last write is the first region
        for i in range(n):
            for lane in range(L):
                dy[i, lane] = Y[i, lane] - centers[r, i]
        for lane in range(L):
            value[lane] = 0.0
        for i in range(n):
            for lane in range(L):
                row[lane] = 0.0
            for j in range(n):
                w = forms[r, i, j]
                for lane in range(L):
                    row[lane] += w * dy[j, lane]
            for lane in range(L):
                value[lane] += dy[i, lane] * row[lane]
        for lane in range(L):
            if value[lane] <= levels[r]:
                hit[lane] = r


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _scratch(n: int, L: int, n_traps: int):
    """The work arrays of :func:`_stop_tests` for states of size ``n`` in ``L`` lanes."""
    return (
        np.zeros(L),
        np.zeros(L),
        np.zeros((n, L)),
        np.zeros(L),
        np.zeros(L),
        np.zeros(L),
        np.zeros((n_traps, L)),
        np.zeros(n),
        np.zeros(n),
    )


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _stop_tests(
    Y, F, lyapunov_lanes, lyapunov_params, centers, forms, levels, trap_levels, trap_normals,
    trap_offsets, conv_sq, escape_sq, scratch, code, hit,
) -> None:  # fmt: skip
    """The stop test of every lane at states ``Y`` with fields ``F`` (both ``(n, lanes)``), as
    :func:`._compiled_kernels._stop_or_trap` of each column: ``code[lane]`` (RUNNING,
    CONVERGED, ESCAPED or NONFINITE) and ``hit[lane]``, the region it stopped in (ellipsoids
    first, then the trapping regions numbered after them; -1: none). ``scratch``: the work arrays
    ``(x_sq, v_sq, dy, row, quad, values, side, y, v)`` of :func:`_scratch`."""
    n, L = Y.shape
    x_sq, v_sq, dy, row, quad, values, side, y, v = scratch
    n_ellipsoids = levels.shape[0]
    for lane in range(L):
        x_sq[lane] = Y[0, lane] * Y[0, lane]
        v_sq[lane] = F[0, lane] * F[0, lane]
    for j in range(1, n):
        for lane in range(L):
            x_sq[lane] += Y[j, lane] * Y[j, lane]
            v_sq[lane] += F[j, lane] * F[j, lane]
    if n_ellipsoids:
        _ellipsoid_hits(Y, centers, forms, levels, dy, row, quad, hit)
    else:
        for lane in range(L):
            hit[lane] = -1
    n_traps = trap_levels.shape[0]
    if n_traps:
        lyapunov_lanes(Y, lyapunov_params, values)
    for r in range(n_traps):
        for lane in range(L):
            side[r, lane] = trap_normals[r, 0] * Y[0, lane]
        for j in range(1, n):
            for lane in range(L):
                side[r, lane] += trap_normals[r, j] * Y[j, lane]
    for lane in range(L):
        c = _code_of_sums(x_sq[lane], v_sq[lane], conv_sq, escape_sq)
        inside = hit[lane]
        hit[lane] = -1
        if c == NONFINITE:  # ESCAPED (squares that overflowed) or NONFINITE: rare
            for j in range(n):
                y[j] = Y[j, lane]
                v[j] = F[j, lane]
            c = _code(y, v, conv_sq, escape_sq)
        elif c == RUNNING and inside >= 0:
            c = CONVERGED
            hit[lane] = inside
        if c == RUNNING:
            for r in range(n_traps):
                if side[r, lane] > trap_offsets[r] and values[lane] < trap_levels[r]:
                    c = CONVERGED
                    hit[lane] = n_ellipsoids + r
                    break
        code[lane] = c


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _first_steps(lanes, params, Y, F, W, G, rtol, atol, h) -> None:
    """The first step of the orbit in every lane (states ``Y``, fields ``F``) into ``h``:
    :func:`._compiled_kernels._first_step` lane by lane, with one field call for all lanes
    (``W``, ``G``: scratch ``(n, lanes)``)."""
    n, L = Y.shape
    order = 4
    s0 = np.zeros(L)
    s1 = np.zeros(L)
    h0 = np.zeros(L)
    for j in range(n):
        for lane in range(L):
            scale = atol + abs(Y[j, lane]) * rtol
            q0 = Y[j, lane] / scale
            q1 = F[j, lane] / scale
            if j == 0:
                s0[lane] = q0 * q0
                s1[lane] = q1 * q1
            else:
                s0[lane] += q0 * q0
                s1[lane] += q1 * q1
    for lane in range(L):
        d0 = math.sqrt(s0[lane] / n)
        d1 = math.sqrt(s1[lane] / n)
        s1[lane] = d1
        small = (d0 < 1e-5) or (d1 < 1e-5)
        h0[lane] = 1e-6 if small else 0.01 * d0 / d1
    for j in range(n):
        for lane in range(L):
            W[j, lane] = Y[j, lane] + h0[lane] * F[j, lane]
    lanes(W, params, G)
    for j in range(n):
        for lane in range(L):
            scale = atol + abs(Y[j, lane]) * rtol
            q2 = (G[j, lane] - F[j, lane]) / scale
            if j == 0:
                s0[lane] = q2 * q2
            else:
                s0[lane] += q2 * q2
    for lane in range(L):
        d2 = math.sqrt(s0[lane] / n) / h0[lane]
        dmax = _nan_max(s1[lane], d2)
        h1 = _nan_max(1e-6, h0[lane] * 1e-3)
        if dmax > 1e-15:
            h1 = (0.01 / dmax) ** (1.0 / (order + 1))
        step = 100 * h0[lane]
        if math.isnan(h1) or h1 < step:
            step = h1
        h[lane] = step


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _starts(
    lanes, lyapunov_lanes, params, x0, lo, hi, centers, forms, levels, lyapunov_params,
    trap_levels, trap_normals, trap_offsets, rtol, atol, conv_sq, escape_sq, first_step,
    x_final, status, speed_sq, region, evaluations, scratch, code, hit, W, G, PY, PF, PH, PI,
) -> int:  # fmt: skip
    """Start orbits ``lo ... hi - 1`` (at most one per lane) as :func:`._compiled_kernels._begin`
    starts each: an orbit that stops at its start is finished here; the others are packed into
    the first columns of ``PY`` (states), ``PF`` (fields), ``PH`` (first steps) and ``PI``
    (orbit numbers), whose count is returned. Columns past ``hi - lo`` repeat the last start
    (their results are not used)."""
    n, L = PY.shape
    for lane in range(L):
        i = min(lo + lane, hi - 1)
        for j in range(n):
            PY[j, lane] = x0[i, j]
    lanes(PY, params, PF)
    _stop_tests(
        PY, PF, lyapunov_lanes, lyapunov_params, centers, forms, levels, trap_levels,
        trap_normals, trap_offsets, conv_sq, escape_sq, scratch, code, hit,
    )  # fmt: skip
    if first_step > 0.0:
        for lane in range(L):
            PH[lane] = first_step
    else:
        _first_steps(lanes, params, PY, PF, W, G, rtol, atol, PH)
    count = 0
    for lane in range(hi - lo):
        i = lo + lane
        finite = True
        for j in range(n):
            finite = finite and math.isfinite(PY[j, lane])
        if not finite:
            c = NONFINITE
            speed = math.nan
        else:
            c = code[lane]
            evaluations[i] = 1 if c != RUNNING or first_step > 0.0 else 2
            speed = PF[0, lane] * PF[0, lane]
            for j in range(1, n):
                speed += PF[j, lane] * PF[j, lane]
        if c != RUNNING:
            for j in range(n):
                x_final[i, j] = PY[j, lane]
            status[i] = c
            speed_sq[i] = speed
            if c == CONVERGED:
                region[i] = hit[lane]
            continue
        for j in range(n):  # pack the running orbit into column ``count`` (count <= lane)
            PY[j, count] = PY[j, lane]
            PF[j, count] = PF[j, lane]
        PH[count] = PH[lane]
        PI[count] = i
        count += 1
    return count


def _compiled_quietly(signature):
    """``numba.njit(signature)`` (compiled as the module is imported, or loaded from numba's
    cache) without numba's notice that first-class functions are experimental, which the loop
    prompts by handing the model's functions on to its helpers."""

    def compile_(function):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)
            return numba.njit(signature, cache=True, nogil=True, error_model="numpy")(function)

    return compile_


@_compiled_quietly(LANES_SIGNATURE)
def dopri5_lanes(
    field,
    lanes,
    lyapunov_lanes,
    params,
    x0,
    centers,
    forms,
    levels,
    lyapunov,
    lyapunov_params,
    trap_levels,
    trap_normals,
    trap_offsets,
    t_max: float,
    rtol: float,
    atol: float,
    conv_sq: float,
    escape_sq: float,
    max_steps: int,
    first_step: float,
    min_step: float,
    max_step: float,
    beta: float,
    x_final,
    t_final,
    status,
    n_steps,
    n_rejected,
    speed_sq,
    region,
    evaluations,
) -> None:
    """:func:`._compiled_orbits.dopri5_orbits` over lanes: the same arguments, with ``lanes``
    and ``lyapunov_lanes`` (the field and the Lyapunov function in lane form) after ``field``.
    ``field`` and ``lyapunov``, the functions of one state, are not called: the argument list
    is the one-orbit loop's, so that :func:`dynsys.integrate._compiled.run_compiled` calls
    either loop alike."""
    m, n = x0.shape
    L = LANES
    n_traps = trap_levels.shape[0]
    alpha = 1.0 / 5.0 - 0.75 * beta
    Y = np.zeros((n, L))
    K = np.zeros((7, n, L))  # k1 (the field at Y) ... k7 (the field at Y_new)
    Y_NEW = np.zeros((n, L))
    OUT = np.zeros((n, L))
    orbit = np.full(L, -1)
    hs = np.zeros(L)  # the step tried (0 in an empty lane)
    h = np.zeros(L)
    t = np.zeros(L)
    err_prev = np.ones(L)
    s_err = np.zeros(L)
    acc = np.zeros(L)
    err = np.zeros(L)
    grow = np.zeros(L)
    accept = np.zeros(L, dtype=np.bool_)
    codes = np.zeros(L, dtype=np.int64)
    hits = np.full(L, -1)
    scratch = _scratch(n, L, n_traps)
    n_acc = np.zeros(L, dtype=np.int64)
    n_rej = np.zeros(L, dtype=np.int64)
    evals = np.zeros(L, dtype=np.int64)
    after_reject = np.zeros(L, dtype=np.bool_)
    last = np.zeros(L, dtype=np.bool_)
    # orbits started (lane by lane, by _starts) and waiting for a lane
    PY = np.zeros((n, L))
    PF = np.zeros((n, L))
    PH = np.zeros(L)
    PI = np.zeros(L, dtype=np.int64)
    waiting = 0
    taken = 0
    next_orbit = 0
    active = 0
    while True:
        for lane in range(L):  # an empty lane takes the next started orbit
            while orbit[lane] < 0:
                if taken == waiting:
                    if next_orbit >= m:
                        break
                    hi = min(next_orbit + L, m)
                    waiting = _starts(
                        lanes, lyapunov_lanes, params, x0, next_orbit, hi, centers, forms,
                        levels, lyapunov_params, trap_levels, trap_normals, trap_offsets, rtol,
                        atol, conv_sq, escape_sq, first_step, x_final, status, speed_sq, region,
                        evaluations, scratch, codes, hits, Y_NEW, OUT, PY, PF, PH, PI,
                    )  # fmt: skip
                    taken = 0
                    next_orbit = hi
                    continue
                i = PI[taken]
                evals[lane] = evaluations[i]
                h[lane] = min(PH[taken], max_step)
                for j in range(n):
                    Y[j, lane] = PY[j, taken]
                    K[0, j, lane] = PF[j, taken]
                taken += 1
                orbit[lane] = i
                t[lane] = 0.0
                err_prev[lane] = 1.0
                n_acc[lane] = 0
                n_rej[lane] = 0
                after_reject[lane] = False
                active += 1
        if active == 0:
            break
        for lane in range(L):
            if orbit[lane] >= 0:
                room = t_max - t[lane]
                hs[lane] = min(h[lane], room)
                last[lane] = h[lane] >= room
            else:
                hs[lane] = 0.0
        # the stages for every lane (dynsys.integrate._rk._attempt, weights summed left to right)
        for stage in range(1, 7):  # the last stage's state is the step's end, Y_new
            _combine(Y, hs, K, STAGE_WEIGHTS[stage], stage, acc, Y_NEW)
            lanes(Y_NEW, params, OUT)
            K[stage] = OUT
        for j in range(n):  # the error norm, lane by lane
            for lane in range(L):
                a = abs(Y[j, lane])
                b = abs(Y_NEW[j, lane])
                scale = max(a, b)
                if math.isnan(a) or math.isnan(b):
                    scale = math.nan
                scale *= rtol
                scale += atol
                q = (
                    K[0, j, lane] * E1 + K[2, j, lane] * E3 + K[3, j, lane] * E4
                    + K[4, j, lane] * E5 + K[5, j, lane] * E6 + K[6, j, lane] * E7
                ) / scale  # fmt: skip
                if j == 0:
                    s_err[lane] = q * q
                else:
                    s_err[lane] += q * q
        # the step's outcome, lane by lane in loops without dependences between lanes
        for lane in range(L):
            err[lane] = hs[lane] * math.sqrt(s_err[lane] / n)
        for lane in range(L):
            grow[lane] = _step_factor(err[lane], err_prev[lane], after_reject[lane], alpha, beta)
        for lane in range(L):
            accept[lane] = err[lane] <= 1.0 and orbit[lane] >= 0
            h[lane] = min(hs[lane] * grow[lane], max_step)
        for j in range(n):
            for lane in range(L):
                if accept[lane]:
                    Y[j, lane] = Y_NEW[j, lane]
                    K[0, j, lane] = K[6, j, lane]
        _stop_tests(
            Y, K[0], lyapunov_lanes, lyapunov_params, centers, forms, levels, trap_levels,
            trap_normals, trap_offsets, conv_sq, escape_sq, scratch, codes, hits,
        )  # fmt: skip
        # decisions per orbit
        for lane in range(L):
            i = orbit[lane]
            if i < 0:
                continue
            evals[lane] += 6
            code = RUNNING
            if accept[lane]:
                t[lane] = t_max if last[lane] else t[lane] + hs[lane]
                err_prev[lane] = max(err[lane], 1e-4)
                n_acc[lane] += 1
                code = codes[lane]
                if code == CONVERGED:
                    region[i] = hits[lane]
                if code == RUNNING and last[lane]:
                    code = TIME_LIMIT
            else:
                n_rej[lane] += 1
                floor = max(10.0 * _spacing(abs(t[lane])), min_step)
                if h[lane] < floor:
                    code = STEP_UNDERFLOW if math.isfinite(err[lane]) else NONFINITE
            after_reject[lane] = not accept[lane]
            if code == RUNNING and n_acc[lane] + n_rej[lane] >= max_steps:
                code = MAX_STEPS
            if code != RUNNING:
                speed = K[0, 0, lane] * K[0, 0, lane]
                for j in range(n):
                    x_final[i, j] = Y[j, lane]
                    if j:
                        speed += K[0, j, lane] * K[0, j, lane]
                t_final[i] = t[lane]
                status[i] = code
                n_steps[i] = n_acc[lane]
                n_rejected[i] = n_rej[lane]
                speed_sq[i] = speed
                evaluations[i] = evals[lane]
                orbit[lane] = -1
                active -= 1
