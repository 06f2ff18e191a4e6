"""Normal forms of codimension-two bifurcations of equilibria, with closed-form bifurcation sets:
test beds for two-parameter continuation.

References
----------
Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed., Springer (2004), sections 8.3
(Bautin) and 8.4 (Bogdanov-Takens).
"""

from __future__ import annotations

import numpy as np

from ..system import System, model

__all__ = ["bautin_normal_form", "bogdanov_takens_normal_form"]


def _stack(*components) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*components), axis=-1)


def _matrix(rows) -> np.ndarray:
    flat = np.broadcast_arrays(*[entry for row in rows for entry in row])
    return np.stack(flat, axis=-1).reshape(*flat[0].shape, len(rows), len(rows[0]))


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


@model
def bautin_normal_form(mu: float = 0.0, beta: float = -1.0) -> System:
    """The Bautin (generalised Hopf) normal form ``z' = (mu + i) z + beta |z|^2 z - |z|^4 z`` in
    Cartesian coordinates ``z = x + i y``.

    The origin is an equilibrium for all parameters, with eigenvalues ``mu +- i``: the Hopf curve
    is ``mu = 0`` with ``omega = 1``. With ``|q| = 1`` the first Lyapunov coefficient there is
    ``l1 = 2 beta`` and, at the generalised Hopf point ``mu = beta = 0``, the second is
    ``l2 = -4``: amplitude ``r' = mu r + beta r^3 - r^5``, a fold of cycles on
    ``beta^2 + 4 mu = 0``, ``beta > 0``.

    Examples
    --------
    >>> bautin_normal_form(mu=0.5).f([1.0, 0.0]).tolist()  # mu - 1 - 1 = -1.5 along x
    [-1.5, 1.0]
    """

    def f(s, p):
        x, y = s[..., 0], s[..., 1]
        r2 = x * x + y * y
        radial = p["mu"] + p["beta"] * r2 - r2 * r2
        return _stack(radial * x - y, x + radial * y)

    def jac(s, p):
        x, y = s[..., 0], s[..., 1]
        r2 = x * x + y * y
        radial = p["mu"] + p["beta"] * r2 - r2 * r2
        slope = 2.0 * p["beta"] - 4.0 * r2  # d radial / d r2, times 2
        return _matrix(
            [
                [radial + slope * x * x, slope * x * y - 1.0],
                [slope * x * y + 1.0, radial + slope * y * y],
            ]
        )

    def dfdp(s, p, name):
        x, y = s[..., 0], s[..., 1]
        factor = 1.0 if name == "mu" else x * x + y * y
        return _stack(factor * x, factor * y)

    return System(
        f, ["x", "y"], {"mu": mu, "beta": beta}, jac=jac, dfdp=dfdp, name="bautin_normal_form"
    )
