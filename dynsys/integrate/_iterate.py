"""Batched iteration of a map ``x_{j+1} = g(x_j)`` with an outcome per orbit.

Every orbit of the batch runs until it settles on a fixed point (CONVERGED) or on a cycle of
period ``k <= max_period`` (PERIODIC), escapes (ESCAPED), turns non-finite (NONFINITE), or uses up
``max_steps`` (MAX_STEPS). Settled and stopped orbits leave the batch, so ``g`` is evaluated on the
running ones only.

The settling rule (see :class:`IterateOptions`): the relative ``k``-step distances
``d_k(j) = |x_j - x_(j-k)|_inf / (1 + |x_j|_inf)`` of the last ``k`` iterates, for ``k = 1..P``,
are kept. The smallest ``k`` with all of them at most ``2 tol`` makes the orbit a candidate; it
is accepted when the first-order distance of the last iterate from the cycle,
``e = M (M - I)^-1 (x_j - x_(j-k))`` with ``M = Dg(x_(j-1)) ... Dg(x_(j-k))`` (the chain rule),
is at most ``tol (1 + |x_j|_inf)``; a rejected candidate is checked again ``k`` iterations
later. The estimate, unlike a contraction ratio of successive distances, is not fooled by
rounding noise nor by slow convergence: an orbit creeping onto a fixed point with multiplier
``mu`` near -1 has small 2-step distances, but its 2-step estimate is its distance ``A`` from the
fixed point, and once ``A <= tol`` its 1-step distances are at most ``2 tol`` and it is found to
be a fixed point. Before the check a candidate ``k`` is reduced to its smallest divisor ``q``
whose ``q``-step distances over the last ``k`` iterates are at most ``4 tol``: cycle points that
close together cannot be told apart, so the reported period is the minimal period resolved at
the tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, status_variable
from .._status import Status
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError
from ..maps import require_map
from ._iterate_options import IterateOptions

__all__ = ["IterateOptions", "iterate"]

_MAX_SAVED_VALUES = 250_000_000  # 2 GB of float64


def iterate(
    map,
    x0,
    *,
    params: Mapping[str, float] | None = None,
    options: IterateOptions | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Iterate a map from a batch of states, each orbit with its own outcome.

    Parameters
    ----------
    map : Map
        The map ``x -> g(x; p)`` (:class:`dynsys.maps.Map`; gradient descent on a system is
        :func:`dynsys.maps.gradient_descent_map`).
    x0 : array_like, shape (..., n)
        Start states; leading axes are flattened into the ``orbit`` dimension (C order).
        Non-finite starts are reported as ``nonfinite`` without disturbing the others.
    params : mapping, optional
        Parameter values overriding the map's defaults.
    options : IterateOptions, optional
        Stopping rules; ``IterateOptions()`` when omitted.
    progress : bool
        Show a tqdm progress bar counting finished orbits.

    Returns
    -------
    xarray.Dataset
        Dims ``orbit``, ``state``, ``phase`` (``max_period`` long) and ``iteration`` when saving.
        Vars: ``x0``, ``x_final(orbit, state)`` (the last iterate); ``status(orbit)``
        (converged, periodic, escaped, nonfinite or max_steps); ``iterations(orbit)``;
        ``period(orbit)`` (the minimal period: 1 for a fixed point, ``k`` for a cycle, 0 when
        the orbit did not settle); ``x_cycle(orbit, phase, state)``, the settled cycle in the
        order of the map starting at ``x_final`` (NaN beyond its period and for orbits that did
        not settle); ``error_estimate(orbit)``, the first-order distance of ``x_final`` from its
        cycle relative to ``1 + |x_final|_inf`` (at most ``tol``; NaN if not settled); for a map
        with a potential (gradient descent) ``energy_final(orbit)``; with saves
        ``x_saved(orbit, iteration, state)`` (NaN after an orbit stopped) and
        ``energy_saved(orbit, iteration)``. Attributes: provenance,
        the options, ``n_calls`` (calls of ``g``), ``n_evaluations`` (states mapped) and
        ``n_jacobian_evaluations`` (Jacobians of ``g`` for the settling checks).

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``map`` is not a Map (a System: build its map with ``gradient_descent_map``), or
        ``options`` is not an IterateOptions.
    dynsys.errors.InputError
        If ``x0`` does not end in an axis of length n, or saving would need too much memory.

    Examples
    --------
    Gradient descent on the double well with step 1.05 does not converge: it settles on a
    2-cycle around the minimum at x = 1.

    >>> from dynsys import status_names
    >>> from dynsys.maps import gradient_descent_map
    >>> from dynsys.models import double_well
    >>> ds = iterate(gradient_descent_map(double_well(), step=1.05), [[1.2, 0.5], [0.5, 0.0]])
    >>> status_names(ds.status).tolist(), ds.period.values.tolist()
    (['periodic', 'periodic'], [2, 2])
    >>> sorted(ds.x_cycle.sel(state="x").values[0, :2].round(4).tolist())
    [0.8729, 1.0911]
    """
    map = require_map(map, "iterate()")
    options = IterateOptions() if options is None else options
    if not isinstance(options, IterateOptions):
        raise InputTypeError(f"`options` must be an IterateOptions; got {type(options).__name__}.")
    n = map.n
    x0 = as_state_batch(x0, n, name="x0", allow_nonfinite=True).reshape(-1, n)
    m = x0.shape[0]
    p = map.resolve_params(params)
    every = options.save_every
    n_saves = options.max_steps // every + 1 if every else 0
    if m * n_saves * n > _MAX_SAVED_VALUES:
        raise InputError(
            f"saving {n_saves} states of {m} orbits would take {m * n_saves * n * 8 / 1e9:.1f} "
            "GB; increase `save_every` or iterate fewer orbits at a time."
        )
    record = _Record(m, n, options.max_period, n_saves)
    bar = _progress_bar(m, map.name) if progress else None
    try:
        with np.errstate(all="ignore"):  # overflow and NaN become per-orbit status codes
            _run(
                lambda x: np.asarray(map.g(x, p), dtype=float),
                lambda x: map.jac_dense(x, p),
                x0,
                record,
                options,
                bar,
            )
    finally:
        if bar is not None:
            bar.close()
    return _dataset(map, p, x0, record, options)


