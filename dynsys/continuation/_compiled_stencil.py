"""The finite-difference stencils of :func:`dynsys.continuation._normal_forms.jacobian_derivatives`
for a model with a compiled Jacobian, in one compiled call (numba; imported on first use).

:func:`state_stencil` evaluates the state Jacobian at the stencil's states (the parameters held),
:func:`full_stencil` the Jacobian ``[J, f_p]`` of the residual at the stencil's unknowns (state
and continued parameter); both combine the evaluations with the operations of
``jacobian_derivatives`` in its order, so the derivatives are those of the Python code, bit for
bit, for one call instead of five Jacobian calls and a dozen numpy operations.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types

from .._first_class import function_at
from ._compiled_palc import _split
from ._compiled_types import F1, F2, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE

_JACOBIAN = function_at(JACOBIAN_SIGNATURE)
_PARAM_DERIVATIVE = function_at(PARAM_DERIVATIVE_SIGNATURE)
_STEPS = (-2.0, -1.0, 1.0, 2.0, 0.0)  # the stencil's offsets, in units of h (0: with second)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _combine(jacs, h, second, first_out, second_out):
    """``(Jm2 - 8 Jm1 + 8 Jp1 - Jp2) / (12 h)`` into ``first_out`` and (``second``)
    ``(-Jm2 + 16 Jm1 - 30 J0 + 16 Jp1 - Jp2) / (12 h h)`` into ``second_out``, from
    ``jacs = (Jm2, Jm1, Jp1, Jp2, J0)``, as numpy evaluates these expressions."""
    rows, cols = first_out.shape
    scale = 12.0 * h
    for i in range(rows):
        for j in range(cols):
            first_out[i, j] = (
                jacs[0, i, j] - 8.0 * jacs[1, i, j] + 8.0 * jacs[2, i, j] - jacs[3, i, j]
            ) / scale
    if not second:
        return
    scale2 = 12.0 * h * h
    for i in range(rows):
        for j in range(cols):
            second_out[i, j] = (
                -jacs[0, i, j]
                + 16.0 * jacs[1, i, j]
                - 30.0 * jacs[4, i, j]
                + 16.0 * jacs[2, i, j]
                - jacs[3, i, j]
            ) / scale2


_STATE_SIGNATURE = types.void(types.int64, F1, F1, F1, types.float64, types.boolean, F2, F2)


@numba.njit(_STATE_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def state_stencil(jacobian_at, params, x, d, h, second, first_out, second_out):
    """The derivatives of the state Jacobian (compiled, at its address ``jacobian_at``) along
    ``d`` at ``x`` with ``params``, from its values at ``x + k h d`` (:func:`_combine`)."""
    jacobian = _JACOBIAN(jacobian_at)
    n = x.shape[0]
    z = np.empty(n)
    jacs = np.empty((5, n, n))
    for slot in range(5 if second else 4):
        step = _STEPS[slot] * h
        for i in range(n):
            z[i] = x[i] + step * d[i] if slot < 4 else x[i]
        jacobian(z, params, jacs[slot])
    _combine(jacs, h, second, first_out, second_out)


_FULL_SIGNATURE = types.void(
    types.int64, types.int64, F1, types.int64, F1, F1, types.float64, types.boolean, F2, F2
)


@numba.njit(_FULL_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def full_stencil(jacobian_at, dparam_at, params, k, u, d, h, second, first_out, second_out):
    """The derivatives of the residual's Jacobian ``[J, f_p]`` (``n x (n + 1)``; the model's
    compiled Jacobian and parameter derivative at their addresses, the continued parameter
    ``params[k]`` the last unknown) along ``d`` at ``u``, from its values at ``u + k h d``
    (:func:`_combine`)."""
    jacobian = _JACOBIAN(jacobian_at)
    dparam = _PARAM_DERIVATIVE(dparam_at)
    m = u.shape[0]
    n = m - 1
    z = np.empty(m)
    x = np.empty(n)
    J = np.empty((n, n))
    fp = np.empty(n)
    jacs = np.empty((5, n, m))
    for slot in range(5 if second else 4):
        step = _STEPS[slot] * h
        for i in range(m):
            z[i] = u[i] + step * d[i] if slot < 4 else u[i]
        _split(z, x, params, k)
        jacobian(x, params, J)
        dparam(x, params, k, fp)
        for i in range(n):
            for j in range(n):
                jacs[slot, i, j] = J[i, j]
            jacs[slot, i, n] = fp[i]
    _combine(jacs, h, second, first_out, second_out)
