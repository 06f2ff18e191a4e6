"""Compiled vector fields of models (numba; imported only when a compiled loop runs them).

Each function writes ``f(y)`` of one state into ``out`` with the operations of the model's numpy
field, in the same order, so that the compiled and the numpy paths give the same orbits. The
Jacobians and parameter derivatives (used by the compiled continuation loop) likewise repeat the
operations of the model's ``jac`` and ``dfdp``; they are compiled with the signatures of
:func:`dynsys.continuation.compiled_signatures`.
"""

from __future__ import annotations

import numba

from ..continuation import compiled_signatures
from ..integrate import (
    compiled_field_signature,
    compiled_lyapunov_signature,
    lane_field_signature,
    lane_lyapunov_signature,
)


@numba.njit(compiled_field_signature(), cache=True, nogil=True, error_model="numpy")
def duffing(y, p, out):  # pragma: no cover - compiled
    """:func:`dynsys.models.duffing`; ``p = (delta, alpha, beta)``."""
    q = y[0]
    v = y[1]
    out[0] = v
    out[1] = -p[0] * v - p[1] * q - p[2] * (q * q * q)


@numba.njit(compiled_lyapunov_signature(), cache=True, nogil=True, error_model="numpy")
def duffing_energy(y, p):  # pragma: no cover - compiled
    """:func:`dynsys.models.classic.duffing_energy` of one state."""
    q = y[0]
    v = y[1]
    return 0.5 * (v * v) + 0.5 * p[1] * (q * q) + 0.25 * p[2] * (q * q * q * q)


@numba.njit(lane_field_signature(), cache=True, nogil=True, error_model="numpy")
def duffing_lanes(Y, p, out):  # pragma: no cover - compiled
    """:func:`duffing` for the states in the columns of ``Y (2, lanes)``."""
    delta, alpha, beta = p[0], p[1], p[2]
    for lane in range(Y.shape[1]):
        q = Y[0, lane]
        v = Y[1, lane]
        out[0, lane] = v
        out[1, lane] = -delta * v - alpha * q - beta * (q * q * q)


@numba.njit(lane_lyapunov_signature(), cache=True, nogil=True, error_model="numpy")
def duffing_energy_lanes(Y, p, out):  # pragma: no cover - compiled
    """:func:`duffing_energy` for the states in the columns of ``Y (2, lanes)``."""
    half_alpha, quarter_beta = 0.5 * p[1], 0.25 * p[2]
    for lane in range(Y.shape[1]):
        q = Y[0, lane]
        v = Y[1, lane]
        out[lane] = 0.5 * (v * v) + half_alpha * (q * q) + quarter_beta * (q * q * q * q)


# ---------------------------------------------------------------------------- Lorenz
FIELD_SIGNATURE, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE = compiled_signatures()
_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(FIELD_SIGNATURE, **_JIT)
def lorenz(y, p, out):  # pragma: no cover - compiled
    """:func:`dynsys.models.lorenz`; ``p = (sigma, r, beta)``."""
    x = y[0]
    v = y[1]
    z = y[2]
    out[0] = p[0] * (v - x)
    out[1] = p[1] * x - v - x * z
    out[2] = x * v - p[2] * z


@numba.njit(JACOBIAN_SIGNATURE, **_JIT)
def lorenz_jacobian(y, p, out):  # pragma: no cover - compiled
    """The Jacobian of :func:`lorenz`, as the model's ``jac`` computes it."""
    x = y[0]
    v = y[1]
    z = y[2]
    sig = 0.0 + p[0]
    out[0, 0] = -sig
    out[0, 1] = sig
    out[0, 2] = 0.0
    out[1, 0] = p[1] - z
    out[1, 1] = 0.0 - 1.0
    out[1, 2] = -x
    out[2, 0] = v
    out[2, 1] = x
    out[2, 2] = 0.0 - p[2]


@numba.njit(PARAM_DERIVATIVE_SIGNATURE, **_JIT)
def lorenz_param_derivative(y, p, k, out):  # pragma: no cover - compiled
    """``df/dp_k`` of :func:`lorenz` (``k``: 0 sigma, 1 r, 2 beta), as the model's ``dfdp``."""
    x = y[0]
    v = y[1]
    z = y[2]
    out[0] = 0.0
    out[1] = 0.0
    out[2] = 0.0
    if k == 0:
        out[0] = v - x
    elif k == 1:
        out[1] = x
    else:
        out[2] = -z
