"""A small compiled function called through :func:`dynsys._first_class.function_at`, for
:func:`dynsys._first_class.calls_by_address` (private; compiling it at import costs about a
quarter of a second, so only that check imports this module)."""

import numba

from ._first_class import function_at

__all__ = ["probe_call", "probe_target"]

_SIGNATURE = numba.float64(numba.float64)


@numba.cfunc(_SIGNATURE, cache=True)
def probe_target(x):  # pragma: no cover - called from compiled code only
    """``2 x + 1``, the function the probe calls by address."""
    return 2.0 * x + 1.0


_at = function_at(_SIGNATURE)


@numba.njit(cache=True)
def probe_call(where, x):
    """``f(x)`` for the compiled function ``f`` of ``float64(float64)`` at address ``where``."""
    return _at(where)(x)
