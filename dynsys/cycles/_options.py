"""Settings of the computation of periodic orbits, checked on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._options import Options, flag, integer, number

__all__ = ["CycleOptions"]

_MIN_TOL = 1e-15  # double precision cannot correct more tightly
_MAX_NCOL = 7


@dataclass(frozen=True)
class CycleOptions(Options):
    """Discretization, mesh adaptation and Newton settings of periodic orbits.

    Parameters
    ----------
    ntst : int
        Number of mesh intervals over one period (at least 3).
    ncol : int
        Gauss collocation points per interval: the profile is a continuous piecewise polynomial
        of this degree (2 to 7). The period and the profile at the mesh points converge like
        ``h^(2 ncol)``, the profile between them like ``h^(ncol + 1)``.
    adapt_passes : int
        :func:`~dynsys.cycles.find_periodic_orbit`: after Newton has converged on the uniform
        mesh, this many times move the mesh to equidistribute the error estimate and solve again
        (0: keep the uniform mesh).
    adapt_every : int
        Continuation: adapt the mesh every this many steps along a branch (0: never).
    tol : float
        Newton has converged when its full step in the unknowns ``(X, T)`` is at most
        ``tol * (1 + max|(X, T)|)``.
    max_iter : int
        Newton iterations allowed per solve (each with a backtracking line search).
    period_max : float
        Largest period accepted (inf allowed). A cycle found with a longer period has status
        ``period_bound``; a continued branch stops there with ``period_bound`` (the approach to
        a homoclinic orbit).
    min_amplitude : float
        A profile whose largest deviation from its mean is at most ``min_amplitude * (1 +
        |mean|)`` has collapsed onto an equilibrium: it is rejected, not reported as a cycle.
    integrate_rtol : float
        Relative tolerance (``atol`` is 1e-3 of it) of the integration over one period that
        builds the first profile from a guess.
    error_estimate : bool
        :func:`~dynsys.cycles.find_periodic_orbit`: solve once more on the mesh of every other
        mesh point and estimate the error of the period from the change (Richardson, order
        ``2 ncol``; it needs an even ``ntst``, else the estimate is NaN and says why).

    Raises
    ------
    dynsys.errors.OptionError
        If a value is out of range; the message names the option and shows the value.

    Examples
    --------
    >>> CycleOptions(ntst=60).ncol
    4
    >>> CycleOptions(ncol=9)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: CycleOptions: `ncol` must be at most 7 (AUTO's range 2..7); got 9.
    """

    ntst: int = integer(40, "mesh intervals per period", at_least=3)
    ncol: int = integer(4, "collocation points per interval (polynomial degree)", at_least=2)
    adapt_passes: int = integer(3, "mesh adaptations when a cycle is found", at_least=0)
    adapt_every: int = integer(3, "continuation steps between mesh adaptations", at_least=0)
    tol: float = number(1e-10, "relative Newton step at convergence")
    max_iter: int = integer(40, "Newton iterations per solve")
    period_max: float = number(math.inf, "largest period accepted", allow_inf=True)
    min_amplitude: float = number(1e-6, "relative size below which a profile is an equilibrium")
    integrate_rtol: float = number(1e-10, "relative tolerance of the first integration")
    error_estimate: bool = flag(True, "estimate the period error on a coarser mesh")

    def _check(self) -> None:
        if self.ncol > _MAX_NCOL:
            raise self._fail("ncol", f"at most {_MAX_NCOL} (AUTO's range 2..7)", self.ncol)
        if self.tol < _MIN_TOL:
            raise self._fail(
                "tol", f">= {_MIN_TOL:g} (double precision cannot do better)", self.tol
            )
