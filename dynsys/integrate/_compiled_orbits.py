"""The compiled Dormand-Prince 5(4) loop over one orbit at a time (imported on first use: numba
takes a moment). Module-level functions, so that numba's on-disk cache serves every process; the
pieces it shares with the lane loop are in :mod:`._compiled_kernels`.
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
    _in_trap,
    _nan_max,
    _spacing,
    _step_factor,
    _stop_code,
    _sum_sq,
)  # fmt: skip
from ._compiled_types import ORBITS_SIGNATURE


@numba.njit(ORBITS_SIGNATURE, cache=True, nogil=True, error_model="numpy")
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
    after them. The caller passes ``t_final``, ``n_steps``, ``n_rejected`` and ``evaluations``
    zeroed and ``region`` filled with -1: an orbit that stops at its start leaves them so.
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
            first_step, x_final, status, speed_sq, region, evaluations,
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
