"""The finite-difference stencils of :func:`dynsys.continuation._normal_forms.jacobian_derivatives`
for a model with a compiled Jacobian, in one compiled call (numba; imported on first use).

:func:`state_stencil` evaluates the state Jacobian at the stencil's states (the parameters held)
and combines the evaluations with the operations of ``jacobian_derivatives`` in its order, so
the derivatives are those of the Python code, bit for bit, for one call instead of five
Jacobian calls and a dozen numpy operations.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types

from .._first_class import function_at
from ._compiled_types import F1, F2, JACOBIAN_SIGNATURE

_JACOBIAN = function_at(JACOBIAN_SIGNATURE)

_SIGNATURE = types.void(types.int64, F1, F1, F1, types.float64, types.boolean, F2, F2)


@numba.njit(_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def state_stencil(jacobian_at, params, x, d, h, second, first_out, second_out):
    """``(Jm2 - 8 Jm1 + 8 Jp1 - Jp2) / (12 h)`` into ``first_out`` and (``second``)
    ``(-Jm2 + 16 Jm1 - 30 J0 + 16 Jp1 - Jp2) / (12 h h)`` into ``second_out``, ``Jk`` the state
    Jacobian (compiled, at its address ``jacobian_at``) at ``x + k h d`` with ``params``."""
    jacobian = _JACOBIAN(jacobian_at)
    n = x.shape[0]
    z = np.empty(n)
    jacs = np.empty((4, n, n))
    for slot, k in enumerate((-2.0, -1.0, 1.0, 2.0)):
        step = k * h
        for i in range(n):
            z[i] = x[i] + step * d[i]
        jacobian(z, params, jacs[slot])
    jm2, jm1, jp1, jp2 = jacs[0], jacs[1], jacs[2], jacs[3]
    scale = 12.0 * h
    for i in range(n):
        for j in range(n):
            first_out[i, j] = (jm2[i, j] - 8.0 * jm1[i, j] + 8.0 * jp1[i, j] - jp2[i, j]) / scale
    if not second:
        return
    j0 = np.empty((n, n))
    for i in range(n):
        z[i] = x[i]
    jacobian(z, params, j0)
    scale2 = 12.0 * h * h
    for i in range(n):
        for j in range(n):
            second_out[i, j] = (
                -jm2[i, j] + 16.0 * jm1[i, j] - 30.0 * j0[i, j] + 16.0 * jp1[i, j] - jp2[i, j]
            ) / scale2