class _Record:
    """Per-orbit results, filled as orbits finish."""

    def __init__(self, m: int, n: int, max_period: int, n_saves: int) -> None:
        self.x_final = np.full((m, n), np.nan)
        self.x_cycle = np.full((m, max_period, n), np.nan)
        self.status = np.full(m, Status.MAX_STEPS, dtype=np.int8)
        self.iterations = np.zeros(m, dtype=np.int64)
        self.period = np.zeros(m, dtype=np.int64)
        self.error = np.full(m, np.nan)
        self.x_saved = np.full((m, n_saves, n), np.nan) if n_saves else None
        self.n_calls = 0
        self.n_evaluations = 0
        self.n_jacobian_evaluations = 0


class _Active:
    """The running orbits: ids, states, the last ``P + 1`` states (a ring buffer indexed by
    iteration), for each ``k = 1..P`` the number of consecutive iterations whose relative
    ``k``-step distance was at most ``2 tol`` (``near``) and ``4 tol`` (``close``), and the
    iteration of each orbit's next settling check."""

    def __init__(self, x0: np.ndarray, max_period: int) -> None:
        m, n = x0.shape
        P = max_period
        self.ids = np.arange(m)
        self.x = x0.copy()
        self.states = np.full((m, P + 1, n), np.nan)
        self.states[:, 0] = x0
        self.near = np.zeros((m, P), dtype=np.int64)
        self.close = np.zeros((m, P), dtype=np.int64)
        self.next_check = np.zeros(m, dtype=np.int64)

    def keep(self, mask: np.ndarray) -> None:
        self.ids, self.x, self.states = self.ids[mask], self.x[mask], self.states[mask]
        self.near, self.close = self.near[mask], self.close[mask]
        self.next_check = self.next_check[mask]

    def update(self, j: int, tol: float) -> None:
        """Count the iterations in a row whose ``k``-step distances are small."""
        P = self.near.shape[1]
        lags = np.arange(1, min(j, P) + 1)
        back = self.states[:, (j - lags) % (P + 1)]  # (m, lags, n)
        scale = 1.0 + np.max(np.abs(self.x), axis=-1)
        dist = np.max(np.abs(self.x[:, None] - back), axis=-1) / scale[:, None]
        for counter, bound in ((self.near, 2.0 * tol), (self.close, 4.0 * tol)):
            part = counter[:, : lags.size]
            counter[:, : lags.size] = np.where(dist <= bound, part + 1, 0)


