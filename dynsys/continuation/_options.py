"""Settings of pseudo-arclength continuation, checked on construction."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._newton import NewtonOptions
from .._options import Options, flag, integer, nested, number, subset

__all__ = ["SPECIAL_TYPES", "ContinuationOptions"]

SPECIAL_TYPES = ("LP", "BP", "H", "IC", "PD", "NS", "LPC")
"""Special points a branch can look for. Equilibria: fold (LP), branch point (BP), Hopf (H),
other index change (IC). Fixed points and cycles of maps: fold (LP), branch point (BP), period
doubling (PD), Neimark-Sacker (NS). Periodic orbits of flows: fold of cycles (LPC), period
doubling (PD), Neimark-Sacker (NS), branch point (BP). A problem ignores the types it has no
test function for."""

_MIN_STEP_TOL = 1e-15  # double precision cannot correct more tightly


@dataclass(frozen=True)
class ContinuationOptions(Options):
    """Settings of a pseudo-arclength continuation run.

    Parameters
    ----------
    ds : float
        First arclength step (positive; the direction is chosen separately).
    ds_min, ds_max : float
        Bounds on the adaptive step, ``ds_min <= ds <= ds_max`` and ``ds_max`` finite. A
        corrector that fails at ``ds_min`` ends the run (status ``step_underflow``).
    max_points : int
        Maximum number of points per direction (the start point included), at least 2.
    p_min, p_max : float
        Bounds on the continued parameter (``p_min < p_max``; +-inf for none); the last point of
        a run that crosses one lies on it (status ``param_bound``).
    x_max : float
        A run ends when a state component exceeds this in absolute value (``state_bound``).
    newton : NewtonOptions
        The corrector: it has converged when its step in the unknowns ``u = (x, p)`` is at most
        ``newton.step_tol * (1 + max|u|)`` (at least ``1e-15``), and it takes at most
        ``newton.max_iter`` iterations before the step is halved. Default
        ``NewtonOptions(step_tol=1e-10, max_iter=8)``; its other fields are not used here.
    detect : tuple of str
        Which special points to look for, any of "LP" (fold), "BP" (simple branch point), "H"
        (Hopf), "IC" (a change of the unstable index not explained by those), "PD" (period
        doubling), "NS" (Neimark-Sacker) and "LPC" (fold of cycles); each kind of branch
        looks for the types that apply to it.
    locate_tol : float
        Special points are located until the bracket in arclength is at most ``locate_tol``
        times the step that bracketed them (at least ``1e-16``).
    locate_max_iter : int
        Iterations allowed when locating one special point; when they run out its status is
        ``max_iter`` (the point is the best estimate found).
    n_eigen : int
        For a sparse Jacobian: how many eigenvalues of smallest modulus are monitored.
    zero_tol : float
        Relative zero threshold for eigenvalues (see
        :func:`dynsys.stability.classify_eigenvalues`).
    lyapunov : bool
        Compute the first Lyapunov coefficient at Hopf points (dense Jacobians).

    Raises
    ------
    dynsys.errors.OptionError
        If a value is out of range, or values contradict each other; the message names the
        option and shows the value.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions
    >>> ContinuationOptions(ds_max=0.5, p_max=30.0).ds
    0.01
    >>> ContinuationOptions(detect=("LP", "H")).newton.step_tol
    1e-10
    >>> ContinuationOptions(ds=1.0, ds_max=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: ContinuationOptions: `ds` must be between ... got 1.0.
    """

    ds: float = number(0.01, "first arclength step")
    ds_min: float = number(1e-8, "smallest arclength step")
    ds_max: float = number(0.1, "largest arclength step")
    max_points: int = integer(1000, "points per direction of each branch", at_least=2)
    p_min: float = number(-math.inf, "lower bound of the parameter", above=None, allow_inf=True)
    p_max: float = number(math.inf, "upper bound of the parameter", above=None, allow_inf=True)
    x_max: float = number(1e6, "stop where a state component exceeds this")
    newton: NewtonOptions = nested(
        NewtonOptions,
        "the corrector (uses step_tol and max_iter)",
        NewtonOptions(step_tol=1e-10, max_iter=8),
    )
    detect: tuple[str, ...] = subset(SPECIAL_TYPES, SPECIAL_TYPES, "special points looked for")
    locate_tol: float = number(
        1e-12, "relative arclength bracket at which a special point is located", at_least=1e-16
    )
    locate_max_iter: int = integer(60, "iterations to locate one special point")
    n_eigen: int = integer(6, "eigenvalues monitored for a sparse Jacobian")
    zero_tol: float = number(1e-8, "relative zero of eigenvalues")
    lyapunov: bool = flag(True, "first Lyapunov coefficient at Hopf points")

    def _check(self) -> None:
        if self.ds_min > self.ds_max:
            raise self._fail("ds_min", f"at most ds_max={self.ds_max!r}", self.ds_min)
        if not self.ds_min <= self.ds <= self.ds_max:
            raise self._fail(
                "ds", f"between ds_min={self.ds_min!r} and ds_max={self.ds_max!r}", self.ds
            )
        if not self.p_min < self.p_max:
            raise self._fail("p_min", f"below p_max={self.p_max!r}", self.p_min)
        if self.newton.step_tol < _MIN_STEP_TOL:
            raise self._fail(
                "newton.step_tol",
                f">= {_MIN_STEP_TOL:g} for the corrector (double precision cannot do better)",
                self.newton.step_tol,
            )
