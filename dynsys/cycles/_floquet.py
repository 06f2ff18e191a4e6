"""Floquet multipliers of a cycle from the monodromy matrix of its collocation discretization.

The monodromy matrix is the product of the transition matrices of the mesh intervals: each is
the linearized collocation step over one interval (the interior unknowns eliminated), so the
multipliers are those of the discretized variational equation, as accurate as the cycle itself
(``h^(2 ncol)``) at no integration cost. The trivial multiplier (eigenvector ``f(x(0))``) is the
one nearest to 1; its distance from 1 measures the accuracy of all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Floquet", "floquet_from_monodromy"]


@dataclass(frozen=True)
class Floquet:
    """The Floquet multipliers of one cycle.

    Attributes
    ----------
    trivial : complex
        The multiplier that belongs to the direction of the flow (1 in exact arithmetic).
    nontrivial : numpy.ndarray of complex, shape (n - 1,)
        The others, sorted by modulus, largest first.
    error : float
        ``|trivial - 1|``: the accuracy to expect of every multiplier.
    """

    trivial: complex
    nontrivial: np.ndarray
    error: float

    @property
    def stable(self) -> bool:
        """All nontrivial multipliers strictly inside the unit circle (the cycle attracts)."""
        return bool(np.all(np.abs(self.nontrivial) < 1.0))

    @property
    def unstable_count(self) -> int:
        """Number of nontrivial multipliers outside the unit circle."""
        return int(np.count_nonzero(np.abs(self.nontrivial) > 1.0))


def floquet_from_monodromy(M: np.ndarray) -> Floquet:
    """Split the eigenvalues of the monodromy matrix ``M`` into the trivial one and the rest.

    Examples
    --------
    >>> import numpy as np
    >>> f = floquet_from_monodromy(np.diag([0.5, 1.0, -2.0]))
    >>> f.trivial, f.nontrivial.real.tolist(), f.stable
    ((1+0j), [-2.0, 0.5], False)
    """
    M = np.asarray(M, dtype=float)
    if not np.all(np.isfinite(M)):
        n = M.shape[0]
        return Floquet(complex(np.nan), np.full(n - 1, np.nan + 0j), float("nan"))
    mu = np.linalg.eigvals(M).astype(complex)
    k = int(np.argmin(np.abs(mu - 1.0)))
    rest = np.delete(mu, k)
    rest = rest[np.lexsort((-rest.imag, -np.abs(rest)))]
    return Floquet(complex(mu[k]), rest, float(abs(mu[k] - 1.0)))
