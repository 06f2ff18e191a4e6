"""The trapping regions a system declares (:class:`dynsys.TrappingRegions`), matched with the
known points of a basin computation.

A region is used for an attracting point when the point is the only known point in it; a region
holding no known point is left out (the reason is recorded); a region holding a point that does
not attract, or two points, contradicts the model's proof and is an error. Before that, the
Lyapunov function is checked to decrease along orbits at sample states around the known points
(its gradient by :func:`dynsys._fd.fd_gradient`): a declaration it contradicts is an error, not a
silent wrong label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._fd import fd_gradient
from .._trapping import TrapGeometry
from ..errors import InvalidSystemError

__all__ = ["TrapMatch", "match_traps"]

N_SAMPLES = 4096
"""States at which ``dV/dt <= 0`` is checked."""


@dataclass(frozen=True)
class TrapMatch:
    """The regions kept (the declared geometry, and the rows of it kept), the catalogue row each
    belongs to, and notes on the regions left out."""

    geometry: TrapGeometry | None
    kept: np.ndarray
    rows: np.ndarray
    notes: tuple[str, ...]


def _sample_states(points: np.ndarray) -> np.ndarray:
    """The known points and uniform states in their bounding box, doubled about its centre (at
    least ``[-1, 1]`` wide in every state)."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, half = 0.5 * (lo + hi), np.maximum(hi - lo, 2.0)
    rng = np.random.default_rng(0)
    box = centre + half * rng.uniform(-1.0, 1.0, (N_SAMPLES, points.shape[1]))
    return np.concatenate([points, box])


def check_decrease(system, params, traps, points: np.ndarray) -> None:
    """Raise :class:`InvalidSystemError` where the declared ``V`` increases along orbits (at the
    sample states of :func:`_sample_states`).

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> s = duffing()
    >>> check_decrease(s, s.resolve_params(), s.trapping_regions, np.array([[1.0, 0.0]]))
    """
    V = traps.lyapunov_function()
    p = traps.values(params)
    x = _sample_states(points)
    f = np.asarray(system.f(x, params), dtype=float)
    grad = fd_gradient(lambda z: V(z, p), x)
    rate = np.einsum("mi,mi->m", grad, f)
    slack = 1e-6 * (1.0 + np.linalg.norm(grad, axis=1) * np.linalg.norm(f, axis=1))
    bad = np.flatnonzero(~(rate <= slack) & np.all(np.isfinite(f), axis=1))
    if bad.size:
        i = bad[np.argmax(rate[bad])]
        raise InvalidSystemError(
            f"{system.name!r} declares trapping regions whose Lyapunov function "
            f"({traps.lyapunov}) increases along orbits: dV/dt = {rate[i]:.3g} > 0 at "
            f"x = {x[i].tolist()} with parameters {dict(params)}. Fix the declaration, or pass "
            "BasinOptions(trapping_regions=False)."
        )


def match_traps(system, params, catalogue_x: np.ndarray, attracting: np.ndarray) -> TrapMatch:
    """Match the system's trapping regions at ``params`` with the known points
    ``catalogue_x (k, n)`` (``attracting (k,)``: which attract).

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> s = duffing()
    >>> x = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    >>> m = match_traps(s, s.resolve_params(), x, np.array([True, False, True]))
    >>> m.kept.tolist(), m.rows.tolist()
    ([0, 1], [2, 0])
    """
    traps = system.trapping_regions
    geometry = traps.geometry_at(params)
    if isinstance(geometry, str):
        none = np.zeros(0, dtype=np.int64)
        return TrapMatch(None, none, none, (geometry,))
    x = np.asarray(catalogue_x, dtype=float).reshape(-1, system.n)
    check_decrease(system, params, traps, x)
    value = traps.lyapunov_function()(x, traps.values(params))
    inside = (x @ geometry.normals.T > geometry.offsets) & (value[:, None] < geometry.levels)
    kept, rows, notes = [], [], []
    for k in range(len(geometry)):
        held = np.flatnonzero(inside[:, k])
        if held.size == 0:
            notes.append(f"region {k} holds no known point: not used")
            continue
        if held.size > 1 or not attracting[held[0]]:
            raise InvalidSystemError(
                f"{system.name!r} declares trapping region {k} (V < {geometry.levels[k]:g}, "
                f"normal {geometry.normals[k].tolist()} . x > {geometry.offsets[k]:g}) to hold "
                f"one attracting point, but it holds the known points {x[held].tolist()} "
                f"(attracting: {attracting[held].tolist()}). The declaration is wrong; pass "
                "BasinOptions(trapping_regions=False) to go without it."
            )
        kept.append(k)
        rows.append(int(held[0]))
    return TrapMatch(
        geometry, np.asarray(kept, dtype=np.int64), np.asarray(rows, dtype=np.int64), tuple(notes)
    )
