"""The nodes of a critical-point graph while it is built: the points of a
:class:`~dynsys._points.PointCatalogue` grouped into nodes.

An isolated point (nullity 0) is one node (with a group: one orbit, stored in canonical form).
Points with nullity > 0 on one connected manifold of critical points are one node, by the rule of
:func:`dynsys.fixedpoints.find_fixed_points` (``connect_manifolds=True``), re-run over all
degenerate points whenever new ones arrive; merges are kept in a union-find, so edges to merged
nodes follow. A manifold sampled too sparsely, or cut by the boundary of the canonical region,
may stay split until more of its points are known.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .._points import PointCatalogue, Refined
from ..fixedpoints import find_fixed_points

__all__ = ["NodeTable"]


class NodeTable:
    """The catalogue of known critical points and their grouping into nodes.

    Point arrays (``x``, ``kind``, ``index``, ...) are indexed by catalogue row; ``x`` is the
    canonical form (the point itself without a group), from which trajectories start.
    """

    def __init__(self, system, params: dict, options, symmetry=None) -> None:
        self.system, self.p, self.options = system, params, options
        self.catalogue = PointCatalogue(
            system,
            params,
            symmetry=symmetry,
            newton=options.newton,
            zero_tol=options.zero_tol,
            refine_tol=options.refine_tol,
        )
        self.symmetry = self.catalogue.symmetry
        self.node = np.zeros(0, dtype=np.int64)  # node id of each catalogue row
        self.parent: list[int] = []
        self.traced: list[bool] = []

    # ------------------------------------------------------------------ catalogue rows
    @property
    def x(self) -> np.ndarray:
        return self.catalogue.canonical

    @property
    def eigenvalues(self) -> np.ndarray:
        return self.catalogue.eigenvalues

    @property
    def index(self) -> np.ndarray:
        return self.catalogue.index

    @property
    def nullity(self) -> np.ndarray:
        return self.catalogue.nullity

    @property
    def kind(self) -> np.ndarray:
        return self.catalogue.kind

    @property
    def energy(self) -> np.ndarray:
        return self.catalogue.energy

    @property
    def residual(self) -> np.ndarray:
        return self.catalogue.residual

    @property
    def found_by(self) -> np.ndarray:
        return self.catalogue.origin

    # ------------------------------------------------------------------ nodes
    def root(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def _union(self, a: int, b: int) -> int:
        a, b = self.root(a), self.root(b)
        if a != b:
            low, high = min(a, b), max(a, b)
            self.parent[high] = low
            self.traced[low] = self.traced[low] or self.traced[high]
        return min(a, b)

    def _new_node(self) -> int:
        self.parent.append(len(self.parent))
        self.traced.append(False)
        return len(self.parent) - 1

    def roots(self) -> list[int]:
        """Node ids that are still roots, in order of creation."""
        return [k for k in range(len(self.parent)) if self.root(k) == k]

    def members(self, node: int) -> np.ndarray:
        """Catalogue rows of the points of a node, in row order (the first represents it)."""
        roots = np.array([self.root(int(k)) for k in self.node], dtype=np.int64)
        return np.flatnonzero(roots == self.root(node))

    # ------------------------------------------------------------------ matching and adding
    def match(self, ends: np.ndarray) -> np.ndarray:
        """Node id (root) of each end point within ``match_tol`` of a known point (up to the
        group); -1 if none."""
        rows, _ = self.catalogue.match(ends, tol=self.options.match_tol)
        return np.array(
            [self.root(int(self.node[r])) if r >= 0 else -1 for r in rows], dtype=np.int64
        )

    def refine(self, y: np.ndarray) -> Refined:
        """Newton from states ``(m, n)`` with the catalogue's acceptance rule."""
        return self.catalogue.refine(y)

    def add_points(self, X: np.ndarray, found_by: str, residual=None) -> np.ndarray:
        """Add critical points ``(m, n)`` (within ``dedup_tol`` of a known point: that point);
        return the node id (root) of each."""
        X = np.asarray(X, dtype=float).reshape(-1, self.system.n)
        if len(X) == 0:
            return np.zeros(0, dtype=np.int64)
        start = len(self.catalogue)
        rows = self.catalogue.add(X, found_by, tol=self.options.dedup_tol, residual=residual)
        new = np.arange(start, len(self.catalogue))
        nodes = [self._new_node() if self.nullity[r] == 0 else -1 for r in new]
        self.node = np.concatenate([self.node, np.asarray(nodes, dtype=np.int64)])
        if np.any(self.node[new] < 0):
            self._group_manifolds()
        return np.array([self.root(int(self.node[r])) for r in rows], dtype=np.int64)

    # ------------------------------------------------------------------ manifolds
    def manifold_labels(self, points: np.ndarray) -> np.ndarray:
        """Label each of the critical points ``(m, n)`` with its connected manifold of critical
        points (``0, 1, ...``; -1 for isolated points), by the rule of
        :func:`dynsys.fixedpoints.find_fixed_points` (Newton from the points themselves leaves
        them in place; each point takes the label of the nearest point of the result)."""
        if len(points) == 0:
            return np.zeros(0, dtype=np.int64)
        ds = find_fixed_points(
            self.system,
            points,
            params=self.p,
            options=self.options.newton,
            dedup_tol=0.5 * self.options.dedup_tol,
            zero_tol=self.options.zero_tol,
            connect_manifolds=True,
        )
        labels = ds["manifold"].values.astype(np.int64) if "manifold" in ds else None
        if labels is None or len(labels) == 0:
            return np.full(len(points), -1, dtype=np.int64)
        nearest = cKDTree(ds["x"].values).query(points, k=1)[1]
        return labels[nearest]

    def _group_manifolds(self) -> None:
        """(Re)group the degenerate points into manifold nodes, merging nodes as needed."""
        degenerate = np.flatnonzero(self.nullity > 0)
        labels = np.full(len(self.x), -1, dtype=np.int64)
        labels[degenerate] = self.manifold_labels(self.x[degenerate])
        singles = degenerate[labels[degenerate] < 0]  # degenerate here, isolated for Newton
        labels[singles] = labels.max(initial=-1) + 1 + np.arange(singles.size)
        for label in np.unique(labels[degenerate]):
            group = np.flatnonzero(labels == label)
            known = [int(self.node[k]) for k in group if self.node[k] >= 0]
            target = known[0] if known else self._new_node()
            for other in known[1:]:
                target = self._union(target, other)
            self.node[group[self.node[group] < 0]] = self.root(target)
