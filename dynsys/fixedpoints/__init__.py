"""Equilibria of ``x' = f(x; p)`` from many seeds at once: batched damped Newton, deduplication,
deflation, classification.

Newton runs on the whole batch of seeds together (one batched linear solve per iteration, an
Armijo backtracking line search per seed, finished seeds leave the batch). The converged end points
are clustered within a tolerance; each cluster is one fixed point. Deflation then looks for roots
the seeds missed. Seeds that fail are counted per status in the attributes, never raised.
"""

from ._find import (
    NewtonOptions,
    find_fixed_points,
)

__all__ = [
    "NewtonOptions",
    "find_fixed_points",
]