def _run(g, jac, x0: np.ndarray, record: _Record, options: IterateOptions, bar) -> None:
    # Invariants: `active` holds the orbits still running, with x = x_j, x_i at slot
    # i % (P + 1) of the ring buffer for i > j - P - 1, and the counters of small k-step
    # distances ending at iteration j. An orbit leaves the batch with its outcome the
    # iteration it stops; the others are not touched.
    P = options.max_period
    every = options.save_every
    active = _Active(x0, P)
    divides = _divisor_table(P)
    if record.x_saved is not None:
        record.x_saved[:, 0] = x0

    def finish(mask: np.ndarray, code: Status, j: int) -> None:
        ids = active.ids[mask]
        record.x_final[ids] = active.x[mask]
        record.status[ids] = code
        record.iterations[ids] = j
        if bar is not None:
            bar.update(int(mask.sum()))
        active.keep(~mask)

    finish(~np.isfinite(active.x).all(axis=-1), Status.NONFINITE, 0)
    for j in range(1, options.max_steps + 1):
        if active.ids.size == 0:
            return
        x = g(active.x)
        record.n_calls += 1
        record.n_evaluations += active.ids.size
        active.x = x
        active.states[:, j % (P + 1)] = x
        if record.x_saved is not None and j % every == 0:
            record.x_saved[active.ids, j // every] = x
        stopped = ~np.isfinite(x).all(axis=-1)
        if stopped.any():
            finish(stopped, Status.NONFINITE, j)
        far = np.linalg.norm(active.x, axis=-1) > options.escape_radius
        if far.any():
            finish(far, Status.ESCAPED, j)
        if active.ids.size == 0:
            return
        active.update(j, options.tol)
        period = _candidates(active, j, divides)
        if not period.any():
            continue
        error = _verify(jac, active, period, j, record)
        settled = (period > 0) & (error <= options.tol)
        retry = (period > 0) & ~settled
        active.next_check[retry] = j + period[retry]
        if settled.any():
            _record_cycles(record, active, settled, period, error, j)
            fixed = settled & (period == 1)
            finish(fixed, Status.CONVERGED, j)
            finish(settled[~fixed], Status.PERIODIC, j)
    finish(np.ones(active.ids.size, dtype=bool), Status.MAX_STEPS, options.max_steps)


def _divisor_table(P: int) -> np.ndarray:
    """``table[k - 1, q - 1]``: whether ``q`` divides ``k``, for ``1 <= q, k <= P``."""
    k = np.arange(1, P + 1)
    return (k[:, None] % k[None, :]) == 0


def _candidates(active: _Active, j: int, divides: np.ndarray) -> np.ndarray:
    """For each orbit due for a check, the smallest ``k`` whose last ``k`` relative ``k``-step
    distances are all at most ``2 tol``, reduced to its smallest divisor ``q`` whose ``q``-step
    distances over those iterates are at most ``4 tol`` (0: no candidate)."""
    P = divides.shape[0]
    periods = np.arange(1, P + 1)
    ok = (active.near >= periods) & (active.next_check <= j)[:, None]
    found = np.where(ok.any(axis=1), np.argmax(ok, axis=1) + 1, 0)
    rows = np.flatnonzero(found > 1)
    if rows.size:  # points closer than 4 tol cannot be told apart: reduce
        k = found[rows]
        same = divides[k - 1] & (active.close[rows] >= k[:, None])
        found[rows] = np.argmax(same, axis=1) + 1  # k itself always qualifies
    return found


def _verify(jac, active: _Active, period: np.ndarray, j: int, record: _Record) -> np.ndarray:
    """Relative first-order distance ``|M (M - I)^-1 (x_j - x_(j-k))|_inf / (1 + |x_j|_inf)`` of
    the last iterate from the period-``k`` cycle, for the candidates (inf elsewhere, and where
    ``M - I`` is singular or not finite)."""
    P = active.near.shape[1]
    n = active.x.shape[1]
    error = np.full(active.ids.size, np.inf)
    for k in np.unique(period[period > 0]):
        rows = np.flatnonzero(period == k)
        M = np.broadcast_to(np.eye(n), (rows.size, n, n)).copy()
        for i in range(k, 0, -1):  # M = Dg(x_(j-1)) ... Dg(x_(j-k))
            M = np.asarray(jac(active.states[rows, (j - i) % (P + 1)]), dtype=float) @ M
        record.n_jacobian_evaluations += int(k) * rows.size
        step = active.x[rows] - active.states[rows, (j - k) % (P + 1)]
        e = _first_order_error(M, step)
        scale = 1.0 + np.max(np.abs(active.x[rows]), axis=-1)
        error[rows] = np.max(np.abs(e), axis=-1) / scale
    return np.where(np.isfinite(error), error, np.inf)


def _first_order_error(M: np.ndarray, step: np.ndarray) -> np.ndarray:
    """``M (M - I)^-1 step`` for a batch; inf where ``M`` is not finite or ``M - I`` singular."""
    n = M.shape[-1]
    e = np.full(step.shape, np.inf)
    ok = np.all(np.isfinite(M), axis=(-2, -1)) & np.all(np.isfinite(step), axis=-1)
    A = M[ok] - np.eye(n)
    try:
        z = np.linalg.solve(A, step[ok][..., None])[..., 0]
        e[ok] = np.einsum("mij,mj->mi", M[ok], z)
    except np.linalg.LinAlgError:  # one singular matrix fails the batch: one at a time
        for r, i in enumerate(np.flatnonzero(ok)):
            try:
                e[i] = M[i] @ np.linalg.solve(A[r], step[i])
            except np.linalg.LinAlgError:
                continue
    return e


def _record_cycles(record: _Record, active: _Active, done, period, error, j: int) -> None:
    """Store the cycle (forward from the last iterate) and the error estimate of settled
    orbits."""
    P = active.near.shape[1]
    for k in np.unique(period[done]):
        rows = np.flatnonzero(done & (period == k))
        ids = active.ids[rows]
        record.period[ids] = k
        record.error[ids] = error[rows]
        record.x_cycle[ids, 0] = active.x[rows]
        for i in range(1, k):  # g^i(x_j) ~ x_(j - k + i)
            record.x_cycle[ids, i] = active.states[rows, (j - k + i) % (P + 1)]


def _progress_bar(total: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"iterate {name}", unit="orbit")


def _energy(map, p, x: np.ndarray) -> np.ndarray:
    """The potential at the finite rows of ``x`` (NaN elsewhere); any leading shape."""
    out = np.full(x.shape[:-1], np.nan)
    finite = np.isfinite(x).all(axis=-1)
    if finite.any():
        with np.errstate(all="ignore"):
            out[finite] = map.potential(x[finite], p)
    return out


def _dataset(map, p, x0, record: _Record, options: IterateOptions) -> xr.Dataset:
    os_ = ("orbit", "state")
    data: dict[str, Any] = {
        "x0": xr.Variable(os_, x0, {"long_name": "initial state"}),
        "x_final": xr.Variable(os_, record.x_final, {"long_name": "last iterate"}),
        "status": status_variable(record.status, "orbit"),
        "iterations": xr.Variable(
            "orbit", record.iterations, {"long_name": "iterations of the map"}
        ),
        "period": xr.Variable(
            "orbit",
            record.period,
            {"long_name": "minimal period of the settled cycle (1: fixed point, 0: not settled)"},
        ),
        "x_cycle": xr.Variable(
            ("orbit", "phase", "state"),
            record.x_cycle,
            {"long_name": "settled cycle from the last iterate on (NaN beyond the period)"},
        ),
        "error_estimate": xr.Variable(
            "orbit",
            record.error,
            {
                "long_name": "first-order distance of x_final from its cycle, relative to "
                "1 + |x_final|_inf (NaN if not settled)"
            },
        ),
    }
    if map.has_potential:
        data["energy_final"] = xr.Variable(
            "orbit", _energy(map, p, record.x_final), {"long_name": "potential at the last iterate"}
        )
    coords: dict[str, Any] = {
        "orbit": np.arange(x0.shape[0]),
        "state": list(map.state_names),
        "phase": np.arange(options.max_period),
    }
    if record.x_saved is not None:
        data["x_saved"] = xr.Variable(
            ("orbit", "iteration", "state"), record.x_saved, {"long_name": "saved iterate"}
        )
        if map.has_potential:
            data["energy_saved"] = xr.Variable(
                ("orbit", "iteration"),
                _energy(map, p, record.x_saved),
                {"long_name": "potential at the saved iterate"},
            )
        coords["iteration"] = np.arange(record.x_saved.shape[1]) * options.save_every
    settings = options.as_attrs()
    settings.update({f"param_{k}": float(v) for k, v in p.items()})
    attrs = provenance(
        map.with_params(**p),
        **settings,
        n_calls=record.n_calls,
        n_evaluations=record.n_evaluations,
        n_jacobian_evaluations=record.n_jacobian_evaluations,
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
