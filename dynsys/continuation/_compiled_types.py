"""The numba signatures of a model's compiled field, Jacobian and parameter derivative (imports
numba; imported only where compiled code is built or run).

A :class:`dynsys.system.CompiledField` names up to three functions, each compiled with its
signature here (``numba.njit(SIGNATURE, cache=True, nogil=True)``):

- ``field(y, params, out)``: ``f(y)`` into ``out (n,)`` (the signature of
  :func:`dynsys.integrate.compiled_field_signature`, built here without loading the
  integrators' compiled loop);
- ``jacobian(y, params, out)``: ``df_i/dy_j`` into ``out (n, n)``;
- ``param_derivative(y, params, k, out)``: ``df/dp_k`` into ``out (n,)``, ``k`` the position of
  the parameter in ``CompiledField.params``.
"""

from __future__ import annotations

import numba

__all__ = [
    "FIELD_SIGNATURE",
    "JACOBIAN_SIGNATURE",
    "PARAM_DERIVATIVE_SIGNATURE",
    "compiled_signatures",
]

F1 = numba.types.Array(numba.float64, 1, "C")
F2 = numba.types.Array(numba.float64, 2, "C")
FIELD_SIGNATURE = numba.types.void(F1, F1, F1)
JACOBIAN_SIGNATURE = numba.types.void(F1, F1, F2)
PARAM_DERIVATIVE_SIGNATURE = numba.types.void(F1, F1, numba.int64, F1)


def compiled_signatures():
    """The numba signatures of a model's compiled field, Jacobian and parameter derivative, in
    that order (imports numba): ``field(y, params, out)``, ``jacobian(y, params, out)`` and
    ``param_derivative(y, params, k, out)``, with ``y``, ``params`` and the field's ``out`` 1-D
    C-contiguous float64 arrays, the Jacobian's ``out`` a 2-D one, ``k`` an int64. Compile the
    functions a :class:`dynsys.system.CompiledField` names with them.

    Examples
    --------
    >>> from dynsys.continuation import compiled_signatures
    >>> field, jacobian, param_derivative = compiled_signatures()
    >>> [str(a) for a in param_derivative.args]
    ['array(float64, 1d, C)', 'array(float64, 1d, C)', 'int64', 'array(float64, 1d, C)']
    """
    return FIELD_SIGNATURE, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE
