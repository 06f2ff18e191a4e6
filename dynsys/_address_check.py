"""Whether compiled code can call a function by the address of its compiled code, through
:func:`dynsys._first_class.function_at` (private; compiles a small probe when imported, about a
quarter of a second once, so only the continuation kernels' check imports it)."""

from functools import cache

import numba

from ._first_class import function_at

__all__ = ["calls_by_address"]

_SIGNATURE = numba.float64(numba.float64)


@numba.cfunc(_SIGNATURE, cache=True)
def _target(x):  # pragma: no cover - called from compiled code only
    return 2.0 * x + 1.0


_at = function_at(_SIGNATURE)


@numba.njit(cache=True)
def _call(where, x):
    return _at(where)(x)


@cache
def calls_by_address() -> bool:
    """Whether a compiled function called through :func:`~dynsys._first_class.function_at`
    gives its value (checked once per process: the intrinsic builds numba's function value by
    hand, so a numba release that lays that value out otherwise makes this False, and the
    callers run their Python path instead).

    Examples
    --------
    >>> calls_by_address()
    True
    """
    try:
        return _call(int(_target.address), 3.0) == 7.0
    except Exception:  # noqa: BLE001 - any failure to compile or call means: not usable
        return False
