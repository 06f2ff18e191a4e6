"""Options of :func:`dynsys.integrate.iterate`, checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._options import Options, integer, number

__all__ = ["IterateOptions"]

_MIN_TOL = 1e3 * np.finfo(float).eps  # the settling test cannot resolve less than rounding


@dataclass(frozen=True)
class IterateOptions(Options):
    """Stopping rules of :func:`~dynsys.integrate.iterate` (batched iteration of a map).

    Parameters
    ----------
    max_steps : int
        Most iterations (applications of ``g``) per orbit; an orbit still running then ends
        with status ``max_steps``.
    tol : float
        An orbit has settled on a cycle of period ``k`` (a fixed point when ``k = 1``) when its
        last ``k`` relative ``k``-step distances ``|x_j - x_(j-k)|_inf / (1 + |x_j|_inf)`` are at
        most ``2 tol`` and the first-order distance of the last iterate from the cycle,
        ``|M (M - I)^-1 (x_j - x_(j-k))|_inf`` with ``M`` the Jacobian of ``g^k`` along the
        orbit (the chain rule), is at most ``tol (1 + |x_j|_inf)``. At least ``1e3`` machine
        epsilons.
    max_period : int
        Largest period looked for; 1 detects fixed points only.
    escape_radius : float
        An orbit whose Euclidean norm exceeds this has escaped (inf disables the test).
    save_every : int, optional
        Save every this many iterations, iteration 0 (the start) included.

    Raises
    ------
    dynsys.errors.OptionError
        Naming the option and the value given, if a value is out of range.

    Examples
    --------
    >>> IterateOptions(max_period=4).tol
    1e-10
    >>> IterateOptions(max_period=0)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: IterateOptions: `max_period` must be a positive integer; got 0.
    """

    max_steps: int = integer(10_000, "most iterations per orbit")
    tol: float = number(1e-10, "relative distance from the cycle at which an orbit has settled")
    max_period: int = integer(16, "largest period of a cycle looked for (1: fixed points only)")
    escape_radius: float = number(1e8, "stop an orbit when |x|_2 exceeds this", allow_inf=True)
    save_every: int | None = integer(
        None, "save every this many iterations (none: no saves)", allow_none=True
    )

    def _check(self) -> None:
        if self.tol < _MIN_TOL:
            raise self._fail("tol", f"at least {_MIN_TOL:.1e} (rounding dominates below)", self.tol)
