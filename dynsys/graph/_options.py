"""Options of :func:`dynsys.graph.critical_point_graph`, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

from .._newton import NewtonOptions
from .._options import Options, flag, integer, nested, number
from ..integrate import FlowOptions

__all__ = ["GraphOptions"]

_METHODS = ("dopri5", "dop853", "rosenbrock23")
_DEFAULT_FLOW = FlowOptions(t_max=1e4, rtol=1e-8, atol=1e-11, escape_radius=1e6, max_steps=50_000)


@dataclass(frozen=True)
class GraphOptions(Options):
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
    flow : FlowOptions
        How trajectories are integrated (method ``"dopri5"``, ``"dop853"`` or, for stiff
        systems, ``"rosenbrock23"``); by default
        ``t_max = 1e4``, ``rtol = 1e-8``, ``atol = 1e-11``, ``escape_radius = 1e6``,
        ``max_steps = 50000``. Its ``converge_tol`` is the ``|f|`` at which a trajectory has
        arrived; None (default) takes the arrival rule of :func:`dynsys._points.arrival_tolerance`
        per round, ``10 Lambda (atol + rtol s)`` over the critical points known; a smaller
        request is raised to that floor with a warning and recorded in ``converge_tol_note``.
    rescue_factor : float
        Trajectories that stop otherwise (time or step limit) with ``|f| <= rescue_factor *
        converge_tol`` are refined by Newton like converged ones (their edge keeps the status).
    match_tol : float
        An end point matches a known critical point within ``match_tol * max(1, |x|_inf)``
        (Euclidean, up to the group when one is given).
    refine_tol : float
        An unmatched end point is refined by Newton; the root is accepted when it lies within
        ``refine_tol * max(1, |x|_inf)`` of the end point (farther roots are not where the
        trajectory went: the edge's status is ``unverified``).
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
    dynsys.errors.OptionError
        Naming the option and the value given.

    Examples
    --------
    >>> GraphOptions(eps=1e-3).eps
    0.001
    >>> GraphOptions(path_points=1)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: GraphOptions: `path_points` must be an integer >= 2; got 1.
    """

    eps: float = number(1e-4, "relative offset of a start off a saddle")
    max_offset: float = number(1e-2, "largest relative offset")
    flow: FlowOptions = nested(FlowOptions, "how trajectories are integrated", _DEFAULT_FLOW)
    rescue_factor: float = number(
        1e3, "refine orbits stopped by a limit with |f| <= rescue_factor * converge_tol"
    )
    match_tol: float = number(1e-5, "an end point is a known point within this (relative)")
    refine_tol: float = number(1e-2, "Newton may move an end point this far (relative)")
    dedup_tol: float = number(1e-6, "refined points closer than this (relative) are one")
    zero_tol: float = number(1e-8, "relative zero of eigenvalues")
    sphere_directions: int = integer(8, "directions traced from nodes of index >= 2", at_least=2)
    trace_maxima: bool = flag(True, "trace from maxima and sources too")
    max_rounds: int = integer(20, "rounds of tracing newly found saddles")
    path_resolution: int = integer(
        1000, "saved states from which arc length is measured", at_least=2
    )
    path_points: int = integer(200, "states kept per edge", at_least=2)
    newton: NewtonOptions = nested(NewtonOptions, "Newton settings of the refinement")

    def _check(self) -> None:
        if self.flow.method not in _METHODS:
            raise self._fail("flow", f"a FlowOptions with method in {list(_METHODS)}", self.flow)
        if self.flow.save_times is not None:
            raise self._fail(
                "flow", "a FlowOptions without save_times (paths are saved here)", self.flow
            )
        if self.eps > self.max_offset:
            raise self._fail("eps", f"at most `max_offset` = {self.max_offset}", self.eps)
