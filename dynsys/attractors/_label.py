"""Label states (end points of orbits, or whole orbit tails) with the attractors of a table."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._status import Status
from .._validate import as_float_array
from ..errors import InputError, InputTypeError

__all__ = ["label_states"]

_CHUNK = 4_000_000  # floats of pairwise work held at once
_NEEDED = (
    "attractor_kind",
    "attractor_x",
    "attractor_samples",
    "cell_index",
    "cell_attractor",
    "cell_size",
    "grid_origin",
)


def _segment_distance(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each state ``(k, n)`` to the nearest of the segments ``a_i b_i``."""
    out = np.full(len(x), np.inf)
    d = b - a
    dd = np.maximum((d * d).sum(axis=1), np.finfo(float).tiny)
    step = max(1, _CHUNK // max(1, a.size))
    for lo in range(0, len(x), step):
        rel = x[lo : lo + step, None, :] - a[None]  # (c, s, n)
        t = np.clip((rel * d[None]).sum(axis=2) / dd[None], 0.0, 1.0)
        gap = rel - t[..., None] * d[None]
        out[lo : lo + step] = np.sqrt((gap * gap).sum(axis=2).min(axis=1))
    return out


def _point_distance(x: np.ndarray, points: np.ndarray) -> np.ndarray:
    out = np.full(len(x), np.inf)
    step = max(1, _CHUNK // max(1, points.size))
    for lo in range(0, len(x), step):
        gap = x[lo : lo + step, None, :] - points[None]
        out[lo : lo + step] = np.sqrt((gap * gap).sum(axis=2).min(axis=1))
    return out


def label_states(
    attractors: xr.Dataset, states, *, tol: float | None = None, tails: bool = False
) -> np.ndarray:
    """Label states with the attractors of a :func:`~dynsys.attractors.find_attractors` table.

    A state is on a point when within ``tol`` of it, on a cycle when within ``tol`` of the
    cycle up to phase (the polygon through its samples for a flow, its points for a map), on a
    recurrent set (chaotic, quasi-periodic, recurrent) when it lies in one of the set's cells.
    When several match, the nearest wins (cell members count as distance 0).

    Parameters
    ----------
    attractors : xarray.Dataset
        A result of :func:`~dynsys.attractors.find_attractors`.
    states : array_like, shape (..., n)
        End states; with ``tails`` the second-to-last axis runs along each orbit's tail,
        ``(..., T, n)``.
    tol : float, optional
        Distance (Euclidean) for points and cycles; default: the diagonal of one cell, the
        resolution of the search.
    tails : bool
        Label tails: a tail gets an attractor when every finite state of it gets that one.

    Returns
    -------
    numpy.ndarray of int64, shape ``states.shape[:-1]`` (``[:-2]`` for tails)
        The attractor row, or minus an outcome code: ``unmatched`` (near no attractor, or a
        tail whose states disagree), ``nonfinite`` (a state, or a whole tail, not finite).

    Raises
    ------
    InputTypeError
        If ``attractors`` is not a Dataset of find_attractors.
    InputError
        If ``states`` does not end in an axis of the system's size, or ``tol`` is not positive.

    Examples
    --------
    >>> from dynsys.models import logistic
    >>> from dynsys.attractors import AttractorOptions, find_attractors
    >>> table = find_attractors(logistic(r=2.5), [0.2], options=AttractorOptions(cell_size=0.01))
    >>> label_states(table, [[0.6], [0.6 + 1e-4], [0.1]]).tolist()  # fixed point 1 - 1/r
    [0, 0, -8]
    """
    if not isinstance(attractors, xr.Dataset) or any(v not in attractors for v in _NEEDED):
        raise InputTypeError(
            "`attractors` must be a result of dynsys.attractors.find_attractors (a Dataset "
            f"with {', '.join(_NEEDED)})."
        )
    size = attractors["cell_size"].values
    n = size.size
    x = as_float_array(states, "states")
    if x.ndim < (2 if tails else 1) or x.shape[-1] != n:
        shape = "(..., T, n)" if tails else "(..., n)"
        raise InputError(f"`states` has shape {x.shape}; expected {shape} with n = {n}.")
    tol = float(np.linalg.norm(size)) if tol is None else tol
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(f"`tol` must be a positive distance; got {tol!r}.")
    lead = x.shape[:-1]
    flat = x.reshape(-1, n)
    labels = _label_flat(attractors, flat, tol)
    labels = labels.reshape(lead)
    if not tails:
        return labels
    finite = labels != -int(Status.NONFINITE)
    big = np.iinfo(np.int64).max
    low = np.where(finite, labels, big).min(axis=-1)
    high = np.where(finite, labels, -big).max(axis=-1)
    same = (low == high) & (low >= 0)
    out = np.where(same, low, -int(Status.UNMATCHED))
    return np.where(finite.any(axis=-1), out, -int(Status.NONFINITE)).astype(np.int64)


def _label_flat(ds: xr.Dataset, x: np.ndarray, tol: float) -> np.ndarray:
    finite = np.isfinite(x).all(axis=1)
    best = np.full(len(x), np.inf)
    label = np.full(len(x), -int(Status.UNMATCHED), dtype=np.int64)
    label[~finite] = -int(Status.NONFINITE)
    rows = ds["attractor"].values
    kinds = ds["attractor_kind"].values
    is_map = ds.attrs.get("dynamics") == "map"
    size, origin = ds["cell_size"].values, ds["grid_origin"].values
    cells = np.ascontiguousarray(ds["cell_index"].values, dtype=np.int64)
    owner = ds["cell_attractor"].values
    xs = np.where(finite[:, None], x, 0.0)
    void = np.dtype((np.void, 8 * x.shape[1]))
    mine = np.ascontiguousarray(np.floor((xs - origin) / size).astype(np.int64)).view(void).ravel()
    known = cells.view(void).ravel()
    for j, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
        if row < 0:
            continue
        if kind == "point":
            dist = np.linalg.norm(xs - ds["attractor_x"].values[j], axis=1)
        elif kind == "cycle":
            pts = ds["attractor_samples"].values[j]
            pts = pts[np.isfinite(pts).all(axis=1)]
            dist = _point_distance(xs, pts) if is_map else _segment_distance(xs, pts[:-1], pts[1:])
        else:
            inside = np.isin(mine, known[owner == row])
            dist = np.where(inside, 0.0, np.inf)
        hit = finite & (dist <= tol) & (dist < best)
        label[hit], best[hit] = row, dist[hit]
    return label
