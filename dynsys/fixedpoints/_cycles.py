"""Fixed points and cycles of maps from many seeds at once: batched damped Newton on
``g^k(x) - x``, minimal periods, deduplication up to cyclic shift, multipliers and kinds.

Newton runs on the whole batch of seeds together; the Jacobian ``D(g^k) - I`` of the residual
comes from the chain rule along the orbit (``D(g^k)(x) = Dg(x_(k-1)) ... Dg(x_0)``). A seed that
converges is reduced to its minimal period: the smallest divisor ``q`` of ``k`` with
``g^q(x) = x`` within the deduplication tolerance (a period-1 point found when ``k = 2`` is a fixed
point). A cycle is one object whichever of its points a seed converged to: cycles are compared up
to cyclic shift. Their multipliers are the eigenvalues of ``D(g^q)`` at one of their points (the
same at every point: the products along the cycle are cyclic permutations of one another).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex, status_variable
from .._newton import NewtonOptions, dense_solver, newton_batch
from .._status import Status
from .._validate import as_float_array, as_state_batch, check_positive
from ..errors import InputError, InputTypeError
from ..maps import require_map
from ..stability import classify_multipliers, sort_multipliers

__all__ = ["find_cycles"]

_FAILURES = (Status.MAX_ITER, Status.SINGULAR_JACOBIAN, Status.NONFINITE)


def _check_period(period) -> int:
    if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
        raise InputError(
            f"`period` must be a positive integer (1: fixed points, k: cycles of period k, "
            f"whose divisors are found too); got {period!r}."
        )
    return int(period)


def _as_seeds(seeds, n: int) -> np.ndarray:
    arr = as_float_array(seeds, "seeds")
    if n == 1 and arr.ndim == 1:
        arr = arr[:, None]
    arr = as_state_batch(arr, n, name="seeds", allow_nonfinite=True).reshape(-1, n)
    if len(arr) == 0:
        raise InputError(f"`seeds` is empty; give at least one start state of shape ({n},).")
    return arr


def _scale(x: np.ndarray) -> np.ndarray:
    """``max(1, |x|_inf)`` over the last axis (or the last two)."""
    axes = tuple(range(1, x.ndim))
    return np.maximum(1.0, np.max(np.abs(x), axis=axes))


def _minimal_period(orbit: np.ndarray, k: int, tol: float) -> int:
    """The smallest divisor ``q`` of ``k`` with ``x_q = x_0`` (within ``tol`` relative)."""
    for q in range(1, k):
        if k % q == 0 and np.max(np.abs(orbit[q] - orbit[0])) <= tol * _scale(orbit[:1])[0]:
            return q
    return k


def _canonical(points: np.ndarray) -> np.ndarray:
    """The cycle rotated to start at its lexicographically smallest point."""
    first = np.lexsort(points.T[::-1])[0]
    return np.roll(points, -first, axis=0)


class _Catalogue:
    """Cycles found so far, each stored canonically; matching is up to cyclic shift."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.cycles: list[np.ndarray] = []
        self.residuals: list[float] = []
        self.n_seeds: list[int] = []

    def add(self, points: np.ndarray, residual: float) -> int:
        """The row of the cycle ``points`` (``(q, n)``), added when new."""
        q = points.shape[0]
        radius = self.tol * _scale(points[None])[0]
        for row, known in enumerate(self.cycles):
            if known.shape[0] != q:
                continue
            for shift in range(q):
                if np.max(np.abs(np.roll(points, -shift, axis=0) - known)) <= radius:
                    self.n_seeds[row] += 1
                    return row
        self.cycles.append(_canonical(points))
        self.residuals.append(residual)
        self.n_seeds.append(1)
        return len(self.cycles) - 1


