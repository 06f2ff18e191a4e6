"""Oscillators with known periodic orbits: the test bed of :mod:`dynsys.cycles`.

Each function returns a :class:`~dynsys.System` with analytic Jacobian and parameter derivatives.
The Stuart-Landau, Bautin and bistable Hopf systems are normal forms written in Cartesian
coordinates, so their cycles, periods and Floquet multipliers are known in closed form; Van der
Pol's period is known to many digits from the literature.

References
----------
Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed., Springer (2004), sections 3.4
(Hopf) and 8.3 (Bautin). B. van der Pol, Phil. Mag. 2, 978 (1926).
"""

from __future__ import annotations

import numpy as np

from ..system import System, model
from ._arrays import matrix as _matrix
from ._arrays import stack as _stack

__all__ = ["bautin_normal_form", "bistable_hopf", "stuart_landau", "van_der_pol"]


def _radial_system(name, params, g, dg, dg_dp):
    """The planar field ``r' = r g(r^2)``, ``theta' = omega`` in Cartesian ``(x, y)``.

    ``g(s, p)`` is the radial growth rate as a function of ``s = r^2``, ``dg`` its derivative in
    ``s`` and ``dg_dp(s, p, name)`` its derivative in a parameter other than ``omega``. Without
    an ``omega`` parameter the angular speed is 1.
    """

    def speed(p):
        return p.get("omega", 1.0)

    def f(z, p):
        x, y = z[..., 0], z[..., 1]
        rate = g(x * x + y * y, p)
        return _stack(rate * x - speed(p) * y, speed(p) * x + rate * y)

    def jac(z, p):
        x, y = z[..., 0], z[..., 1]
        s = x * x + y * y
        rate, slope = g(s, p), 2.0 * dg(s, p)
        w = speed(p)
        return _matrix(
            [[rate + slope * x * x, slope * x * y - w], [slope * x * y + w, rate + slope * y * y]]
        )

    def dfdp(z, p, which):
        x, y = z[..., 0], z[..., 1]
        if which == "omega":
            return _stack(-y, x)
        d = dg_dp(x * x + y * y, p, which)
        return _stack(d * x, d * y)

    return System(f, ["x", "y"], params, jac=jac, dfdp=dfdp, name=name)


@model
def stuart_landau(mu: float = 1.0, omega: float = 1.0) -> System:
    """The Stuart-Landau oscillator (supercritical Hopf normal form) in Cartesian coordinates.

    ``x' = mu x - omega y - (x^2 + y^2) x``, ``y' = omega x + mu y - (x^2 + y^2) y``, that is
    ``r' = mu r - r^3``, ``theta' = omega``. For ``mu > 0`` the circle ``r = sqrt(mu)`` is a
    stable cycle of period ``2 pi / omega`` with nontrivial Floquet multiplier
    ``exp(-4 pi mu / omega)``; the origin has a Hopf point at ``mu = 0``.

    Examples
    --------
    >>> stuart_landau(mu=4.0, omega=3.0).f([2.0, 0.0]).tolist()
    [0.0, 6.0]
    """
    return _radial_system(
        "stuart_landau",
        {"mu": mu, "omega": omega},
        lambda s, p: p["mu"] - s,
        lambda s, p: -np.ones_like(s),
        lambda s, p, name: np.ones_like(s),
    )


