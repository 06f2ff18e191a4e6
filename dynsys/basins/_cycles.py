"""Where orbits of a map end: the fixed points and cycles known to a basin computation.

An orbit of a map (iterated by :func:`dynsys.integrate.iterate`) that settles does so on a fixed
point (``converged``, period 1) or a cycle (``periodic``, its minimal period). It gets an
attractor only through a verified cycle: its end state lies within ``match_tol`` of a point of a
known cycle (so cycles are matched whatever their phase), or Newton on ``g^q(x) - x`` from it
(:func:`dynsys.fixedpoints.find_cycles`, one run per group of nearby end states) converges to a
root within ``refine_tol`` of it. The cycle attracts when every multiplier lies inside the unit
circle (``|mu| < 1 - zero_tol``); an orbit at a cycle that does not ends ``not_attracting``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from .._points import group_points, relative_scale
from .._status import Status
from ..errors import InputError
from ..fixedpoints import find_cycles
from ..stability import classify_multipliers
from ._options import BasinOptions

__all__ = ["MapCycles"]


def _states(values, n: int, what: str) -> np.ndarray:
    if isinstance(values, xr.Dataset):
        if "x" not in values or values["x"].dims != ("point", "state"):
            raise InputError(
                f"`{what}` is a Dataset without `x(point, state)`; pass fixed points of the map "
                "(states (m, n), or a Dataset with x(point, state))."
            )
        x = np.asarray(values["x"].values, dtype=float)
    else:
        x = np.asarray(values, dtype=float)
        if x.ndim == 1:
            x = x[None, :] if x.size == n else x[:, None]
    if x.ndim != 2 or x.shape[1] != n or not np.all(np.isfinite(x)):
        raise InputError(f"`{what}` must be finite states of shape (m, {n}); got {x.shape}.")
    return x


class MapCycles:
    """The fixed points and cycles known to one basin computation of a map, each stored as its
    points in the order of the map (a fixed point is a cycle of period 1)."""

    symmetry = None

    def __init__(self, system, params: Mapping[str, Any], options: BasinOptions) -> None:
        self.system = system
        self.params = dict(params)
        self.options = options
        self.points: list[np.ndarray] = []
        self.period = np.zeros(0, dtype=np.int64)
        self.multipliers = np.zeros((0, system.n), dtype=complex)
        self.index = np.zeros(0, dtype=np.int64)
        self.nullity = np.zeros(0, dtype=np.int64)
        self.kind = np.zeros(0, dtype=object)
        self.residual = np.zeros(0)
        self.origin = np.zeros(0, dtype=object)
        self._tree: cKDTree | None = None
        self._owner = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.points)

    def attracting(self) -> np.ndarray:
        """Which known cycles attract: every multiplier inside the unit circle."""
        return (self.index == 0) & (self.nullity == 0)

    def attractor_ids(self) -> np.ndarray:
        """For each known cycle, its row in the attractor table (-1 for those that do not
        attract): the fixed points first, then the cycles, each in the order they became
        known."""
        attracting = self.attracting()
        order = np.lexsort((np.arange(len(self)), self.period > 1))
        order = order[attracting[order]]
        ids = np.full(len(self), -1, dtype=np.int64)
        ids[order] = np.arange(order.size)
        return ids

    # ------------------------------------------------------------------ matching and adding
    def match(self, y: np.ndarray, tol: float) -> np.ndarray:
        """The known cycle with a point within ``tol * max(1, |point|_inf)`` of each state of
        ``y (k, n)`` (-1 for none): a cycle is matched whatever its phase."""
        row = np.full(len(y), -1, dtype=np.int64)
        if self._tree is None or len(y) == 0:
            return row
        dist, nearest = self._tree.query(y, k=1)
        points = self._tree.data[nearest]
        close = dist <= tol * relative_scale(points)
        row[close] = self._owner[nearest[close]]
        return row

    def _add(self, points: np.ndarray, residual: float, origin: str) -> int:
        rows = self.match(points, self.options.match_tol)
        same = rows[(rows >= 0)]
        for r in np.unique(same):
            if self.period[r] == len(points):
                return int(r)
        q = len(points)
        _, M = self.system.jac_iterate(points[0], q, self.params)
        mu = np.linalg.eigvals(M)
        mu = mu[np.lexsort((-mu.imag, -mu.real, -np.abs(mu)))]
        index, nullity, kind = classify_multipliers(mu[None], zero_tol=self.options.zero_tol)
        self.points.append(points)
        self.period = np.append(self.period, q)
        self.multipliers = np.concatenate([self.multipliers, mu[None]])
        self.index = np.append(self.index, int(index[0]))
        self.nullity = np.append(self.nullity, int(nullity[0]))
        self.kind = np.append(self.kind, np.array([str(kind[0])], dtype=object))
        self.residual = np.append(self.residual, residual)
        self.origin = np.append(self.origin, np.array([origin], dtype=object))
        every = np.concatenate(self.points)
        self._owner = np.repeat(np.arange(len(self.points)), [len(p) for p in self.points])
        self._tree = cKDTree(every)
        return len(self.points) - 1

    def verify(self, seeds: np.ndarray, periods: np.ndarray, origin: str):
        """Newton on ``g^q(x) - x`` from each seed with its period ``q``
        (:func:`dynsys.fixedpoints.find_cycles`); the cycle found is added (or found among the
        known ones) when it passes within ``refine_tol * max(1, |seed|_inf)`` of the seed.

        Returns ``(row (k,), outcome (k,))``: -1 and Newton's outcome (or ``unverified``) where
        no cycle was verified.
        """
        k = len(seeds)
        row = np.full(k, -1, dtype=np.int64)
        outcome = np.full(k, int(Status.CONVERGED), dtype=np.int8)
        for q in np.unique(periods):
            sel = np.flatnonzero(periods == q)
            found = find_cycles(
                self.system,
                seeds[sel],
                period=int(q),
                params=self.params,
                options=self.options.newton,
                dedup_tol=self.options.match_tol,
                zero_tol=self.options.zero_tol,
            )
            status = found["seed_status"].values
            cycle = found["seed_cycle"].values
            X, minimal = found["x"].values, found["period"].values
            residual = found["residual"].values
            for j, i in enumerate(sel):
                if status[j] != Status.CONVERGED or cycle[j] < 0:
                    outcome[i] = status[j] if status[j] != Status.CONVERGED else Status.UNVERIFIED
                    continue
                points = X[cycle[j], : minimal[cycle[j]]]
                gap = np.linalg.norm(points - seeds[i], axis=1).min()
                if gap > self.options.refine_tol * relative_scale(seeds[i]):
                    outcome[i] = Status.UNVERIFIED
                    continue
                start = int(np.argmin(np.linalg.norm(points - seeds[i], axis=1)))
                row[i] = self._add(np.roll(points, -start, axis=0), residual[cycle[j]], origin)
        return row, outcome

    def add_given(self, attractors, *, origin: str = "given", strict: bool = True) -> None:
        """Verify given fixed points of the map by Newton and add them (those that do not
        attract are known points, not attractors)."""
        x = _states(attractors, self.system.n, "attractors")
        row, _ = self.verify(x, np.ones(len(x), dtype=np.int64), origin)
        bad = np.flatnonzero(row < 0)
        if strict and bad.size:
            residual = np.linalg.norm(self.system.g(x[bad], self.params) - x[bad], axis=-1)
            raise InputError(
                f"`attractors` rows {bad[:10].tolist()} are not fixed points of the map: "
                f"|g(x) - x| = {np.array2string(residual[:10], precision=2)}, and Newton finds "
                f"none within refine_tol = {self.options.refine_tol:g} (relative). Give fixed "
                "points (e.g. from find_cycles with period=1)."
            )

    def add_reference(self, reference) -> None:
        """Add the reference states that are fixed points of the map (verified where they
        stand), with origin "reference"."""
        if reference is None:
            return
        ref = _states(reference, self.system.n, "reference")
        residual = np.linalg.norm(self.system.g(ref, self.params) - ref, axis=-1)
        on_point = residual <= self.options.newton.tol
        if on_point.any():
            self.verify(ref[on_point], np.ones(int(on_point.sum()), dtype=np.int64), "reference")

    def reference_rows(self, reference) -> np.ndarray:
        """Known cycles through a reference state."""
        if reference is None or len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        rows = self.match(_states(reference, self.system.n, "reference"), self.options.match_tol)
        return np.unique(rows[rows >= 0])

    # ------------------------------------------------------------------ labelling
    def label(self, x_final: np.ndarray, status: np.ndarray, period: np.ndarray):
        """Known cycle and outcome of orbits ending at ``x_final (k, n)`` with the outcomes
        ``status`` and minimal periods ``period`` of :func:`dynsys.integrate.iterate`.

        Returns ``(row (k,), status (k,) int8, None, known (k,) bool)`` as
        :meth:`dynsys.basins._labels.Attractors.label` (no group elements for maps).
        """
        options = self.options
        status = np.asarray(status, dtype=np.int8).copy()
        k = len(x_final)
        row = np.full(k, -1, dtype=np.int64)
        settled = np.flatnonzero((status == Status.CONVERGED) | (status == Status.PERIODIC))
        row[settled] = self.match(x_final[settled], options.match_tol)
        todo = settled[row[settled] < 0]
        if todo.size and options.discover:
            for q in np.unique(period[todo]):
                sel = todo[period[todo] == q]
                groups, leaders = group_points(x_final[sel], options.match_tol)
                found, outcome = self.verify(
                    x_final[sel[leaders]], np.full(len(leaders), q), "found"
                )
                row[sel] = found[groups]
                status[sel] = np.where(found[groups] >= 0, status[sel], outcome[groups])
        elif todo.size:
            status[todo] = Status.UNMATCHED
        self.settle(row, status)
        return row, status, None, np.ones(k, dtype=bool)

    def settle(self, row: np.ndarray, status: np.ndarray) -> None:
        """Set the outcome of orbits at known cycles ``row >= 0`` (in place): ``converged`` at a
        fixed point, ``periodic`` at a cycle, ``not_attracting`` where it does not attract."""
        at = np.flatnonzero(row >= 0)
        status[at] = np.where(self.period[row[at]] == 1, Status.CONVERGED, Status.PERIODIC)
        status[at[~self.attracting()[row[at]]]] = Status.NOT_ATTRACTING

    def energy(self, row: int) -> float:
        """Mean potential over the points of a cycle (NaN for maps without a potential)."""
        if not self.system.has_potential:
            return float("nan")
        return float(np.mean(self.system.potential(self.points[row], self.params)))
