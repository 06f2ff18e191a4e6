"""Array helpers shared by the model modules: stack components into vectors and matrices that
broadcast over any leading batch shape."""

from __future__ import annotations

import numpy as np

__all__ = ["matrix", "stack"]


def stack(*components) -> np.ndarray:
    """Components (broadcast against each other) as the last axis: ``(..., len(components))``."""
    return np.stack(np.broadcast_arrays(*components), axis=-1)


def matrix(rows) -> np.ndarray:
    """A batch of matrices ``(..., m, n)`` from a nested list of broadcastable entries."""
    flat = np.broadcast_arrays(*[entry for row in rows for entry in row])
    m, n = len(rows), len(rows[0])
    return np.stack(flat, axis=-1).reshape(*flat[0].shape, m, n)
