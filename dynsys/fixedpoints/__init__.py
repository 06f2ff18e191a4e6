"""Equilibria of ``x' = f(x; p)`` from many seeds at once: batched damped Newton, deduplication,
deflation, classification.

Newton runs on the whole batch of seeds together (one batched linear solve per iteration, an
Armijo backtracking line search per seed, finished seeds leave the batch). The converged end points
are clustered within a tolerance; each cluster is one fixed point. Deflation then looks for roots
the seeds missed. Seeds that fail are counted per status in the attributes, never raised.

:func:`find_cycles` does the same for maps: fixed points and cycles of period k, ``g^k(x) = x``,
with minimal periods, deduplication up to cyclic shift and multipliers.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._cycles import find_cycles
    from ._find import (
        NewtonOptions,
        find_fixed_points,
    )

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "find_cycles": "._cycles",
        "NewtonOptions": ".._newton",
        "find_fixed_points": "._find",
    },
)

__all__ = [
    "NewtonOptions",
    "find_cycles",
    "find_fixed_points",
]
