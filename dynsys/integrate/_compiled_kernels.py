"""The compiled Dormand-Prince 5(4) loop of :mod:`dynsys.integrate._compiled` (imported on first
use: numba takes a moment). Module-level functions, so that numba's on-disk cache serves every
process.

:func:`dopri5_orbits` follows each orbit on its own with exactly the arithmetic of the batched
numpy loop (:func:`dynsys.integrate._stepping.adaptive_flow` with the DOPRI5 tableau): the same
operations in the same order, no fused multiply-add, so that an orbit ends where the numpy path
ends it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Status codes (dynsys._status.Status), repeated here as compile-time constants.
CONVERGED = 0
TIME_LIMIT = 1
MAX_STEPS = 2
ESCAPED = 3
NONFINITE = 4
STEP_UNDERFLOW = 5
RUNNING = 10

# Dormand and Prince (1980): the weights of dynsys.integrate._rk.DOPRI5
A21 = 1 / 5
A31, A32 = 3 / 40, 9 / 40
A41, A42, A43 = 44 / 45, -56 / 15, 32 / 9
A51, A52, A53, A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
A61, A62, A63, A64, A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
B1, B3, B4, B5, B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
E1, E3, E4, E5, E6, E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _nan_max(a: float, b: float) -> float:
    """``np.maximum`` of two floats (NaN wins)."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _sum_sq(x) -> float:
    out = x[0] * x[0]
    for j in range(1, x.shape[0]):
        out += x[j] * x[j]
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _spacing(t: float) -> float:
    """``np.spacing(t)`` for ``t >= 0``."""
    if t == 0.0:
        return 5e-324
    return np.nextafter(t, np.inf) - t


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _code(x, v, conv_sq: float, escape_sq: float) -> int:
    """The stop test of ``dynsys.integrate._batch.stop_codes`` for one state."""
    code = _code_of_sums(_sum_sq(x), _sum_sq(v), conv_sq, escape_sq)
    if code == NONFINITE:
        finite = True
        for j in range(x.shape[0]):
            if not (math.isfinite(x[j]) and math.isfinite(v[j])):
                finite = False
        code = ESCAPED if finite else NONFINITE
    return code


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _code_of_sums(x_sq: float, v_sq: float, conv_sq: float, escape_sq: float) -> int:
    """:func:`_code` from ``|x|^2`` and ``|v|^2``; NONFINITE when either is not finite (then
    the entries decide between ESCAPED, squares that overflowed, and NONFINITE)."""
    code = RUNNING
    if conv_sq >= 0.0 and v_sq <= conv_sq:
        code = CONVERGED
    if x_sq > escape_sq:
        code = ESCAPED
    if not (math.isfinite(x_sq) and math.isfinite(v_sq)):
        code = NONFINITE
    return code


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _in_region(y, centers, forms, levels) -> int:
    """The first stop region ``(y - c)^T P (y - c) <= level`` holding ``y``, or -1."""
    n = y.shape[0]
    for r in range(centers.shape[0]):
        value = 0.0
        for i in range(n):
            row = 0.0
            for j in range(n):
                row += forms[r, i, j] * (y[j] - centers[r, j])
            value += (y[i] - centers[r, i]) * row
        if value <= levels[r]:
            return r
    return -1


_F1 = numba.types.Array(numba.float64, 1, "C")
_F2 = numba.types.Array(numba.float64, 2, "C")
_F3 = numba.types.Array(numba.float64, 3, "C")
_I1 = numba.types.Array(numba.int64, 1, "C")
FIELD_SIGNATURE = numba.types.void(_F1, _F1, _F1)
"""The signature a compiled field is compiled with: ``field(y, params, out)``, all three 1-D
C-contiguous float64 arrays. Passed as a function of this type (not as its own dispatcher type),
the field does not enter the loop's cache key: the loop is compiled once and cached on disk."""
LYAPUNOV_SIGNATURE = numba.float64(_F1, _F1)
"""The signature a compiled Lyapunov function of trapping regions is compiled with:
``V(y, params) -> float`` of one state."""
_F = numba.types.FunctionType(FIELD_SIGNATURE)
_V = numba.types.FunctionType(LYAPUNOV_SIGNATURE)
_F8 = numba.float64
_I8 = numba.int64
_SIGNATURE = numba.types.void(
    _F, _F1, _F2, _F2, _F3, _F1, _V, _F1, _F1, _F2, _F1, _F8, _F8, _F8, _F8, _F8, _I8, _F8, _F8,
    _F8, _F8, _F2, _F1, numba.types.Array(numba.int8, 1, "C"), _I1, _I1, _F1, _I1, _I1,
)  # fmt: skip


