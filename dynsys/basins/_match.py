"""Labelling end points of orbits by the attractor they reached.

An :class:`AttractorTable` holds the known end states (attractors given beforehand and those found
on the way) with their classification, and turns a batch of orbit end points and flow statuses
into labels:

- ``0, 1, ...``: the row of the table the end point matches: Euclidean distance at most
  ``match_tol * max(1, |a|_inf)`` from attractor ``a`` (up to the symmetry group when one is given;
  the group element that maps the end point onto ``a`` is recorded);
- :data:`LABEL_NOT_CONVERGED` (-1): the orbit stopped without converging (time limit, step limit,
  step underflow);
- :data:`LABEL_ESCAPED` (-2): the orbit left the escape radius;
- :data:`LABEL_NONFINITE` (-3): NaN or inf in the state or the field;
- :data:`LABEL_UNMATCHED` (-4): converged, but matching no attractor (on-the-fly discovery off,
  or it failed); the status becomes ``UNMATCHED``.

A converged end point that matches nothing is refined by Newton
(:func:`dynsys.fixedpoints.find_fixed_points`, from one representative per group of such
points) and the refined, classified point is added to the table. When Newton fails (a manifold of
equilibria, a singular Jacobian), or refinement is off, the representative end point itself is
added (classified), marked as not refined. A label is given only within the tolerance, so an
end point never gets a wrong attractor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from .._status import Status
from ..symmetry import StateGroup

__all__ = [
    "LABEL_ESCAPED",
    "LABEL_NAMES",
    "LABEL_NONFINITE",
    "LABEL_NOT_CONVERGED",
    "LABEL_UNMATCHED",
    "AttractorTable",
]

LABEL_NOT_CONVERGED = -1
LABEL_ESCAPED = -2
LABEL_NONFINITE = -3
LABEL_UNMATCHED = -4
LABEL_NAMES = {
    LABEL_NOT_CONVERGED: "not converged",
    LABEL_ESCAPED: "escaped",
    LABEL_NONFINITE: "non-finite",
    LABEL_UNMATCHED: "unmatched",
}
_DISCOVERY_ROUNDS = 4


def _scale(points: np.ndarray) -> np.ndarray:
    return np.maximum(1.0, np.max(np.abs(points), axis=-1, initial=0.0))


def _leaders(points: np.ndarray, tol: float) -> np.ndarray:
    """Indices of leaders: the first point, then the first point farther than
    ``tol * max(1, |leader|_inf)`` from every leader so far, and so on (one pass per leader)."""
    leaders = []
    open_ = np.arange(len(points))
    while open_.size:
        lead = open_[0]
        leaders.append(lead)
        radius = tol * max(1.0, float(np.abs(points[lead]).max()))
        far = np.linalg.norm(points[open_] - points[lead], axis=1) > radius
        open_ = open_[far]
    return np.asarray(leaders, dtype=np.int64)


def role_of(kind: str, is_reference: bool, reference_name: str, as_low: bool = False) -> str:
    """The role of an attractor: the reference's name, "global minimum" for another minimum as
    low as the reference (``as_low``), or a name from its kind."""
    if is_reference:
        return reference_name
    if as_low and kind in ("minimum", "degenerate"):
        return "global minimum"
    if kind == "minimum":
        return "spurious minimum"
    if kind.startswith("sink"):
        return "other sink"
    if kind.startswith("saddle"):
        return "saddle"
    if kind in ("maximum",) or kind.startswith("source"):
        return "unstable"
    return kind


class AttractorTable:
    """Known attractors of one system at one parameter point, growing as new ones are found."""

    def __init__(
        self,
        system,
        params: Mapping[str, Any],
        *,
        match_tol: float,
        symmetry=None,
        discover: bool = True,
        refine: bool = True,
        newton_options=None,
    ) -> None:
        self.system = system
        self.params = dict(params)
        self.match_tol = float(match_tol)
        self.symmetry = symmetry
        self.discover = discover
        self.refine = refine
        self.newton_options = newton_options
        n = system.n
        self.x = np.zeros((0, n))
        self.kind = np.zeros(0, dtype=object)
        self.index = np.zeros(0, dtype=np.int64)
        self.nullity = np.zeros(0, dtype=np.int64)
        self.energy = np.zeros(0)
        self.origin = np.zeros(0, dtype=object)
        self._canonical = np.zeros((0, n))
        self._to_canonical = np.zeros((0, n), dtype=np.int64)  # elements g: g.x = canonical
        permutes = symmetry is not None and isinstance(symmetry, StateGroup)
        self._sorted = np.zeros((0, n)) if permutes else None

    # ------------------------------------------------------------------ building the table
    def __len__(self) -> int:
        return len(self.x)

    def _canonicalize(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canonical forms and the elements that produce them (identity without a group, or for
        a duck-typed symmetry that only has ``canonical``)."""
        identity = np.broadcast_to(np.arange(points.shape[1]), points.shape).astype(np.int64)
        if isinstance(self.symmetry, StateGroup) and len(points):
            canon, elem = self.symmetry.canonicalize(points)
            return np.asarray(canon, dtype=float), np.asarray(elem, dtype=np.int64)
        return self._canon(points), identity

    def _canon(self, points: np.ndarray) -> np.ndarray:
        if self.symmetry is None or len(points) == 0:
            return points
        return np.asarray(self.symmetry.canonical(points), dtype=float)

    def _append(self, x, kind, index, nullity, energy, origin: str) -> None:
        x = np.asarray(x, dtype=float).reshape(-1, self.system.n)
        self.x = np.concatenate([self.x, x])
        self.kind = np.concatenate([self.kind, np.asarray(kind, dtype=object)])
        self.index = np.concatenate([self.index, np.asarray(index, dtype=np.int64)])
        self.nullity = np.concatenate([self.nullity, np.asarray(nullity, dtype=np.int64)])
        self.energy = np.concatenate([self.energy, np.asarray(energy, dtype=float)])
        self.origin = np.concatenate([self.origin, np.full(len(x), origin, dtype=object)])
        canon, elem = self._canonicalize(x)
        self._canonical = np.concatenate([self._canonical, canon])
        self._to_canonical = np.concatenate([self._to_canonical, elem])
        if self._sorted is not None:
            self._sorted = np.concatenate([self._sorted, np.sort(x, axis=1)])

    def _classified(self, x: np.ndarray) -> xr.Dataset:
        from ..stability import classify

        return classify(self.system, x.reshape(-1, self.system.n), params=self.params)

    def add(self, attractors, origin: str = "given") -> None:
        """Add points: a fixed-point Dataset (``x(point, state)``, with ``kind`` etc. if
        classified) or an array of states ``(m, n)``; unclassified points are classified."""
        if isinstance(attractors, xr.Dataset):
            if "x" not in attractors or attractors["x"].dims != ("point", "state"):
                raise ValueError(
                    "`attractors` is a Dataset without `x(point, state)`; pass the result of "
                    "find_fixed_points() or an array of states (m, n)."
                )
            ds = attractors
            x = np.asarray(ds["x"].values, dtype=float)
            if x.shape[1] != self.system.n:
                raise ValueError(
                    f"`attractors` holds states of dimension {x.shape[1]}; the system has "
                    f"{self.system.n} states."
                )
            if not all(name in ds for name in ("kind", "index", "nullity")):
                ds = self._classified(x)
        else:
            x = np.asarray(attractors, dtype=float)
            if x.ndim == 1:
                x = x[None, :]
            if x.ndim != 2 or x.shape[1] != self.system.n or not np.all(np.isfinite(x)):
                raise ValueError(
                    f"`attractors` must be a fixed-point Dataset or finite states of shape "
                    f"(m, {self.system.n}); got an array of shape {x.shape}."
                )
            ds = self._classified(x)
        if len(x) == 0:
            return
        energy = ds["energy"].values if "energy" in ds else np.full(len(x), np.nan)
        self._append(x, ds["kind"].values, ds["index"].values, ds["nullity"].values, energy, origin)

    def add_reference(self, reference, tol: float = 1e-8) -> None:
        """Add the reference states that are equilibria (``|f| <= tol * max(1, |x|_inf)``) and
        not in the table yet, with origin "reference", so that the reference's own orientation is
        the attractor's state and recorded symmetry elements are relative to it."""
        if reference is None:
            return
        ref = np.asarray(reference, dtype=float)
        ref = ref[None, :] if ref.ndim == 1 else ref
        if ref.ndim != 2 or ref.shape[1] != self.system.n or not np.all(np.isfinite(ref)):
            raise ValueError(
                f"`reference` must be a finite state ({self.system.n},) or states "
                f"(k, {self.system.n}); got shape {np.shape(reference)}."
            )
        speed = np.linalg.norm(self.system.f(ref, self.params), axis=-1)
        ref = ref[speed <= tol * _scale(ref)]
        for row in ref:
            if self.match(row[None, :])[0][0] < 0:
                self.add(row[None, :], origin="reference")

    # ------------------------------------------------------------------ matching
    def _exact(self, y, sorted_y, items, row, label, g, todo) -> None:
        """Exact group matching of ``y[items]`` to table row ``row``; records the matches."""
        if self._sorted is not None:  # a lower bound of the orbit distance prunes at once
            gap = np.linalg.norm(sorted_y[items] - self._sorted[row], axis=1)
            items = items[gap <= self.match_tol * _scale(self.x[row])]
        if items.size == 0:
            return
        ok, elem = self.symmetry.match(y[items], self.x[row], self.match_tol)
        ok = np.asarray(ok, dtype=bool)
        label[items[ok]] = row
        g[items[ok]] = np.asarray(elem)[ok]
        todo[items[ok]] = False

    def match(self, y: np.ndarray, rows: np.ndarray | None = None):
        """Match end points ``y (k, n)`` to table rows ``rows`` (all by default).

        Returns ``(label (k,), g (k, n) or None)``: the matched row or -1, and with a symmetry the
        group elements with ``act(g, y)`` close to the matched attractor.
        """
        k, n = y.shape
        label = np.full(k, -1, dtype=np.int64)
        g = None if self.symmetry is None else np.broadcast_to(np.arange(n), (k, n)).copy()
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        if k == 0 or rows.size == 0:
            return label, g
        radius = self.match_tol * _scale(self.x[rows])
        canon_y, to_canon_y = self._canonicalize(y)
        dist, nearest = cKDTree(self._canonical[rows]).query(canon_y, k=1)
        close = dist <= radius[nearest]
        if self.symmetry is None:
            label[close] = rows[nearest[close]]
            return label, g
        todo = np.ones(k, dtype=bool)
        if isinstance(self.symmetry, StateGroup):
            # close canonical forms are a certificate: with h.y and h'.a canonical,
            # (h'^-1 o h).y is within the same distance of a (group elements are isometries)
            hit = np.flatnonzero(close)
            row = rows[nearest[hit]]
            back = self.symmetry.inverse(self._to_canonical[row])
            g[hit] = self.symmetry.compose(back, to_canon_y[hit])
            label[hit] = row
            todo[hit] = False
        else:  # canonical forms propose, the group's own matching decides
            for j in np.unique(nearest[close]):
                items = np.flatnonzero(close & (nearest == j))
                self._exact(y, None, items, rows[j], label, g, todo)
        # canonical forms may miss (they are heuristic for some groups): try every row; for
        # groups permuting coordinates the distance of the sorted coordinates, a lower bound
        # of the distance between orbits, skips hopeless pairs first
        sorted_y = np.sort(y, axis=1) if self._sorted is not None else None
        for j in range(len(rows)):
            if not todo.any():
                break
            self._exact(y, sorted_y, np.flatnonzero(todo), rows[j], label, g, todo)
        return label, g

    def _append_new(self, x: np.ndarray, origin: str) -> None:
        """Classify states ``x`` and add, one after another, those no row matches yet."""
        if len(x) == 0:
            return
        ds = self._classified(x)
        energy = ds["energy"].values if "energy" in ds else np.full(len(x), np.nan)
        for i in range(len(x)):
            if self.match(x[i : i + 1])[0][0] < 0:
                self._append(
                    x[i : i + 1],
                    ds["kind"].values[i : i + 1],
                    ds["index"].values[i : i + 1],
                    ds["nullity"].values[i : i + 1],
                    energy[i : i + 1],
                    origin,
                )

    def _discover(self, y: np.ndarray) -> np.ndarray:
        """Refine one representative (leader) per group of the unmatched end points ``y`` by
        Newton; add what is new. Returns the table rows added."""
        from ..fixedpoints import NewtonOptions, find_fixed_points

        reps = y[_leaders(self._canon(y), self.match_tol)]
        start = len(self)
        if self.refine:
            found = find_fixed_points(
                self.system,
                reps,
                params=self.params,
                options=self.newton_options or NewtonOptions(),
                dedup_tol=self.match_tol,
                classify=False,
            )
            self._append_new(np.asarray(found["x"].values, dtype=float), "found")
        # leaders that Newton did not bring to a matching point are added as they are
        self._append_new(reps[self.match(reps)[0] < 0], "found, not refined")
        return np.arange(start, len(self))

    def label(self, x_final: np.ndarray, status: np.ndarray):
        """Labels, updated statuses and group elements for orbits ending at ``x_final (k, n)``
        with flow statuses ``status (k,)``.

        Returns ``(label (k,) int, status (k,) int8, g (k, n) or None)``.
        """
        status = np.asarray(status, dtype=np.int8).copy()
        k, n = x_final.shape
        label = np.full(k, LABEL_NOT_CONVERGED, dtype=np.int64)
        label[status == Status.ESCAPED] = LABEL_ESCAPED
        label[status == Status.NONFINITE] = LABEL_NONFINITE
        converged = np.flatnonzero(status == Status.CONVERGED)
        g = None if self.symmetry is None else np.broadcast_to(np.arange(n), (k, n)).copy()
        got, elem = self.match(x_final[converged])
        label[converged] = got
        if g is not None:
            g[converged] = elem
        for _ in range(_DISCOVERY_ROUNDS if self.discover else 0):
            open_ = converged[label[converged] < 0]
            if open_.size == 0:
                break
            rows = self._discover(x_final[open_])
            if rows.size == 0:
                break
            got, elem = self.match(x_final[open_], rows)
            label[open_] = got
            if g is not None:
                g[open_] = elem
        missed = converged[label[converged] < 0]
        label[missed] = LABEL_UNMATCHED
        status[missed] = Status.UNMATCHED
        return label, status, g
