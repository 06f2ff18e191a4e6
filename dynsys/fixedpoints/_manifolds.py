"""Group degenerate equilibria (nullity > 0) that lie on one connected manifold of equilibria.

Newton started near a manifold of equilibria (a circle, a valley of a loss) stops at some point of
it, so many seeds give many distinct points of one manifold. Two such points ``a`` and ``b`` are
joined when the Newton projection of the segment between them onto the zero set is continuous:
sample the segment, project every sample by Newton, and refine (bisect) every interval whose two
projections are further apart than ``lipschitz`` times the length of the interval. A path along a
manifold refines to small gaps; a jump to another component of the zero set (an isolated point,
another manifold) stays a jump and the pair is not joined. Only near neighbours are tested: the
nearest few, and the nearest along each tangent direction of the manifold (the null vectors of
the Jacobian), which bridges gaps in the sampling. Groups are the connected components of the
graph of joined pairs, so a long curved manifold is joined through chains of close points.

:func:`merge_manifold_points` then collapses each group into one representative point, so that a
manifold counts once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import xarray as xr
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._newton import newton_batch
from .._status import Status

__all__ = ["label_manifolds", "manifold_labels", "merge_manifold_points"]

_REACH = 100  # neighbours searched for the nearest point along each tangent direction
_ALIGNED = 0.9  # |tangential part| / |displacement| for a neighbour to count as along

Project = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _candidate_pairs(points: np.ndarray, tangents: np.ndarray, neighbours: int) -> np.ndarray:
    """Pairs to test: each point with its nearest neighbours, and with its nearest neighbours
    *along the manifold* in each tangent direction (+ and - along each null vector).

    The second kind bridges the gaps between densely sampled stretches of a manifold, where the
    plain nearest neighbours all lie on one side (or on another manifold nearby).
    """
    m = len(points)
    k = min(_REACH + 1, m)
    _, nearest = cKDTree(points).query(points, k=k)
    nearest = nearest[:, 1:]  # (m, k - 1), sorted by distance
    rows = np.repeat(np.arange(m), nearest.shape[1]).reshape(m, -1)
    pairs = [np.stack([rows[:, :neighbours], nearest[:, :neighbours]], axis=-1).reshape(-1, 2)]
    disp = points[nearest] - points[:, None, :]  # (m, k - 1, n)
    along = np.einsum("mjn,mnt->mjt", disp, tangents)  # tangent coordinates
    aligned = np.linalg.norm(along, axis=-1) >= _ALIGNED * np.linalg.norm(disp, axis=-1)
    axis = np.argmax(np.abs(along), axis=-1)
    sign = np.take_along_axis(along, axis[..., None], axis=-1)[..., 0] < 0
    bucket = 2 * axis + sign
    for b in range(2 * tangents.shape[-1]):
        hit = aligned & (bucket == b)
        first = np.argmax(hit, axis=1)  # nearest aligned neighbour in this direction
        has = hit[np.arange(m), first]
        pairs.append(np.stack([np.flatnonzero(has), nearest[has, first[has]]], axis=-1))
    pairs = np.sort(np.concatenate(pairs), axis=-1)
    return np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)


def _joined(
    a: np.ndarray,
    b: np.ndarray,
    project: Project,
    *,
    samples: int,
    max_depth: int,
    lipschitz: float,
    radius: float,
) -> np.ndarray:
    """For each pair ``(a[i], b[i])``, whether the projected segment is continuous."""
    n_pairs = len(a)
    length = np.linalg.norm(b - a, axis=-1)
    t = np.linspace(0.0, 1.0, samples + 2)
    # every interval: owning pair, t0, t1, and the projections of both ends
    owner = np.repeat(np.arange(n_pairs), samples + 1)
    t0 = np.tile(t[:-1], n_pairs)
    t1 = np.tile(t[1:], n_pairs)
    inner = a[:, None, :] + t[None, 1:-1, None] * (b - a)[:, None, :]
    proj, ok = project(inner.reshape(-1, a.shape[1]))
    proj = proj.reshape(n_pairs, samples, -1)
    alive = ~np.any(~ok.reshape(n_pairs, samples), axis=-1)
    ends = np.concatenate([a[:, None], proj, b[:, None]], axis=1)
    p0 = ends[:, :-1].reshape(-1, a.shape[1])
    p1 = ends[:, 1:].reshape(-1, a.shape[1])
    for depth in range(max_depth + 1):
        keep = alive[owner]
        owner, t0, t1, p0, p1 = owner[keep], t0[keep], t1[keep], p0[keep], p1[keep]
        gap = np.linalg.norm(p1 - p0, axis=-1)
        wide = gap > lipschitz * (t1 - t0) * length[owner] + radius
        if not wide.any():
            break
        if depth == max_depth:
            alive[owner[wide]] = False
            break
        owner, t0, t1, p0, p1 = owner[wide], t0[wide], t1[wide], p0[wide], p1[wide]
        tm = 0.5 * (t0 + t1)
        pm, ok = project(a[owner] + tm[:, None] * (b - a)[owner])
        alive[owner[~ok]] = False
        owner = np.concatenate([owner, owner])
        t0, t1 = np.concatenate([t0, tm]), np.concatenate([tm, t1])
        p0, p1 = np.concatenate([p0, pm]), np.concatenate([pm, p1])
    return alive


def manifold_labels(
    points: np.ndarray,
    tangents: np.ndarray,
    degenerate: np.ndarray,
    project: Project,
    *,
    radius: float,
    neighbours: int = 6,
    samples: int = 8,
    max_depth: int = 6,
    lipschitz: float = 4.0,
) -> np.ndarray:
    """Label each degenerate point with its manifold (``0..k-1``, in order of first appearance);
    -1 for the other points.

    ``tangents`` ``(m, n, t)`` holds orthonormal null vectors of the Jacobian at each point (zero
    columns pad a smaller null space). ``project(x) -> (x_on_zero_set, converged)`` maps states
    ``(m, n)`` to the zero set of ``f``.
    """
    labels = np.full(len(points), -1, dtype=np.int64)
    idx = np.flatnonzero(degenerate)
    if idx.size == 0:
        return labels
    P = points[idx]
    pairs = (
        _candidate_pairs(P, tangents[idx], neighbours)
        if idx.size > 1
        else np.zeros((0, 2), dtype=int)
    )
    if len(pairs):
        joined = _joined(
            P[pairs[:, 0]],
            P[pairs[:, 1]],
            project,
            samples=samples,
            max_depth=max_depth,
            lipschitz=lipschitz,
            radius=radius,
        )
        pairs = pairs[joined]
    graph = sp.coo_matrix(
        (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(idx.size, idx.size)
    )
    component = connected_components(graph, directed=False)[1]
    _, first = np.unique(component, return_index=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    labels[idx] = rank[component]
    return labels


def _null_vectors(jacobians: np.ndarray, nullity: np.ndarray) -> np.ndarray:
    """Orthonormal bases ``(m, n, t)`` of the numerical null spaces (right singular vectors of the
    ``nullity`` smallest singular values), zero-padded to the largest nullity ``t``."""
    width = max(int(nullity.max(initial=0)), 1)
    out = np.zeros((*jacobians.shape[:2], width))
    if len(jacobians):
        vt = np.linalg.svd(jacobians)[2]  # rows: right singular vectors, singular values falling
        n = jacobians.shape[-1]
        for j in range(width):
            use = nullity > j
            out[use, :, j] = vt[use, n - 1 - j, :]
    return out


def label_manifolds(ds: xr.Dataset, system, p, residual, solve, options, radius) -> xr.Dataset:
    """Add ``manifold(point)`` and the attribute ``n_manifolds`` to a classified fixed-point
    Dataset; Newton (``residual``, ``solve``, ``options``) projects onto the equilibria."""

    def project(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        run = newton_batch(residual, solve, x, options)
        return run.x, run.status == Status.CONVERGED

    points, nullity = ds["x"].values, np.maximum(ds["nullity"].values, 0)
    degenerate = nullity > 0
    tangents = np.zeros((len(points), system.n, max(int(nullity.max(initial=0)), 1)))
    if degenerate.any():
        J = np.asarray(system.jac_dense(points[degenerate], p), dtype=float)
        tangents[degenerate] = _null_vectors(J, nullity[degenerate])
    labels = manifold_labels(points, tangents, degenerate, project, radius=max(radius, options.tol))
    ds["manifold"] = (
        "point",
        labels,
        {"long_name": "connected manifold of equilibria holding the point (-1: isolated)"},
    )
    ds.attrs["n_manifolds"] = int(labels.max(initial=-1) + 1)
    return ds


def merge_manifold_points(ds: xr.Dataset) -> xr.Dataset:
    """Collapse the points of each manifold (equal ``manifold >= 0``) into one representative.

    The representative is the member with the smallest residual; its ``n_seeds`` becomes the
    members' total and its ``deflation_round`` their smallest. New variables: ``n_merged(point)``,
    the number of found points it stands for (1 for isolated points), and
    ``manifold_extent(point)``, the largest distance from it to a merged point (0 for isolated
    points): how much of the manifold the seeds sampled. The order of the points is kept.
    """
    labels = ds["manifold"].values
    x, residual = ds["x"].values, ds["residual"].values
    keep = labels < 0
    n_merged = np.ones(len(labels), dtype=np.int64)
    extent = np.zeros(len(labels))
    n_seeds = ds["n_seeds"].values.copy()
    rounds = ds["deflation_round"].values.copy()
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        rep = members[np.argmin(residual[members])]
        keep[rep] = True
        n_merged[rep] = members.size
        extent[rep] = np.linalg.norm(x[members] - x[rep], axis=-1).max()
        n_seeds[rep] = n_seeds[members].sum()
        rounds[rep] = rounds[members].min()
    ds = ds.copy()
    ds["n_seeds"] = ds["n_seeds"].copy(data=n_seeds)
    ds["deflation_round"] = ds["deflation_round"].copy(data=rounds)
    ds["n_merged"] = (
        "point",
        n_merged,
        {"long_name": "number of found points of the manifold merged into the point"},
    )
    ds["manifold_extent"] = (
        "point",
        extent,
        {"long_name": "largest distance from the point to a merged point of its manifold"},
    )
    return ds.isel(point=np.flatnonzero(keep))
