"""The pieces of the compiled Dormand-Prince 5(4) loops of :mod:`dynsys.integrate._compiled`
(the one-orbit loop, :mod:`._compiled_orbits`, and the lane loop, :mod:`._compiled_lanes`):
the tableau, the stop tests, the start of an orbit, the first step and the step factor. Each is
the arithmetic of the batched numpy loop (:func:`dynsys.integrate._stepping.adaptive_flow` with
the DOPRI5 tableau): the same operations in the same order, no fused multiply-add, so that an
orbit ends where the numpy path ends it. Module-level functions, so that numba's on-disk cache
serves every process; nothing here is compiled before a loop needs it.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._status import Status
from ._compiled_types import LYAPUNOV_SIGNATURE

# Status codes as plain ints: numba reads module-level ints as compile-time constants.
CONVERGED = int(Status.CONVERGED)
TIME_LIMIT = int(Status.TIME_LIMIT)
MAX_STEPS = int(Status.MAX_STEPS)
ESCAPED = int(Status.ESCAPED)
NONFINITE = int(Status.NONFINITE)
STEP_UNDERFLOW = int(Status.STEP_UNDERFLOW)
RUNNING = int(Status.RUNNING)

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
    status, speed_sq, region, evaluations,
) -> float:  # fmt: skip
    """Start orbit ``i``: its state into ``y``, its field into ``v``. An orbit that stops at
    its start (non-finite, converged, escaped, in a region) is finished here and -1 returned;
    otherwise its first step, with ``evaluations[i]`` the field evaluations so far."""
    n = y.shape[0]
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
    positive = err > 0
    safe = err if positive else 1.0
    if not err <= 1.0:  # rejected: only the shrink factor counts (two powers fewer)
        if not math.isfinite(err):
            return MIN_FACTOR
        shrink = SAFETY * safe ** (-1.0 / (order + 1))
        return min(max(shrink, MIN_FACTOR), 1.0)
    if positive:
        grow = SAFETY * safe ** (-alpha)
        if beta != 0.0:
            grow *= err_prev**beta
    else:
        grow = MAX_FACTOR
    upper = 1.0 if after_reject else MAX_FACTOR
    grow = min(max(grow, MIN_FACTOR), upper)
    return grow
