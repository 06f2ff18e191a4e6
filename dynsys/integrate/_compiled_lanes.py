"""The compiled Dormand-Prince 5(4) loop over lanes of orbits, for fields declared in lane form
(:class:`dynsys.integrate.CompiledField` with ``lanes``; imported on first use).

:func:`dopri5_lanes` advances :data:`LANES` orbits together: each stage is a loop over the lanes,
innermost, that the compiler turns into vector instructions, and the field is evaluated for all
lanes in one call (``lanes(Y, params, OUT)`` with states in columns). The step control, the stop
tests and the bookkeeping stay per orbit, with the helpers of :mod:`._compiled_kernels`. Each
orbit goes through exactly the operations of :func:`._compiled_orbits.dopri5_orbits` in the same
order (vector and scalar IEEE arithmetic round alike, and nothing is fused), so the two loops give
the same orbits bit for bit; an orbit that stops hands its lane to the next one.
"""

from __future__ import annotations

import math

import numba
import numpy as np

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
    _begin,
    _code_of_sums,
    _spacing,
    _step_factor,
    _stop_code,
    _sum_sq,
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
def _trap_code(lane, side, values, trap_levels, trap_offsets, region, i, n_ellipsoids) -> int:
    """CONVERGED (the region recorded in ``region[i]``) when the state in ``lane`` is in a
    trapping region (``side``: the hyperplanes' values, ``values``: ``V``, both per lane),
    RUNNING otherwise; as :func:`._compiled_kernels._in_trap`."""
    for r in range(trap_levels.shape[0]):
        if side[r, lane] > trap_offsets[r] and values[lane] < trap_levels[r]:
            region[i] = n_ellipsoids + r
            return CONVERGED
    return RUNNING


@numba.njit(LANES_SIGNATURE, cache=True, nogil=True, error_model="numpy")
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
    and ``lyapunov_lanes`` (the field and the Lyapunov function in lane form) after ``field``
    (the field of one state, used at the starts, as ``lyapunov`` is)."""
    m, n = x0.shape
    L = LANES
    n_ellipsoids = levels.shape[0]
    n_traps = trap_levels.shape[0]
    alpha = 1.0 / 5.0 - 0.75 * beta
    Y = np.zeros((n, L))
    K = np.zeros((7, n, L))  # k1 (the field at Y) ... k7 (the field at Y_new)
    Y_NEW = np.zeros((n, L))
    OUT = np.zeros((n, L))
    y = np.empty(n)  # one orbit's state and field, for the starts and the stop tests
    v = np.empty(n)
    work = np.empty(n)
    tmp = np.empty(n)
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
    x_sq = np.zeros(L)
    v_sq = np.zeros(L)
    side = np.zeros((n_traps, L))
    values = np.zeros(L)
    n_acc = np.zeros(L, dtype=np.int64)
    n_rej = np.zeros(L, dtype=np.int64)
    evals = np.zeros(L, dtype=np.int64)
    after_reject = np.zeros(L, dtype=np.bool_)
    last = np.zeros(L, dtype=np.bool_)
    next_orbit = 0
    active = 0
    while True:
        for lane in range(L):  # an empty lane takes the next orbit that does not stop at once
            while orbit[lane] < 0 and next_orbit < m:
                i = next_orbit
                next_orbit += 1
                step = _begin(
                    field, params, x0, i, y, v, work, tmp, conv_sq, escape_sq, centers, forms,
                    levels, lyapunov, lyapunov_params, trap_levels, trap_normals, trap_offsets,
                    rtol, atol, first_step, x_final, t_final, status, n_steps, n_rejected,
                    speed_sq, region, evaluations,
                )  # fmt: skip
                if step < 0.0:
                    continue
                evals[lane] = evaluations[i]
                h[lane] = min(step, max_step)
                for j in range(n):
                    Y[j, lane] = y[j]
                    K[0, j, lane] = v[j]
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
        for lane in range(L):
            x_sq[lane] = Y[0, lane] * Y[0, lane]
            v_sq[lane] = K[0, 0, lane] * K[0, 0, lane]
        for j in range(1, n):
            for lane in range(L):
                x_sq[lane] += Y[j, lane] * Y[j, lane]
                v_sq[lane] += K[0, j, lane] * K[0, j, lane]
        if n_traps:
            lyapunov_lanes(Y, lyapunov_params, values)
        for r in range(n_traps):
            for lane in range(L):
                side[r, lane] = trap_normals[r, 0] * Y[0, lane]
            for j in range(1, n):
                for lane in range(L):
                    side[r, lane] += trap_normals[r, j] * Y[j, lane]
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
                code = _code_of_sums(x_sq[lane], v_sq[lane], conv_sq, escape_sq)
                if code == NONFINITE or (code == RUNNING and n_ellipsoids):
                    for j in range(n):
                        y[j] = Y[j, lane]
                        v[j] = K[0, j, lane]
                    code = _stop_code(y, v, conv_sq, escape_sq, centers, forms, levels, region, i)
                if code == RUNNING and n_traps:
                    code = _trap_code(
                        lane, side, values, trap_levels, trap_offsets, region, i, n_ellipsoids
                    )
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
                for j in range(n):
                    x_final[i, j] = Y[j, lane]
                    v[j] = K[0, j, lane]
                t_final[i] = t[lane]
                status[i] = code
                n_steps[i] = n_acc[lane]
                n_rejected[i] = n_rej[lane]
                speed_sq[i] = _sum_sq(v)
                evaluations[i] = evals[lane]
                orbit[lane] = -1
                active -= 1
