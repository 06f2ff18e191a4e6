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
import numba.core.types.function_type
import numba.extending

__all__ = [
    "FIELD_SIGNATURE",
    "JACOBIAN_SIGNATURE",
    "PARAM_DERIVATIVE_SIGNATURE",
    "compiled_signatures",
    "first_class",
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


def first_class(function, signature):
    """``function`` (a numba dispatcher) as a first-class function value of ``signature`` whose
    address and type are found once, here.

    A dispatcher passed to a compiled function is looked up anew at every call (its compile
    result, its address, its type: ~15 us per function); the value returned here carries its
    address (numba's wrapper-address protocol) and its type, so a call costs none of that. Both
    run the same compiled code. Anything other than a dispatcher (a ``cfunc``) is returned as it
    is.
    """
    get = getattr(function, "get_compile_result", None)
    if get is None:
        return function
    return _FirstClass(get(signature))


class _FirstClass(numba.core.types.function_type.CompileResultWAP):
    """A compile result as a first-class function, with its numba type made once."""

    def __init__(self, cres) -> None:
        super().__init__(cres)
        self.numba_type = numba.types.FunctionType(cres.signature)


@numba.extending.typeof_impl.register(_FirstClass)
def _typeof_first_class(value, context):
    return value.numba_type
