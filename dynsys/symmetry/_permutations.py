"""Batched helpers for groups that permute state coordinates: tolerant lexicographic orders,
unit (row) matching by the Hungarian method, and a branch-and-bound search over column
permutations.

A group element is an index array ``g`` of shape ``(..., n)`` acting by ``(g.x)[k] = x[g[k]]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._points import relative_scale

__all__ = [
    "column_search",
    "hungarian",
    "scaled_tol",
    "tolerant_lex_order",
    "tolerant_ranks",
]


def scaled_tol(x: np.ndarray, tol: float) -> np.ndarray:
    """``tol * max(1, max |x|_inf)`` per state; shape ``(...)``."""
    return tol * relative_scale(x)


def tolerant_ranks(values: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Rank of each value's cluster along the last axis; values joined by gaps ``<= tol`` share a
    cluster. ``values (..., N)``, ``tol (...)``; returns integer ranks ``(..., N)``."""
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    gaps = np.diff(ordered, axis=-1) > np.asarray(tol)[..., None]
    ranks_sorted = np.concatenate(
        [np.zeros((*values.shape[:-1], 1), dtype=np.int64), np.cumsum(gaps, axis=-1)], axis=-1
    )
    ranks = np.empty_like(ranks_sorted)
    np.put_along_axis(ranks, order, ranks_sorted, axis=-1)
    return ranks


def _lex_order(keys: np.ndarray) -> np.ndarray:
    """Lexicographic order of the rows of ``keys (..., N, m)`` (column 0 most significant)."""
    order = np.broadcast_to(np.arange(keys.shape[-2]), keys.shape[:-1]).copy()
    for c in reversed(range(keys.shape[-1])):
        key = np.take_along_axis(keys[..., c], order, axis=-1)
        order = np.take_along_axis(order, np.argsort(key, axis=-1, kind="stable"), axis=-1)
    return order


def tolerant_lex_order(items: np.ndarray, tol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order of the rows of ``items (..., N, m)``: lexicographic in the tolerant cluster ranks of
    each column, ties broken by the exact values. Returns ``(order, ranks)``; ``ranks (..., N, m)``.
    """
    ranks = np.stack([tolerant_ranks(items[..., c], tol) for c in range(items.shape[-1])], axis=-1)
    keys = np.concatenate([ranks.astype(float), items], axis=-1)
    return _lex_order(keys), ranks


def hungarian(units: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best assignment of the units (rows) of ``units`` to those of ``reference``, per item.

    ``units, reference (..., K, m)`` (broadcast). Returns ``perm (..., K)`` with
    ``units[perm[i]]`` matched to ``reference[i]``, minimising the sum of squared Euclidean
    distances, and that minimal sum ``(...)``.
    """
    units, reference = np.broadcast_arrays(units, reference)
    batch, k = units.shape[:-2], units.shape[-2]
    cost = ((units[..., :, None, :] - reference[..., None, :, :]) ** 2).sum(-1)  # [x unit, ref]
    flat = cost.reshape(-1, k, k)
    perm = np.empty((flat.shape[0], k), dtype=np.int64)
    total = np.empty(flat.shape[0])
    for b, c in enumerate(flat):
        rows, cols = linear_sum_assignment(c)
        perm[b, cols] = rows
        total[b] = c[rows, cols].sum()
    return perm.reshape(*batch, k), total.reshape(batch)


def _assignment_cost(cost: np.ndarray) -> float:
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].sum())


def column_search(
    w: np.ndarray,
    extras: np.ndarray,
    w_ref: np.ndarray,
    extras_ref: np.ndarray,
    bound: float,
    *,
    prefix: tuple[int, ...] = (),
) -> Iterator[tuple[np.ndarray, float]]:
    """Column permutations ``tau`` with ``min_sigma |P_sigma [W[:, tau], A] - [W_ref, A_ref]|^2 <=
    bound``, found depth first (columns of ``w_ref`` in order; candidates cheapest first).

    ``w, w_ref (K, d)``; ``extras, extras_ref (K, e)`` are per-unit columns that rows carry but
    columns do not permute. Yields ``(tau, squared distance)`` with strictly decreasing distances:
    after each yield the bound drops below the distance found (take the first item for "any",
    exhaust the generator for "the closest"). ``prefix`` fixes ``tau[:len(prefix)]``. Pruning is
    exact: the optimal row assignment over a subset of the columns is a lower bound of the full
    one, and so is the sorted (1-D optimal) distance of two columns. Worst case ``d!`` leaves,
    each a ``K x K`` assignment problem.
    """
    d = w.shape[1]
    base = ((extras[:, None, :] - extras_ref[None, :, :]) ** 2).sum(-1)
    sorted_w, sorted_ref = np.sort(w, axis=0), np.sort(w_ref, axis=0)
    column_bound = ((sorted_w[:, :, None] - sorted_ref[:, None, :]) ** 2).sum(0)  # [x col, ref col]
    state = {"bound": float(bound)}
    tau = np.full(d, -1, dtype=np.int64)
    used = np.zeros(d, dtype=bool)

    def visit(level: int, cost: np.ndarray) -> Iterator[tuple[np.ndarray, float]]:
        if level == d:
            total = _assignment_cost(cost)
            if total <= state["bound"]:
                state["bound"] = total * (1.0 - 1e-12) - 1e-300  # only strictly better from now
                yield tau.copy(), total
            return
        if level < len(prefix):
            candidates = [prefix[level]]
        else:
            free = np.flatnonzero(~used)
            candidates = free[np.argsort(column_bound[free, level], kind="stable")].tolist()
        for c in candidates:
            if used[c] or column_bound[c, level] > state["bound"]:
                continue
            new_cost = cost + (w[:, c][:, None] - w_ref[None, :, level]) ** 2
            if _assignment_cost(new_cost) > state["bound"]:
                continue
            tau[level], used[c] = c, True
            yield from visit(level + 1, new_cost)
            tau[level], used[c] = -1, False

    return visit(0, base)