def find_cycles(
    map,
    seeds,
    *,
    period: int = 1,
    params: Mapping[str, Any] | None = None,
    options: NewtonOptions = NewtonOptions(),  # frozen, so a shared default is safe
    dedup_tol: float = 1e-6,
    zero_tol: float = 1e-8,
) -> xr.Dataset:
    """Find fixed points and cycles of a map, ``g^k(x) = x``, by damped Newton from many seeds.

    Parameters
    ----------
    map : Map
        The map (:class:`dynsys.maps.Map`; gradient descent on a system is
        :func:`dynsys.maps.gradient_descent_map`). Its Jacobian (analytic or finite
        differences) gives the Jacobian of ``g^k`` by the chain rule.
    seeds : array_like
        Start states, shape ``(..., n)`` (flattened); for a one-state map a flat array is
        accepted. Non-finite seeds are reported per seed (``seed_status`` nonfinite).
    period : int
        The period ``k`` of the cycles looked for. Seeds may converge to cycles whose minimal
        period divides ``k`` (fixed points among them); they are reported with their minimal
        period.
    params : mapping, optional
        Parameter values overriding the map's defaults.
    options : NewtonOptions
        Tolerances and line search of Newton on ``g^k(x) - x``.
    dedup_tol : float
        Cycle points within ``dedup_tol * max(1, |x|_inf)`` of each other are the same point:
        two cycles are one when some cyclic shift of one lies that close to the other, and a
        seed's cycle has minimal period ``q`` when ``g^q(x)`` lies that close to ``x``.
    zero_tol : float
        Multipliers within ``zero_tol`` of the unit circle lie on it (see
        :func:`dynsys.stability.classify_multipliers`).

    Returns
    -------
    xarray.Dataset
        Dims ``cycle``, ``phase`` (``period`` long), ``state``, ``mode``, ``seed``. Per cycle:
        ``x(cycle, phase, state)``, the points in the order of the map from the
        lexicographically smallest (NaN beyond the cycle's period); ``period(cycle)`` (minimal);
        ``multiplier_real/imag(cycle, mode)``, the eigenvalues of ``D(g^period)`` sorted by
        modulus (descending); ``index(cycle)`` (multipliers outside the unit circle),
        ``nullity(cycle)`` (on it), ``kind(cycle)``, ``stable(cycle)`` (every ``|mu| < 1``);
        ``residual(cycle)`` (``|g^period(x) - x|_2`` at phase 0); ``n_seeds(cycle)``; for a
        map with a potential ``energy(cycle, phase)``. Per seed: ``seed_status(seed)`` (the
        Newton outcome: converged, max_iter, singular_jacobian, nonfinite) and
        ``seed_cycle(seed)`` (the row of its cycle, -1 when it failed). Cycles are ordered by
        period, then energy (descent maps), then coordinates. Attributes: provenance, the
        settings, the counts ``n_seeds``, ``n_converged``, ``n_failed`` and its parts,
        ``n_newton_iterations``, ``n_cycles``.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``map`` is not a Map (for a System, build the map of gradient descent with
        ``gradient_descent_map``), or ``options`` is not a NewtonOptions.
    dynsys.errors.InputError
        If ``period`` is not a positive integer, ``seeds`` has the wrong shape or is empty, or
        a tolerance is not positive.
    dynsys.errors.UnknownParameterError
        If ``params`` names a parameter the map does not have.

    Examples
    --------
    Gradient descent on the double well with step 1.05 has a stable 2-cycle around the minimum
    at x = 1, which has lost its stability (multiplier 1 - 2 * 1.05 = -1.1):

    >>> from dynsys.maps import gradient_descent_map
    >>> from dynsys.models import double_well
    >>> gd = gradient_descent_map(double_well(), step=1.05)
    >>> ds = find_cycles(gd, [[0.9, 0.1], [1.1, 0.0], [1.01, 0.0]], period=2)
    >>> ds["period"].values.tolist(), ds["kind"].values.tolist()
    ([1, 2], ['flip saddle-1', 'sink'])
    >>> ds["x"].sel(state="x").values[1].round(4).tolist()
    [0.8729, 1.0911]
    """
    map = require_map(map, "find_cycles()")
    if not isinstance(options, NewtonOptions):
        raise InputTypeError(f"`options` must be a NewtonOptions; got {type(options).__name__}.")
    k = _check_period(period)
    dedup_tol = check_positive(dedup_tol, "dedup_tol")
    zero_tol = check_positive(zero_tol, "zero_tol")
    n = map.n
    x0 = _as_seeds(seeds, n)
    p = map.resolve_params(params)
    eye = np.eye(n)

    def residual(x: np.ndarray) -> np.ndarray:
        return map.iterate(x, k, p) - x

    solve = dense_solver(lambda x: map.jac_iterate(x, k, p)[1] - eye)
    run = newton_batch(residual, solve, x0, options)
    converged = run.status == Status.CONVERGED
    catalogue = _Catalogue(dedup_tol)
    seed_cycle = np.full(len(x0), -1, dtype=np.int64)
    good = np.flatnonzero(converged)
    if good.size:
        orbits = map.jac_iterate(run.x[good], k, p)[0]  # (m, k, n)
        for i in np.argsort(run.residual[good], kind="stable"):
            q = _minimal_period(orbits[i], k, dedup_tol)
            seed_cycle[good[i]] = catalogue.add(orbits[i, :q], float(run.residual[good[i]]))
    ds = _dataset(map, p, catalogue, k, zero_tol, run, seed_cycle)
    counts = {f"n_{s.name.lower()}": int(np.count_nonzero(run.status == s)) for s in _FAILURES}
    ds.attrs.update(
        provenance(
            map.with_params(**p),
            period=k,
            tol=options.tol,
            step_tol=options.step_tol,
            max_iter=options.max_iter,
            dedup_tol=dedup_tol,
            zero_tol=zero_tol,
            n_seeds=len(x0),
            n_converged=int(converged.sum()),
            n_failed=int((~converged).sum()),
            **counts,
            n_newton_iterations=int(run.n_iter.sum()),
            n_cycles=ds.sizes["cycle"],
        )
    )
    return ds


