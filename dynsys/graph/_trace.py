"""Trajectories that leave critical points along their unstable directions.

From each traced point: a real orthonormal basis of its unstable subspace, a deterministic set of
directions on the unit sphere of that subspace, start states ``x_s + delta v``, one batched flow
for all of them (stop on convergence), then a second batched flow that saves each trajectory on a
fine time grid, from which the arc length is measured and a bounded number of states (even in arc
length) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, qmc

from ..integrate import flow
from ._options import GraphOptions

__all__ = ["Traced", "sphere_directions", "start_states", "trace", "unstable_basis"]

_SAVED_VALUES_PER_BATCH = 20_000_000  # 160 MB of saved states per batched flow


def unstable_basis(
    eigenvalues: np.ndarray, eigenvectors: np.ndarray, threshold: float
) -> tuple[np.ndarray, float]:
    """A real orthonormal basis ``(n, k)`` of the unstable subspace, and the smallest unstable
    real part.

    ``eigenvalues (n,)`` and ``eigenvectors (n, n)`` (columns) may be complex: a complex pair
    contributes the real and imaginary parts of one of its vectors.
    """
    unstable = eigenvalues.real > threshold
    columns = []
    for lam, v in zip(eigenvalues[unstable], eigenvectors[:, unstable].T, strict=True):
        if abs(lam.imag) <= threshold:
            columns.append(v.real)
        elif lam.imag > 0:
            columns.extend([v.real, v.imag])
    if not columns:
        return np.zeros((eigenvectors.shape[0], 0)), np.inf
    q, r = np.linalg.qr(np.stack(columns, axis=-1))
    keep = np.abs(np.diag(r)) > 1e-12
    return q[:, keep], float(eigenvalues.real[unstable].min())


def sphere_directions(k: int, count: int) -> np.ndarray:
    """Deterministic unit vectors ``(m, k)`` on the sphere of a ``k``-dimensional subspace.

    ``k = 1``: ``+1, -1``. ``k = 2``: ``4 * ceil(count / 4)`` equal angles from 0 (the signed
    axes included exactly, so that a trajectory along an invariant eigendirection stays on it).
    ``k >= 3``: the ``2k`` signed axes, then points of an unscrambled Halton sequence mapped
    through the normal quantile and normalised, ``max(2k, count)`` in all.

    Examples
    --------
    >>> sphere_directions(1, 8).tolist()
    [[1.0], [-1.0]]
    >>> sphere_directions(2, 4).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    """
    if k == 1:
        return np.array([[1.0], [-1.0]])
    if k == 2:
        m = 4 * int(np.ceil(count / 4))
        angle = 2 * np.pi * np.arange(m) / m
        circle = np.stack([np.cos(angle), np.sin(angle)], axis=-1)
        return np.where(np.abs(circle) < 1e-12, 0.0, circle)  # the axes exactly
    axes = np.concatenate([np.eye(k), -np.eye(k)])
    extra = max(count - 2 * k, 0)
    if extra == 0:
        return axes
    u = qmc.Halton(d=k, scramble=False).random(extra + 1)[1:]  # skip the origin corner
    g = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    g /= np.linalg.norm(g, axis=-1, keepdims=True)
    return np.concatenate([axes, g])


def start_states(
    x: np.ndarray, basis: np.ndarray, lambda_u: float, options: GraphOptions, converge_tol: float
) -> tuple[np.ndarray, float]:
    """Start states ``(m, n)`` off the point ``x`` along its unstable sphere, and ``delta``."""
    scale = max(1.0, float(np.linalg.norm(x)))
    delta = max(options.eps * scale, 100.0 * converge_tol / lambda_u)
    delta = min(delta, options.max_offset * scale)
    directions = sphere_directions(basis.shape[1], options.sphere_directions) @ basis.T
    return x + delta * directions, delta


@dataclass
class Traced:
    """Trajectories of a batch: outcome, final state, and the kept path of each."""

    status: np.ndarray  # (m,) Status codes of the flow
    x_final: np.ndarray  # (m, n)
    speed_final: np.ndarray  # (m,) |f| at the final state
    t_final: np.ndarray  # (m,)
    paths: list[np.ndarray]  # m arrays (p_i, n)
    times: list[np.ndarray]  # m arrays (p_i,)
    arc_length: np.ndarray  # (m,)


def _keep_even_in_arc_length(path: np.ndarray, points: int) -> np.ndarray:
    """Indices of at most ``points`` states of a path, evenly spaced in arc length (ends kept)."""
    if len(path) <= points:
        return np.arange(len(path))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=-1))])
    if s[-1] == 0:
        return np.array([0, len(path) - 1])
    idx = np.searchsorted(s, np.linspace(0.0, s[-1], points))
    return np.unique(np.clip(np.concatenate([[0], idx, [len(path) - 1]]), 0, len(path) - 1))


def trace(
    system,
    starts: np.ndarray,
    params,
    options: GraphOptions,
    converge_tol: float,
    progress: bool = False,
) -> Traced:
    """Integrate all start states in one batch, then record their paths.

    The first batched flow gives each trajectory's end (convergence, escape, or a limit). The
    paths come from a second batched flow with saved states: trajectories are grouped by the
    power of two just above their final time, and each group is saved on
    ``path_resolution`` equal time steps up to that time (so every trajectory gets at least half
    of them). The arc length is measured on these states; ``path_points`` of them are kept,
    evenly in arc length, and the final state of the first flow closes the path.
    """
    m = len(starts)
    first = flow(
        system,
        starts,
        params=params,
        options=options.flow.replace(converge_tol=converge_tol),
        progress=progress,
    )
    status = first["status"].values.astype(np.int64)
    x_final = first["x_final"].values
    t_final = first["t_final"].values
    paths: list[np.ndarray] = [np.zeros((0, system.n))] * m
    times: list[np.ndarray] = [np.zeros(0)] * m
    arc = np.zeros(m)
    horizon = np.where(t_final > 0, 2.0 ** np.ceil(np.log2(np.maximum(t_final, 1e-300))), 0.0)
    horizon = np.minimum(horizon, options.flow.t_max)
    chunk = max(1, _SAVED_VALUES_PER_BATCH // (options.path_resolution * system.n))
    for T in np.unique(horizon):
        group = np.flatnonzero(horizon == T)
        if T <= 0:
            for i in group:
                paths[i], times[i] = starts[i][None], np.zeros(1)
            continue
        grid = np.linspace(0.0, T, options.path_resolution)
        for lo in range(0, len(group), chunk):
            members = group[lo : lo + chunk]
            saved = flow(
                system,
                starts[members],
                params=params,
                options=options.flow.replace(
                    converge_tol=converge_tol, t_max=float(T), save_times=tuple(grid.tolist())
                ),
            )
            for row, i in enumerate(members):
                paths[i], times[i], arc[i] = _path(
                    saved["x_saved"].values[row], grid, x_final[i], t_final[i], options
                )
    speed = first["speed_final"].values
    return Traced(status, x_final, speed, t_final, paths, times, arc)


def _path(x_saved, grid, x_final, t_final, options):
    """The saved states before ``t_final`` closed by the final state: kept states, their times,
    and the arc length of the whole saved path."""
    keep = np.isfinite(x_saved).all(axis=-1) & (grid < t_final)
    path, t = x_saved[keep], grid[keep]
    if np.isfinite(x_final).all():
        path = np.concatenate([path, x_final[None]])
        t = np.concatenate([t, [t_final]])
    arc = float(np.linalg.norm(np.diff(path, axis=0), axis=-1).sum()) if len(path) > 1 else 0.0
    idx = _keep_even_in_arc_length(path, options.path_points)
    return path[idx], t[idx], arc
