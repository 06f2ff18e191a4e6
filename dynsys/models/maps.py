"""Classical maps ``x_{k+1} = g(x_k)``: the test bed for the algorithms of discrete time.

Each function returns a :class:`~dynsys.maps.Map` with analytic Jacobian and parameter
derivatives.

References
----------
M. Henon, Commun. Math. Phys. 50, 69 (1976).
R. M. May, Nature 261, 459 (1976) (the logistic map).
"""

from __future__ import annotations

import numpy as np

from ..maps import Map
from ..system import model

__all__ = ["henon", "logistic"]


def _stack(*components) -> np.ndarray:
    return np.stack(np.broadcast_arrays(*components), axis=-1)


@model
def henon(a: float = 1.4, b: float = 0.3) -> Map:
    """The Henon map ``(x, y) -> (1 - a x^2 + y, b x)``.

    Its Jacobian ``[[-2 a x, 1], [b, 0]]`` has determinant ``-b`` everywhere, so the sum of its
    Lyapunov exponents is ``log |b|``. At ``a = 1.4``, ``b = 0.3`` it has a chaotic attractor
    with largest exponent about 0.41922.

    Examples
    --------
    >>> henon().g([0.0, 0.0]).tolist()
    [1.0, 0.0]
    >>> round(float(np.linalg.det(henon(b=0.3).jac([0.7, -0.2]))), 12)
    -0.3
    """

    def g(s, p):
        x, y = s[..., 0], s[..., 1]
        return _stack(1.0 - p["a"] * x**2 + y, p["b"] * x)

    def jac(s, p):
        x = s[..., 0]
        zero = np.zeros_like(x)
        rows = [_stack(-2.0 * p["a"] * x, zero + 1.0), _stack(zero + p["b"], zero)]
        return np.stack(rows, axis=-2)

    def dgdp(s, p, name):
        x = s[..., 0]
        zero = np.zeros_like(x)
        return _stack(-(x**2), zero) if name == "a" else _stack(zero, x)

    return Map(g, ["x", "y"], {"a": a, "b": b}, jac=jac, dgdp=dgdp, name="henon")


@model
def logistic(r: float = 4.0) -> Map:
    """The logistic map ``x -> r x (1 - x)``.

    Fixed points ``0`` and ``1 - 1/r`` (stable for ``1 < r < 3``); a stable 2-cycle
    ``(r + 1 -+ sqrt((r - 3)(r + 1))) / (2 r)`` for ``3 < r < 1 + sqrt(6)``; at ``r = 4`` it is
    conjugate to the tent map and its Lyapunov exponent is ``log 2``.

    Examples
    --------
    >>> logistic(r=2.5).g([0.5]).tolist()
    [0.625]
    """
    return Map(
        lambda x, p: p["r"] * x * (1.0 - x),
        ["x"],
        {"r": r},
        jac=lambda x, p: (p["r"] * (1.0 - 2.0 * x))[..., None],
        dgdp=lambda x, p, name: x * (1.0 - x),
        name="logistic",
    )
