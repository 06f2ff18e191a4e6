"""Compiled functions passed to compiled loops as first-class values whose address and numba
type are found once per process (imports numba; imported only where compiled code runs).

A numba dispatcher passed to a compiled function is looked up anew at every call: its compile
result, its address and its type, 15-50 us per function. The integrators' loops (one call per
chunk of orbits) and the continuation kernels (calls per point) pass the model's functions this
way instead.
"""

from __future__ import annotations

from functools import cache

import numba
import numba.core.types.function_type
import numba.extending

__all__ = ["address", "first_class", "function_at"]


def first_class(function, signature):
    """``function`` (a numba dispatcher) as a first-class function value of ``signature`` whose
    address and type are found once, here.

    The value carries the address of the compiled code (numba's wrapper-address protocol) and
    its numba type, so a call of a loop looks up neither; both run the same compiled code.
    Anything other than a dispatcher (a ``cfunc``) is returned as it is. The value is made once
    per dispatcher and signature.

    Examples
    --------
    >>> import numba
    >>> sig = numba.float64(numba.float64)
    >>> twice = numba.njit(sig)(lambda x: 2.0 * x)
    >>> first_class(twice, sig) is first_class(twice, sig)
    True
    """
    if getattr(function, "get_compile_result", None) is None:
        return function
    return _first_class(function, signature)


@cache
def _first_class(dispatcher, signature) -> _FirstClass:
    """:func:`first_class` of a dispatcher, made once."""
    return _FirstClass(dispatcher.get_compile_result(signature))


class _FirstClass(numba.core.types.function_type.CompileResultWAP):
    """A compile result as a first-class function, with its numba type made once."""

    def __init__(self, cres) -> None:
        super().__init__(cres)
        self.numba_type = numba.types.FunctionType(cres.signature)


@numba.extending.typeof_impl.register(_FirstClass)
def _typeof_first_class(value, context):
    return value.numba_type


def address(function, signature) -> int:
    """The address of the compiled code of ``function`` (a numba dispatcher, or a ``cfunc``)
    for ``signature``: what a compiled loop made with :func:`function_at` calls, passed as an
    integer (no per-call lookup at all: a first-class function argument is still unboxed at
    every call, ~3 us each).

    Examples
    --------
    >>> import numba
    >>> sig = numba.float64(numba.float64)
    >>> twice = numba.njit(sig)(lambda x: 2.0 * x)
    >>> address(twice, sig) == first_class(twice, sig).address
    True
    """
    return int(first_class(function, signature).address)


@cache
def function_at(signature):
    """An intrinsic ``at(address)`` for compiled code: the first-class function of
    ``signature`` whose compiled code is at ``address`` (from :func:`address`), called as a
    first-class function argument is (through its C wrapper)."""
    function_type = numba.types.FunctionType(signature)

    @numba.extending.intrinsic
    def at(typingctx, where):
        if not isinstance(where, numba.types.Integer):
            return None

        def codegen(context, builder, sig, args):
            value = numba.core.cgutils.create_struct_proxy(function_type)(context, builder)
            pointer = context.get_value_type(numba.types.voidptr)
            value.c_addr = builder.inttoptr(args[0], pointer)
            value.py_addr = pointer(None)
            value.jit_addr = pointer(None)
            return value._getvalue()

        return function_type(where), codegen

    return at