@model
def bautin_normal_form(mu: float = 0.0, beta: float = -1.0, omega: float = 1.0) -> System:
    """The Bautin (generalised Hopf) normal form ``z' = (mu + i omega) z + beta |z|^2 z - |z|^4 z``
    in Cartesian coordinates ``z = x + i y``: ``r' = mu r + beta r^3 - r^5``, ``theta' = omega``.

    The origin has eigenvalues ``mu +- i omega``: the Hopf curve is ``mu = 0``. With
    ``omega = 1`` and ``|q| = 1`` the first Lyapunov coefficient there is ``l1 = 2 beta`` and, at
    the generalised Hopf point ``mu = beta = 0``, the second is ``l2 = -4``. Cycles have
    ``r^2 = (beta +- sqrt(beta^2 + 4 mu)) / 2``; for ``beta > 0`` the two meet in a fold of cycles
    at ``mu = -beta^2 / 4``, ``r^2 = beta / 2``. A cycle of radius ``R`` has period
    ``2 pi / omega`` and nontrivial multiplier ``exp(2 pi (mu + 3 beta R^2 - 5 R^4) / omega)``.

    Examples
    --------
    >>> bautin_normal_form(mu=0.5).f([1.0, 0.0]).tolist()  # mu - 1 - 1 = -1.5 along x
    [-1.5, 1.0]
    >>> bautin_normal_form(mu=0.0, beta=1.0).f([1.0, 0.0]).tolist()
    [0.0, 1.0]
    """

    def dg_dp(s, p, name):
        return np.ones_like(s) if name == "mu" else s

    return _radial_system(
        "bautin_normal_form",
        {"mu": mu, "beta": beta, "omega": omega},
        lambda s, p: p["mu"] + p["beta"] * s - s * s,
        lambda s, p: p["beta"] - 2.0 * s,
        dg_dp,
    )


@model
def bistable_hopf(mu: float = -0.1) -> System:
    """The subcritical Hopf normal form with a quintic term, ``r' = mu r + r^3 - r^5``,
    ``theta' = 1``: the Bautin normal form with ``beta = 1``, in ``x = r cos(theta)``,
    ``y = r sin(theta)``.

    For ``-1/4 < mu < 0`` it is bistable: the origin is a stable focus, the cycle
    ``r^2 = (1 + sqrt(1 + 4 mu)) / 2`` is stable, and the unstable cycle
    ``r^2 = (1 - sqrt(1 + 4 mu)) / 2`` separates their basins. Every cycle has period ``2 pi``;
    the radial Floquet exponent of the cycle of radius ``r`` is ``mu + 3 r^2 - 5 r^4``. The
    cycles are born in pairs at ``mu = -1/4`` and the inner one shrinks onto the origin at
    ``mu = 0`` (a subcritical Hopf bifurcation).

    Examples
    --------
    >>> r2 = (1 + np.sqrt(1 - 0.4)) / 2  # the stable cycle at mu = -0.1
    >>> v = bistable_hopf().f([np.sqrt(r2), 0.0])  # tangent to the circle, speed r
    >>> bool(abs(v[0]) < 1e-15 and abs(v[1] - np.sqrt(r2)) < 1e-15)
    True
    """
    return _radial_system(
        "bistable_hopf",
        {"mu": mu},
        lambda s, p: p["mu"] + s - s * s,
        lambda s, p: 1.0 - 2.0 * s,
        lambda s, p, name: np.ones_like(s),
    )


@model
def van_der_pol(mu: float = 1.0) -> System:
    """The Van der Pol oscillator ``x' = y``, ``y' = mu (1 - x^2) y - x``.

    For ``mu > 0`` it has one stable limit cycle; at ``mu = 1`` its period is
    ``6.663286859323130...``.

    Examples
    --------
    >>> van_der_pol(mu=2.0).f([1.0, 1.0]).tolist()
    [1.0, -1.0]
    """

    def f(z, p):
        x, y = z[..., 0], z[..., 1]
        return _stack(y, p["mu"] * (1.0 - x * x) * y - x)

    def jac(z, p):
        x, y = z[..., 0], z[..., 1]
        zero = np.zeros_like(x)
        return _matrix(
            [[zero, zero + 1.0], [-2.0 * p["mu"] * x * y - 1.0, p["mu"] * (1.0 - x * x)]]
        )

    def dfdp(z, p, name):
        x, y = z[..., 0], z[..., 1]
        return _stack(np.zeros_like(x), (1.0 - x * x) * y)

    return System(f, ["x", "y"], {"mu": mu}, jac=jac, dfdp=dfdp, name="van_der_pol")