def _cycle_data(map, p, cycles: list[np.ndarray], k: int):
    """Padded points ``(c, k, n)``, periods, multipliers ``(c, n)`` and residuals."""
    n = map.n
    c = len(cycles)
    X = np.full((c, k, n), np.nan)
    periods = np.array([len(x) for x in cycles], dtype=np.int64)
    mu = np.zeros((c, n), dtype=complex)
    residual = np.zeros(c)
    for q in np.unique(periods):
        rows = np.flatnonzero(periods == q)
        start = np.array([cycles[r][0] for r in rows])
        _, J = map.jac_iterate(start, int(q), p)
        if q == 1 and map.has_potential:  # Dg = I - eta Hess V is symmetric
            values = np.linalg.eigvalsh(0.5 * (J + np.swapaxes(J, -1, -2)))
        else:
            values = np.linalg.eigvals(J)
        mu[rows] = sort_multipliers(values)
        residual[rows] = np.linalg.norm(map.iterate(start, int(q), p) - start, axis=-1)
        for r in rows:
            X[r, :q] = cycles[r]
    return X, periods, mu, residual


def _order(X: np.ndarray, periods: np.ndarray, energy: np.ndarray | None) -> np.ndarray:
    keys = [X[:, 0, j] for j in range(X.shape[-1] - 1, -1, -1)]
    if energy is not None:
        keys.append(np.round(np.nanmin(energy, axis=1), 12))
    keys.append(periods)
    return np.lexsort(keys) if len(X) else np.zeros(0, dtype=int)


def _dataset(map, p, catalogue: _Catalogue, k: int, zero_tol: float, run, seed_cycle):
    n = map.n
    X, periods, mu, residual = _cycle_data(map, p, catalogue.cycles, k)
    energy = None
    if map.has_potential:
        energy = np.full(X.shape[:2], np.nan)
        finite = np.isfinite(X).all(axis=-1)
        if finite.any():
            energy[finite] = map.potential(X[finite], p)
    order = _order(X, periods, energy)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    found = seed_cycle >= 0
    seed_cycle = seed_cycle.copy()
    seed_cycle[found] = rank[seed_cycle[found]]
    X, periods, mu, residual = X[order], periods[order], mu[order], residual[order]
    index, nullity, kind = classify_multipliers(mu.reshape(-1, n), zero_tol=zero_tol)
    variables: dict[str, Any] = {
        "x": (("cycle", "phase", "state"), X, {"long_name": "points of the cycle, in map order"}),
        "period": ("cycle", periods, {"long_name": "minimal period"}),
        **split_complex(mu, ("cycle", "mode"), "multiplier", "multiplier (eigenvalue of Dg^k)"),
        "index": ("cycle", index, {"long_name": "number of multipliers outside the unit circle"}),
        "nullity": ("cycle", nullity, {"long_name": "number of multipliers on the unit circle"}),
        "kind": ("cycle", kind, {"long_name": "kind of cycle"}),
        "stable": (
            "cycle",
            (index == 0) & (nullity == 0),
            {"long_name": "asymptotically stable: every multiplier inside the unit circle"},
        ),
        "residual": ("cycle", residual, {"long_name": "|g^period(x) - x|_2 at phase 0"}),
        "n_seeds": (
            "cycle",
            np.array(catalogue.n_seeds, dtype=np.int64)[order],
            {"long_name": "number of seeds converged to the cycle"},
        ),
        "seed_status": status_variable(run.status, "seed"),
        "seed_cycle": (
            "seed",
            seed_cycle,
            {"long_name": "row of the cycle the seed converged to (-1: Newton failed)"},
        ),
    }
    if energy is not None:
        variables["energy"] = (
            ("cycle", "phase"),
            energy[order],
            {"long_name": "potential at the points of the cycle"},
        )
    coords = {
        "state": list(map.state_names),
        "phase": np.arange(k),
        "mode": np.arange(n),
        "seed": np.arange(len(seed_cycle)),
    }
    return xr.Dataset(variables, coords=coords)
