"""Stop regions: ellipsoids around attracting points in which an orbit may stop as arrived.

For an attracting point ``x*`` of a flow with Jacobian ``A`` (every eigenvalue with negative real
part), ``P`` solves the Lyapunov equation ``A^T P + P A = -I`` and ``V(x) = (x - x*)^T P (x - x*)``.
Near ``x*``, ``dV/dt = 2 (x - x*)^T P f(x)`` is about ``-|x - x*|^2``. The region is the sublevel
set ``V <= c`` with the largest ``c`` (of a geometric ladder) on which

    ``dV/dt <= -margin * mu * V``,  ``mu`` the smallest eigenvalue of ``P^-1`` (so that
    ``|x - x*|^2 >= mu V``),

holds at every point of a mesh of the set (rays in ``n_directions`` directions, ``n_radii``
levels along each), then again on a mesh twice as fine in both counts; ``margin = 1/2`` asks for
half the decay of the linearisation, room for what falls between mesh points. On such a set
``V`` decreases along orbits, so the set is positively invariant and its orbits converge to the
only equilibrium in it, ``x*``: an orbit that enters it belongs to ``x*``'s basin.

The check is numerical (on a mesh, with that margin), not a proof by bounds; the rule and its
numbers are recorded with the result. Points where it fails at the smallest level (not
hyperbolic attracting, or a field too curved there), and the points of systems of more than
three states, get no region: their orbits stop by the ``|f|`` rule as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

from ..integrate import StopRegions

__all__ = ["RegionRule", "checked_region", "stop_regions"]


@dataclass(frozen=True)
class RegionRule:
    """The settings of the check (see the module docstring)."""

    margin: float = 0.5
    n_directions: int = 360
    n_radii: int = 24
    largest: float = 1.0  # largest radius tried, relative to max(1, |x*|_inf)
    ladder: float = 0.8  # ratio of successive radii tried
    smallest: float = 1e-4  # smallest radius tried, relative

    def describe(self) -> str:
        return (
            f"V = (x - x*)^T P (x - x*), A^T P + P A = -I; largest V <= c (radii "
            f"{self.largest:g} x {self.ladder:g}^k relative) with dV/dt <= -{self.margin:g} mu V "
            f"on a mesh of {self.n_directions} directions x {self.n_radii} levels and on one "
            "twice as fine"
        )


MAX_STATES = 3
"""Stop regions are made for systems of at most this many states, whose sphere of directions a
mesh covers densely."""


def _directions(n: int, count: int) -> np.ndarray:
    """Unit vectors spread evenly: both directions for n = 1, ``count`` angles on the circle for
    n = 2, ``count^1.5 / 4`` points of a Fibonacci lattice on the sphere for n = 3."""
    if n == 1:
        return np.array([[1.0], [-1.0]])
    if n == 2:
        angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
        return np.stack([np.cos(angle), np.sin(angle)], axis=1)
    k = int(count**1.5 / 4)
    z = 1.0 - (2.0 * np.arange(k) + 1.0) / k
    angle = np.pi * (3.0 - np.sqrt(5.0)) * np.arange(k)
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=1)


def _decays(system, params, x_star, P, root_inv, radius, rule, refine: int) -> bool:
    """Whether ``dV/dt <= -margin mu V`` on the mesh of ``V <= radius^2`` (``refine`` times
    finer)."""
    n = len(x_star)
    u = _directions(n, rule.n_directions * refine)
    levels = radius * np.arange(1, rule.n_radii * refine + 1) / (rule.n_radii * refine)
    w = (levels[:, None, None] * u[None]).reshape(-1, n)  # V(e) = |w|^2
    e = w @ root_inv.T
    f = system.f(x_star + e, params)
    dv = 2.0 * np.einsum("mi,ij,mj->m", e, P, f)
    mu = 1.0 / np.linalg.eigvalsh(P).max()
    bound = -rule.margin * mu * np.einsum("mi,mi->m", w, w)
    return bool(np.all(np.isfinite(dv)) and np.all(dv <= bound))


def checked_region(system, params, x_star, rule: RegionRule = RegionRule()):
    """``(P, c)`` of the stop region around the point ``x_star`` (see the module docstring), or
    None when it is not attracting, no level passes, or the system has more than
    :data:`MAX_STATES` states.

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> system = duffing()
    >>> P, c = checked_region(system, system.resolve_params(), np.array([1.0, 0.0]))
    >>> bool(c > 0), P.shape
    (True, (2, 2))
    """
    x_star = np.asarray(x_star, dtype=float)
    if len(x_star) > MAX_STATES:
        return None
    A = np.asarray(system.jac_dense(x_star, params), dtype=float)
    if not np.all(np.isfinite(A)) or np.linalg.eigvals(A).real.max() >= 0:
        return None
    P = solve_continuous_lyapunov(A.T, -np.eye(len(x_star)))
    P = 0.5 * (P + P.T)
    evals, evecs = np.linalg.eigh(P)
    if evals.min() <= 0:
        return None
    root_inv = evecs @ np.diag(evals**-0.5) @ evecs.T  # P^(-1/2): e = P^(-1/2) w, V = |w|^2
    scale = max(1.0, float(np.abs(x_star).max()))
    # radii in V^(1/2); the largest is the Euclidean `largest` along P's weakest direction
    radius = rule.largest * scale * np.sqrt(evals.min())
    floor = rule.smallest * scale * np.sqrt(evals.min())
    while radius >= floor:
        if _decays(system, params, x_star, P, root_inv, radius, rule, 1) and _decays(
            system, params, x_star, P, root_inv, radius, rule, 2
        ):
            return P, radius * radius
        radius *= rule.ladder
    return None


def stop_regions(system, params, points, rows, rule: RegionRule = RegionRule()) -> StopRegions:
    """The stop regions of the attracting points ``points (k, n)`` (catalogue ``rows``); points
    without one are left out."""
    centers, forms, levels, kept = [], [], [], []
    for x, row in zip(np.atleast_2d(points), rows, strict=True):
        found = checked_region(system, params, x, rule)
        if found is None:
            continue
        centers.append(x)
        forms.append(found[0])
        levels.append(found[1])
        kept.append(row)
    n = system.n
    if not kept:
        return StopRegions.empty(n)
    return StopRegions(
        np.asarray(centers, dtype=float).reshape(-1, n),
        np.asarray(forms, dtype=float).reshape(-1, n, n),
        np.asarray(levels, dtype=float),
        np.asarray(kept, dtype=np.int64),
    )
