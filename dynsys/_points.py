"""Deduplication of points found from many seeds: clustering within a radius, representatives,
the running table of distinct points (optionally up to a symmetry), and a deterministic order."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = [
    "FoundPoints",
    "canonical_forms",
    "cluster",
    "dedup_radius",
    "near_any",
    "representatives",
    "sort_order",
]

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


def canonical_forms(symmetry, points: np.ndarray) -> np.ndarray:
    """``symmetry.canonical(points)`` (the points themselves without a symmetry), shape-checked."""
    if symmetry is None or len(points) == 0:
        return points
    out = np.asarray(symmetry.canonical(points), dtype=float)
    if out.shape != points.shape:
        raise ValueError(
            f"`symmetry.canonical` returned shape {out.shape} for states {points.shape}; it "
            "must map (m, n) to (m, n)."
        )
    return out


class FoundPoints:
    """Distinct points found so far: canonical state, the raw Newton end point (deflated later),
    residual, number of seeds, and the deflation round that found it."""

    _FIELDS = ("x", "raw", "residual", "n_seeds", "round")

    def __init__(self, n: int) -> None:
        self.x = np.zeros((0, n))
        self.raw = np.zeros((0, n))
        self.residual = np.zeros(0)
        self.n_seeds = np.zeros(0, dtype=np.int64)
        self.round = np.zeros(0, dtype=np.int64)

    def add(self, raw, residual, symmetry, radius: float, round_: int) -> int:
        """Cluster converged end points ``raw (m, n)`` with residuals ``(m,)``; keep those not
        already known. Returns the number of new points."""
        canon = canonical_forms(symmetry, raw)
        fresh = ~near_any(canon, self.x, radius)
        raw, canon, residual = raw[fresh], canon[fresh], residual[fresh]
        labels = cluster(canon, radius)
        reps, counts = representatives(labels, residual)
        self.x = np.concatenate([self.x, canon[reps]])
        self.raw = np.concatenate([self.raw, raw[reps]])
        self.residual = np.concatenate([self.residual, residual[reps]])
        self.n_seeds = np.concatenate([self.n_seeds, counts if round_ == 0 else 0 * counts])
        self.round = np.concatenate([self.round, np.full(len(reps), round_)])
        return len(reps)

    def keep(self, mask: np.ndarray) -> None:
        """Keep the points selected by a boolean mask or an index array (in that order)."""
        for name in self._FIELDS:
            setattr(self, name, getattr(self, name)[mask])
