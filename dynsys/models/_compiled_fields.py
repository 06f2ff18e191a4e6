"""Compiled vector fields of models (numba; imported only when a compiled loop runs them).

Each function writes ``f(y)`` of one state into ``out`` with the operations of the model's numpy
field, in the same order, so that the compiled and the numpy paths give the same orbits.
"""

from __future__ import annotations

import numba

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
