"""The nodes of a critical-point graph while it is built: a pool of critical points grouped into
nodes.

Every critical point known (given, or refined from the end of a trajectory) is kept in a pool
with its classification. A node is a group of pool points:

- an isolated point (nullity 0) is one node; with a symmetry group, points in one group orbit
  (decided exactly by ``symmetry.match``) are one node, stored once (canonical form);
- points with nullity > 0 that lie on one connected manifold of critical points are one node.
  The rule is that of :func:`dynsys.fixedpoints.find_fixed_points`: two degenerate points are
  joined when the Newton projection of the segment between them onto the zero set of ``f`` is
  continuous (sampled and bisected), and groups are chains of joined pairs. It is re-run over all
  degenerate points whenever new ones arrive, so two manifold nodes found apart merge once points
  between them are known. Limits: a manifold sampled too sparsely for the segment test (long
  gaps across a curved manifold) stays split until more of its points are found; with a group,
  points are compared in canonical form, so a manifold cut by the boundary of the canonical
  region may first appear as several nodes. Merges are recorded in a union-find, so edges that
  point to merged nodes follow.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .._newton import dense_solver, newton_batch, sparse_solver
from .._status import Status
from ..fixedpoints import find_fixed_points
from ..stability import classify

__all__ = ["NodeTable", "scale_of"]


def scale_of(x: np.ndarray) -> np.ndarray:
    """``max(1, |x|_inf)`` per state."""
    return np.maximum(1.0, np.max(np.abs(x), axis=-1, initial=0.0))


class NodeTable:
    """Pool of critical points and their grouping into nodes (see the module docstring)."""

    def __init__(self, system, params: dict, options, symmetry=None) -> None:
        self.system, self.p, self.options, self.symmetry = system, params, options, symmetry
        n = system.n
        self.x = np.zeros((0, n))
        self.node = np.zeros(0, dtype=np.int64)
        self.eigenvalues = np.zeros((0, n), dtype=complex)
        self.index = np.zeros(0, dtype=np.int64)
        self.nullity = np.zeros(0, dtype=np.int64)
        self.kind = np.zeros(0, dtype=object)
        self.energy = np.zeros(0)
        self.residual = np.zeros(0)
        self.found_by = np.zeros(0, dtype=object)
        self.parent: list[int] = []
        self.traced: list[bool] = []
        if system.jacobian_is_sparse:
            self._solve = sparse_solver(lambda x: system.jac(x, self.p))
        else:
            self._solve = dense_solver(lambda x: system.jac(x, self.p))

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
        """Pool indices of the points of a node, in pool order (the first represents it)."""
        roots = np.array([self.root(int(k)) for k in self.node], dtype=np.int64)
        return np.flatnonzero(roots == self.root(node))

    # ------------------------------------------------------------------ matching
    def _radius(self, reference: np.ndarray, tol: float) -> np.ndarray:
        return tol * scale_of(reference)

    def nearest(self, e: np.ndarray, tol: float, candidates: np.ndarray | None = None) -> int:
        """Pool index of the point closest to ``e`` within ``tol`` (relative), up to the group;
        -1 if none."""
        idx = np.arange(len(self.x)) if candidates is None else candidates
        if idx.size == 0:
            return -1
        P = self.x[idx]
        radius = self._radius(P, tol)
        if self.symmetry is None:
            dist = np.linalg.norm(P - e, axis=-1)
        else:  # sorted coordinates: a lower bound of the distance over permutations
            bound = np.linalg.norm(np.sort(P, axis=-1) - np.sort(e), axis=-1)
            near = bound <= radius
            dist = np.full(len(P), np.inf)
            if near.any():
                matched, g = self.symmetry.match(
                    np.broadcast_to(e, P[near].shape), P[near], tol=tol
                )
                moved = self.symmetry.act(g, np.broadcast_to(e, P[near].shape))
                d = np.linalg.norm(moved - P[near], axis=-1)
                dist[near] = np.where(np.asarray(matched, dtype=bool), d, np.inf)
        ok = dist <= radius
        return int(idx[np.argmin(np.where(ok, dist, np.inf))]) if ok.any() else -1

    def match(self, ends: np.ndarray) -> np.ndarray:
        """Node id (root) of each end point within ``match_tol`` of a known point; -1 if none."""
        out = np.full(len(ends), -1, dtype=np.int64)
        for i, e in enumerate(ends):
            k = self.nearest(e, self.options.match_tol)
            if k >= 0:
                out[i] = self.root(int(self.node[k]))
        return out

    # ------------------------------------------------------------------ adding points
    def project(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Newton from states ``(m, n)``: the roots and whether each converged."""
        if len(x) == 0:
            return x.copy(), np.zeros(0, dtype=bool)
        run = newton_batch(lambda z: self.system.f(z, self.p), self._solve, x, self.options.newton)
        return run.x, run.status == Status.CONVERGED

    def add_points(self, X: np.ndarray, found_by: str) -> np.ndarray:
        """Add critical points ``(m, n)``; return the node id (root) of each."""
        X = np.asarray(X, dtype=float).reshape(-1, self.system.n)
        if len(X) == 0:
            return np.zeros(0, dtype=np.int64)
        if self.symmetry is not None:
            X = np.asarray(self.symmetry.canonical(X), dtype=float)
        ds = classify(self.system, X, params=self.p, zero_tol=self.options.zero_tol)
        eig = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
        nullity = ds["nullity"].values.astype(np.int64)
        pool_index = np.empty(len(X), dtype=np.int64)
        for i, xi in enumerate(X):
            k = self.nearest(xi, self.options.dedup_tol)
            if k >= 0:
                pool_index[i] = k
                continue
            pool_index[i] = len(self.x)
            self.x = np.concatenate([self.x, xi[None]])
            self.node = np.append(self.node, self._new_node() if nullity[i] == 0 else -1)
            self.eigenvalues = np.concatenate([self.eigenvalues, eig[i][None]])
            self.index = np.append(self.index, int(ds["index"].values[i]))
            self.nullity = np.append(self.nullity, nullity[i])
            self.kind = np.append(self.kind, np.array([str(ds["kind"].values[i])], dtype=object))
            energy = float(ds["energy"].values[i]) if "energy" in ds else np.nan
            self.energy = np.append(self.energy, energy)
            self.residual = np.append(
                self.residual, float(np.linalg.norm(self.system.f(xi, self.p)))
            )
            self.found_by = np.append(self.found_by, np.array([found_by], dtype=object))
        if np.any(self.node < 0):
            self._group_manifolds()
        return np.array([self.root(int(self.node[k])) for k in pool_index], dtype=np.int64)

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
        """(Re)group the degenerate pool points into manifold nodes, merging nodes as needed."""
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
