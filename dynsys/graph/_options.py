"""Options of :func:`dynsys.graph.critical_point_graph`, checked on construction."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..fixedpoints import NewtonOptions

__all__ = ["GraphOptions"]

_METHODS = ("dopri5", "dop853")


def _bad(name: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"GraphOptions: `{name}` must be {expected}; got {value!r}.")


def _positive(name: str, value: Any, *, allow_inf: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    v = float(value) if ok else np.nan
    if not ok or np.isnan(v) or v <= 0 or (np.isinf(v) and not allow_inf):
        expected = "a positive number" + (" (inf allowed)" if allow_inf else "")
        raise _bad(name, expected, value)
    return v


def _count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise _bad(name, f"an integer >= {minimum}", value)
    return int(value)


@dataclass(frozen=True)
class GraphOptions:
    """Settings of :func:`~dynsys.graph.critical_point_graph`.

    Parameters
    ----------
    eps : float
        Relative displacement off a saddle: a trajectory starts at ``x_s + delta v`` with ``v`` a
        unit vector of the unstable subspace and
        ``delta = clip(eps * max(1, |x_s|), 100 converge_tol / lambda_u, max_offset * max(1,
        |x_s|))``, ``lambda_u`` the smallest unstable eigenvalue (real part): the start lies where
        the linearisation holds, yet far enough out that ``|f| ~ lambda_u delta`` is well above
        the convergence threshold.
    max_offset : float
        Upper bound of ``delta`` relative to ``max(1, |x_s|)`` (for nearly degenerate saddles).
    t_max : float
        Longest integration time of one trajectory.
    rtol, atol : float
        Tolerances of the Runge-Kutta integration.
    converge_tol : float or None
        A trajectory has arrived when ``|f(x)|_2 <= converge_tol``. None (default): chosen per
        round as ``10 * Lambda * (atol + rtol * s)``, ``Lambda`` the largest eigenvalue modulus
        of the critical points known and ``s = max(1, max |x|_inf)`` over them. An explicit
        Runge-Kutta method near a stiff sink leaves ``|f|`` at a floor of about
        ``Lambda * rtol * |x|`` (the local error it allows, amplified by the stiff direction);
        a fixed threshold below that floor is never met.
    rescue_factor : float
        Trajectories that stop otherwise (time or step limit) with ``|f| <= rescue_factor *
        converge_tol`` are refined by Newton like converged ones (their edge keeps the status).
    escape_radius : float
        A trajectory has escaped when ``|x|_2 > escape_radius``.
    max_steps : int
        Most Runge-Kutta steps per trajectory.
    method : {"dopri5", "dop853"}
        Runge-Kutta pair of :func:`dynsys.integrate.flow`.
    match_tol : float
        An end point matches a known critical point within ``match_tol * max(1, |x|_inf)``
        (Euclidean, up to the group when one is given).
    refine_tol : float
        An unmatched end point is refined by Newton; the root is accepted when it lies within
        ``refine_tol * max(1, |x|_inf)`` of the end point (farther roots are not where the
        trajectory went: the edge is marked ``unmatched``).
    dedup_tol : float
        Refined points within ``dedup_tol * max(1, |x|_inf)`` of a known point are that point.
    zero_tol : float
        Relative zero threshold of eigenvalues (see :func:`dynsys.stability.classify`).
    sphere_directions : int
        Directions traced from a node of index ``k >= 2``: the ``2k`` signed eigenvectors,
        then (``k = 2``) equal angles on the unstable circle or (``k >= 3``) a Halton sequence
        mapped to the sphere, up to ``max(2k, sphere_directions)`` directions.
    trace_maxima : bool
        Also trace from nodes whose every direction is unstable (maxima, sources).
    max_rounds : int
        The graph completes itself in rounds: saddles found at the end of trajectories are
        traced in the next round, up to this many rounds.
    path_resolution : int
        Saved states per trajectory from which arc length is measured.
    path_points : int
        States kept per edge (subsampled evenly in arc length).
    newton : NewtonOptions
        Newton settings for refining end points.

    Raises
    ------
    ValueError
        Naming the option and the value given.

    Examples
    --------
    >>> GraphOptions(eps=1e-3).eps
    0.001
    >>> GraphOptions(path_points=1)
    Traceback (most recent call last):
    ...
    ValueError: GraphOptions: `path_points` must be an integer >= 2; got 1.
    """

    eps: float = 1e-4
    max_offset: float = 1e-2
    t_max: float = 1e4
    rtol: float = 1e-8
    atol: float = 1e-11
    converge_tol: float | None = None
    rescue_factor: float = 1e3
    escape_radius: float = 1e6
    max_steps: int = 50_000
    method: str = "dopri5"
    match_tol: float = 1e-5
    refine_tol: float = 1e-2
    dedup_tol: float = 1e-6
    zero_tol: float = 1e-8
    sphere_directions: int = 8
    trace_maxima: bool = True
    max_rounds: int = 20
    path_resolution: int = 1000
    path_points: int = 200
    newton: NewtonOptions = field(default_factory=NewtonOptions)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.converge_tol is not None:
            put("converge_tol", _positive("converge_tol", self.converge_tol))
        for name in ("eps", "max_offset", "rtol", "match_tol", "refine_tol", "rescue_factor"):
            put(name, _positive(name, getattr(self, name)))
        for name in ("dedup_tol", "zero_tol"):
            put(name, _positive(name, getattr(self, name)))
        put("atol", _positive("atol", self.atol))
        for name in ("t_max", "escape_radius"):
            put(name, _positive(name, getattr(self, name), allow_inf=True))
        if self.method not in _METHODS:
            raise _bad("method", f"one of {list(_METHODS)}", self.method)
        put("max_steps", _count("max_steps", self.max_steps, 1))
        put("sphere_directions", _count("sphere_directions", self.sphere_directions, 2))
        put("max_rounds", _count("max_rounds", self.max_rounds, 1))
        put("path_points", _count("path_points", self.path_points, 2))
        put("path_resolution", _count("path_resolution", self.path_resolution, 2))
        if not isinstance(self.trace_maxima, bool | np.bool_):
            raise _bad("trace_maxima", "True or False", self.trace_maxima)
        if not isinstance(self.newton, NewtonOptions):
            raise _bad("newton", "a NewtonOptions", self.newton)
        if self.eps > self.max_offset:
            raise _bad("eps", f"at most `max_offset` = {self.max_offset}", self.eps)

    def as_attrs(self) -> dict[str, Any]:
        """The options as graph (Dataset) attributes; Newton settings prefixed ``newton_``."""
        out = asdict(self)
        newton = out.pop("newton")
        out.update({f"newton_{k}": v for k, v in newton.items()})
        out["trace_maxima"] = int(self.trace_maxima)
        return out
