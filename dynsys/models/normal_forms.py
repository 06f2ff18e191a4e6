"""The Bogdanov-Takens normal form, with closed-form fold and Hopf curves: a test bed for
two-parameter continuation (the Bautin normal form is in :mod:`dynsys.models.oscillators`).

References
----------
Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed., Springer (2004), sections 8.3
(Bautin) and 8.4 (Bogdanov-Takens).
"""

from __future__ import annotations

import numpy as np

from ..system import System, model
from ._arrays import matrix as _matrix
from ._arrays import stack as _stack

__all__ = ["bogdanov_takens_normal_form"]


@model
def bogdanov_takens_normal_form(b1: float = 0.0, b2: float = -1.0) -> System:
    """The Bogdanov-Takens normal form ``x' = y, y' = b1 + b2 x + x^2 + x y``.

    Equilibria ``(x, 0)`` with ``x^2 + b2 x + b1 = 0``. Fold curve ``b1 = b2^2 / 4`` (at
    ``x = -b2 / 2``); Hopf curve ``b1 = 0``, ``b2 < 0`` (at the origin, ``omega = sqrt(-b2)``,
    first Lyapunov coefficient ``1 / (2 omega^3 (1 + omega^2))``, subcritical); for ``b2 > 0``
    the origin is a neutral saddle (eigenvalues ``+-sqrt(b2)``). The two curves meet at the
    Bogdanov-Takens point ``b1 = b2 = 0``.

    Examples
    --------
    >>> bogdanov_takens_normal_form(b1=0.0, b2=-4.0).jac([0.0, 0.0]).tolist()
    [[0.0, 1.0], [-4.0, 0.0]]
    """

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        return _stack(y, p["b1"] + p["b2"] * x + x * x + x * y)

    def jac(s, p):
        x, y = s[..., 0], s[..., 1]
        zero = np.zeros_like(x)
        return _matrix([[zero, zero + 1.0], [p["b2"] + 2.0 * x + y, x]])

    def dfdp(s, p, name):
        x = s[..., 0]
        zero = np.zeros_like(x)
        return _stack(zero, zero + 1.0) if name == "b1" else _stack(zero, x)

    return System(
        f, ["x", "y"], {"b1": b1, "b2": b2}, jac=jac, dfdp=dfdp, name="bogdanov_takens_normal_form"
    )