@numba.njit(LYAPUNOV_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def no_lyapunov(y, p) -> float:  # pragma: no cover - compiled
    """The Lyapunov function passed when there are no trapping regions (never called)."""
    return 0.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _in_trap(y, lyapunov, lyapunov_params, trap_levels, trap_normals, trap_offsets) -> int:
    """The first trapping region ``V(y) < level, normal . y > offset`` holding ``y``, or -1
    (``V`` is evaluated only when ``y`` is on the right side of some region's hyperplane)."""
    value = 0.0
    evaluated = False
    for r in range(trap_levels.shape[0]):
        side = 0.0
        for j in range(y.shape[0]):
            side += trap_normals[r, j] * y[j]
        if side > trap_offsets[r]:
            if not evaluated:
                value = lyapunov(y, lyapunov_params)
                evaluated = True
            if value < trap_levels[r]:
                return r
    return -1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _stop_code(y, v, conv_sq, escape_sq, centers, forms, levels, region, i) -> int:
    """The outcome of orbit ``i`` at state ``y`` (field ``v``): the field's tests, then the stop
    ellipsoids (a hit is recorded in ``region[i]``); :func:`_stop_or_trap` tests the trapping
    regions after it."""
    code = _code(y, v, conv_sq, escape_sq)
    if code == RUNNING and levels.shape[0]:
        hit = _in_region(y, centers, forms, levels)
        if hit >= 0:
            code = CONVERGED
            region[i] = hit
    return code


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _stop_or_trap(
    y, v, conv_sq, escape_sq, centers, forms, levels, lyapunov, lyapunov_params, trap_levels,
    trap_normals, trap_offsets, region, i,
) -> int:  # fmt: skip
    """:func:`_stop_code`, then the trapping regions (numbered after the ellipsoids in
    ``region[i]``). The one-orbit loop's steps test the regions at the call instead: a call
    with this many arrays costs more than a small step."""
    code = _stop_code(y, v, conv_sq, escape_sq, centers, forms, levels, region, i)
    if code == RUNNING and trap_levels.shape[0]:
        hit = _in_trap(y, lyapunov, lyapunov_params, trap_levels, trap_normals, trap_offsets)
        if hit >= 0:
            code = CONVERGED
            region[i] = levels.shape[0] + hit
    return code


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _first_step(field, params, y, v, work, tmp, rtol, atol) -> float:
    """The first step of an orbit from ``y`` with field ``v`` (Hairer, Norsett and Wanner 1993,
    section II.4), as ``dynsys.integrate._stepping.initial_step``; one more field evaluation."""
    n = y.shape[0]
    order = 4
    s0 = 0.0
    s1 = 0.0
    for j in range(n):
        scale = atol + abs(y[j]) * rtol
        q0 = y[j] / scale
        q1 = v[j] / scale
        if j == 0:
            s0 = q0 * q0
            s1 = q1 * q1
        else:
            s0 += q0 * q0
            s1 += q1 * q1
    d0 = math.sqrt(s0 / n)
    d1 = math.sqrt(s1 / n)
    small = (d0 < 1e-5) or (d1 < 1e-5)
    h0 = 1e-6 if small else 0.01 * d0 / d1
    for j in range(n):
        work[j] = y[j] + h0 * v[j]
    field(work, params, tmp)
    s2 = 0.0
    for j in range(n):
        scale = atol + abs(y[j]) * rtol
        q2 = (tmp[j] - v[j]) / scale
        if j == 0:
            s2 = q2 * q2
        else:
            s2 += q2 * q2
    d2 = math.sqrt(s2 / n) / h0
    dmax = _nan_max(d1, d2)
    h1 = _nan_max(1e-6, h0 * 1e-3)
    if dmax > 1e-15:
        h1 = (0.01 / dmax) ** (1.0 / (order + 1))
    h = 100 * h0
    if math.isnan(h1) or h1 < h:
        h = h1
    return h


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _begin(
    field, params, x0, i, y, v, work, tmp, conv_sq, escape_sq, centers, forms, levels, lyapunov,
    lyapunov_params, trap_levels, trap_normals, trap_offsets, rtol, atol, first_step, x_final,
    t_final, status, n_steps, n_rejected, speed_sq, region, evaluations,
) -> float:  # fmt: skip
    """Start orbit ``i``: its state into ``y``, its field into ``v``. An orbit that stops at
    its start (non-finite, converged, escaped, in a region) is finished here and -1 returned;
    otherwise its first step, with ``evaluations[i]`` the field evaluations so far."""
    n = y.shape[0]
    region[i] = -1
    n_steps[i] = 0
    n_rejected[i] = 0
    t_final[i] = 0.0
    finite = True
    for j in range(n):
        y[j] = x0[i, j]
        finite = finite and math.isfinite(y[j])
    if not finite:
        for j in range(n):
            x_final[i, j] = y[j]
        status[i] = NONFINITE
        speed_sq[i] = math.nan
        return -1.0
    field(y, params, v)
    evaluations[i] = 1
    code = _stop_or_trap(
        y, v, conv_sq, escape_sq, centers, forms, levels, lyapunov, lyapunov_params,
        trap_levels, trap_normals, trap_offsets, region, i,
    )  # fmt: skip
    if code != RUNNING:
        for j in range(n):
            x_final[i, j] = y[j]
        status[i] = code
        speed_sq[i] = _sum_sq(v)
        return -1.0
    if first_step > 0.0:
        return first_step
    evaluations[i] = 2
    return _first_step(field, params, y, v, work, tmp, rtol, atol)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _step_factor(err: float, err_prev: float, after_reject: bool, alpha: float, beta: float):
    """The factor on the step after a trial of error ``err``
    (``dynsys.integrate._stepping.step_factor``)."""
    order = 4
    accept = err <= 1.0
    positive = err > 0
    safe = err if positive else 1.0
    if positive:
        grow = SAFETY * safe ** (-alpha)
        if beta != 0.0:
            grow *= err_prev**beta
    else:
        grow = MAX_FACTOR
    upper = 1.0 if after_reject else MAX_FACTOR
    grow = min(max(grow, MIN_FACTOR), upper)
    if not accept:
        if not math.isfinite(err):
            grow = MIN_FACTOR
        else:
            shrink = SAFETY * safe ** (-1.0 / (order + 1))
            grow = min(max(shrink, MIN_FACTOR), 1.0)
    return grow


@numba.njit(_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def dopri5_orbits(
    field,
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
    """Integrate every row of ``x0`` with DOPRI5 until it stops; fill the output arrays.

    ``field(y, params, out)`` writes the vector field at ``y`` into ``out``. ``conv_sq < 0``
    disables the convergence test, ``first_step <= 0`` chooses the first step per orbit.
    ``region[i]`` is the stop region the orbit ended in (-1: none): the ellipsoids
    ``(centers, forms, levels)`` are numbered first, the trapping regions
    ``V(y) < trap_levels, trap_normals . y > trap_offsets`` (``V = lyapunov(y, lyapunov_params)``)
    after them.
    """
    m, n = x0.shape
    n_ellipsoids = levels.shape[0]
    n_traps = trap_levels.shape[0]
    order = 4  # error order of the pair
    alpha = 1.0 / (order + 1) - 0.75 * beta
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    k7 = np.empty(n)
    y = np.empty(n)
    y_new = np.empty(n)
    work = np.empty(n)
    tmp = np.empty(n)
    v = np.empty(n)
    for i in range(m):
        h = _begin(
            field, params, x0, i, y, v, work, tmp, conv_sq, escape_sq, centers, forms, levels,
            lyapunov, lyapunov_params, trap_levels, trap_normals, trap_offsets, rtol, atol,
            first_step, x_final, t_final, status, n_steps, n_rejected, speed_sq, region,
            evaluations,
        )  # fmt: skip
        if h < 0.0:
            continue
        evals = evaluations[i]
        h = min(h, max_step)
        t = 0.0
        err_prev = 1.0
        n_acc = 0
        n_rej = 0
        after_reject = False
        while True:
            room = t_max - t
            h_step = min(h, room)
            last = h >= room
            # the step attempt (dynsys.integrate._rk._attempt, weights summed left to right)
            for j in range(n):
                tmp[j] = y[j] + h_step * (v[j] * A21)
            field(tmp, params, k2)
            for j in range(n):
                tmp[j] = y[j] + h_step * (v[j] * A31 + k2[j] * A32)
            field(tmp, params, k3)
            for j in range(n):
                tmp[j] = y[j] + h_step * (v[j] * A41 + k2[j] * A42 + k3[j] * A43)
            field(tmp, params, k4)
            for j in range(n):
                tmp[j] = y[j] + h_step * (v[j] * A51 + k2[j] * A52 + k3[j] * A53 + k4[j] * A54)
            field(tmp, params, k5)
            for j in range(n):
                tmp[j] = y[j] + h_step * (
                    v[j] * A61 + k2[j] * A62 + k3[j] * A63 + k4[j] * A64 + k5[j] * A65
                )
            field(tmp, params, k6)
            for j in range(n):
                y_new[j] = y[j] + h_step * (
                    v[j] * B1 + k3[j] * B3 + k4[j] * B4 + k5[j] * B5 + k6[j] * B6
                )
            field(y_new, params, k7)
            evals += 6
            s_err = 0.0
            for j in range(n):
                scale = _nan_max(abs(y[j]), abs(y_new[j]))
                scale *= rtol
                scale += atol
                q = (
                    v[j] * E1 + k3[j] * E3 + k4[j] * E4 + k5[j] * E5 + k6[j] * E6 + k7[j] * E7
                ) / scale
                if j == 0:
                    s_err = q * q
                else:
                    s_err += q * q
            err = h_step * math.sqrt(s_err / n)
            accept = err <= 1.0
            trial_bad = not math.isfinite(err)
            grow = _step_factor(err, err_prev, after_reject, alpha, beta)
            h_new = h_step * grow
            h = min(h_new, max_step)
            if accept:
                t = t_max if last else t + h_step
                for j in range(n):
                    y[j] = y_new[j]
                    v[j] = k7[j]
                err_prev = max(err, 1e-4)
                n_acc += 1
            else:
                n_rej += 1
            after_reject = not accept
            code = RUNNING
            if accept:
                code = _stop_code(y, v, conv_sq, escape_sq, centers, forms, levels, region, i)
                if code == RUNNING and n_traps:
                    hit = _in_trap(
                        y, lyapunov, lyapunov_params, trap_levels, trap_normals, trap_offsets
                    )
                    if hit >= 0:
                        code = CONVERGED
                        region[i] = n_ellipsoids + hit
                if code == RUNNING and last:
                    code = TIME_LIMIT
            else:
                floor = 10.0 * _spacing(abs(t))
                floor = max(floor, min_step)
                if h < floor:
                    code = NONFINITE if trial_bad else STEP_UNDERFLOW
            if code == RUNNING and n_acc + n_rej >= max_steps:
                code = MAX_STEPS
            if code != RUNNING:
                break
        for j in range(n):
            x_final[i, j] = y[j]
        t_final[i] = t
        status[i] = code
        n_steps[i] = n_acc
        n_rejected[i] = n_rej
        speed_sq[i] = _sum_sq(v)
        evaluations[i] = evals
