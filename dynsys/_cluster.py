"""Deduplication of points found from many seeds: clustering within a radius, representatives,
and a deterministic order."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = ["cluster", "dedup_radius", "near_any", "representatives", "sort_order"]

_ORDER_RESOLUTION = 1e-9  # values closer than this (relative) tie in the ordering


def dedup_radius(points: np.ndarray, dedup_tol: float) -> float:
    """``dedup_tol`` scaled by the size of the points: ``dedup_tol * max(1, max |x|_inf)``."""
    scale = float(np.max(np.abs(points), initial=0.0)) if points.size else 0.0
    return dedup_tol * max(1.0, scale)


def cluster(points: np.ndarray, radius: float) -> np.ndarray:
    """Labels ``0..k-1`` of the connected groups of points whose distances are ``<= radius``.

    Single linkage: two points share a label when a chain of points, each within ``radius`` of
    the next, joins them.
    """
    m = len(points)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    graph = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m))
    return connected_components(graph, directed=False)[1]


def representatives(labels: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each label, the index of its member with the smallest residual, and the member count."""
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((residual, labels))
    first = np.ones(order.size, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    return order[first], np.bincount(labels)


def near_any(points: np.ndarray, known: np.ndarray, radius: float) -> np.ndarray:
    """Whether each point lies within ``radius`` of one of the ``known`` points."""
    if len(points) == 0 or len(known) == 0:
        return np.zeros(len(points), dtype=bool)
    distance = cKDTree(known).query(points, k=1)[0]
    return distance <= radius


def _quantize(values: np.ndarray) -> np.ndarray:
    scale = max(1.0, float(np.max(np.abs(values), initial=0.0)))
    return np.round(values / (_ORDER_RESOLUTION * scale))


def sort_order(points: np.ndarray, energy: np.ndarray | None = None) -> np.ndarray:
    """A deterministic order: by energy (when given), then by the coordinates in turn.

    Values are compared after rounding to ``1e-9`` relative, so that round-off does not swap
    points of equal energy (symmetric minima).
    """
    keys = [_quantize(points[:, j]) for j in reversed(range(points.shape[1]))]
    if energy is not None:
        keys.append(_quantize(energy))
    return np.lexsort(keys) if keys else np.arange(len(points))
