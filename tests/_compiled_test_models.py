"""Compiled fields, Jacobians and parameter derivatives of small test systems (numba), for
tests/test_continuation_compiled.py: each repeats the operations of the numpy functions there."""

import numba

from dynsys.continuation import compiled_signatures

FIELD_SIGNATURE, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE = compiled_signatures()

JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# x' = mu - x^2 - y, y' = x - c y: a fold at x = -1/(2c), mu = -1/(4c^2)
@numba.njit(FIELD_SIGNATURE, **JIT)
def fold_field(y, p, out):  # pragma: no cover - compiled
    out[0] = p[0] - y[0] * y[0] - y[1]
    out[1] = y[0] - p[1] * y[1]


@numba.njit(JACOBIAN_SIGNATURE, **JIT)
def fold_jacobian(y, p, out):  # pragma: no cover - compiled
    out[0, 0] = -2.0 * y[0]
    out[0, 1] = 0.0 - 1.0
    out[1, 0] = 0.0 + 1.0
    out[1, 1] = 0.0 - p[1]


@numba.njit(PARAM_DERIVATIVE_SIGNATURE, **JIT)
def fold_param_derivative(y, p, k, out):  # pragma: no cover - compiled
    if k == 0:
        out[0] = 0.0 + 1.0
        out[1] = 0.0
    else:
        out[0] = 0.0
        out[1] = -y[1]


# x' = x^2 + mu^2 - 1: a circle of equilibria (an isola)
@numba.njit(FIELD_SIGNATURE, **JIT)
def circle_field(y, p, out):  # pragma: no cover - compiled
    out[0] = y[0] * y[0] + p[0] * p[0] - 1.0


@numba.njit(JACOBIAN_SIGNATURE, **JIT)
def circle_jacobian(y, p, out):  # pragma: no cover - compiled
    out[0, 0] = 2.0 * y[0]


@numba.njit(PARAM_DERIVATIVE_SIGNATURE, **JIT)
def circle_param_derivative(y, p, k, out):  # pragma: no cover - compiled
    out[0] = 0.0 + 2.0 * p[0]
