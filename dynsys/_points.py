"""The one catalogue of known critical points, shared by fixed points, basins and the graph.

- :func:`relative_scale`: every distance tolerance of dynsys is relative to ``max(1, |x|_inf)``.
- :func:`group_points`: nearby points grouped around leaders, in memory linear in their number.
- :class:`PointCatalogue`: the known points of one system at one parameter point (state,
  canonical form under a symmetry group, residual, classification, origin). It matches states
  to known points up to the group, adds new ones without duplicates, refines states by Newton
  with one acceptance rule, and discovers the points that end points of orbits lead to.
- :func:`arrival_tolerance`: one rule for the ``|f|`` at which a flow that must reach a point
  has arrived, recorded as the attributes ``converge_tol_requested`` and ``converge_tol_used``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from ._group import StateGroup, check_group
from ._newton import NewtonOptions, newton_batch, solver_for
from ._status import Status
from ._validate import as_state_batch
from .stability import classify

__all__ = [
    "Arrival",
    "PointCatalogue",
    "ToleranceWarning",
    "arrival_tolerance",
    "group_points",
    "relative_scale",
    "sort_order",
]

_ORDER_RESOLUTION = 1e-9  # values closer than this (relative) tie in the ordering


def relative_scale(x) -> np.ndarray:
    """``max(1, |x|_inf)`` over the last axis: the scale of every relative distance tolerance.

    Examples
    --------
    >>> relative_scale([[0.5, -3.0], [0.1, 0.2]]).tolist()
    [3.0, 1.0]
    """
    return np.maximum(1.0, np.max(np.abs(np.asarray(x, dtype=float)), axis=-1, initial=0.0))


def _first_per_cell(points: np.ndarray, size: float) -> np.ndarray:
    """Index of the first point (in order) in each cell of a grid of side ``size``."""
    _, first = np.unique(np.floor(points / size), axis=0, return_index=True)
    return np.sort(first)


def group_points(points, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Group points around leaders: each point lies within ``tol * relative_scale(leader)`` of
    its leader (Euclidean), and earlier points lead (give the points in order of preference).

    Memory is linear in the number of points (a grid of cells of side ``tol`` proposes leaders,
    a k-d tree assigns the rest), so a million seeds that land on one point cost one group.

    Returns
    -------
    labels : numpy.ndarray of int, shape (m,)
        The group of each point, ``0..L-1`` in order of the leaders.
    leaders : numpy.ndarray of int, shape (L,)
        The index of each group's leader.

    Examples
    --------
    >>> labels, leaders = group_points([[0.0], [1e-9], [1.0], [1.0 + 1e-9]], 1e-6)
    >>> labels.tolist(), leaders.tolist()
    ([0, 0, 1, 1], [0, 2])
    """
    points = np.asarray(points, dtype=float)
    m = len(points)
    labels = np.full(m, -1, dtype=np.int64)
    leaders: list[int] = []
    pending = np.arange(m)
    while pending.size:
        here = points[pending]
        candidates = _first_per_cell(here, tol)
        tree = cKDTree(here[candidates])
        taken = np.zeros(candidates.size, dtype=bool)
        chosen = []
        for j in range(candidates.size):
            if taken[j]:
                continue
            chosen.append(j)
            radius = tol * float(relative_scale(here[candidates[j]]))
            taken[tree.query_ball_point(here[candidates[j]], radius)] = True
        lead = candidates[np.asarray(chosen)]
        dist, nearest = cKDTree(here[lead]).query(here, k=1)
        ok = dist <= tol * relative_scale(here[lead])[nearest]
        labels[pending[ok]] = len(leaders) + nearest[ok]
        leaders.extend(pending[lead].tolist())
        pending = pending[~ok]
    return labels, np.asarray(leaders, dtype=np.int64)


def _quantize(values: np.ndarray) -> np.ndarray:
    scale = max(1.0, float(np.max(np.abs(values), initial=0.0)))
    return np.round(values / (_ORDER_RESOLUTION * scale))


def sort_order(points: np.ndarray, energy: np.ndarray | None = None) -> np.ndarray:
    """A deterministic order: by energy (when given), then by the coordinates in turn.

    Values are compared after rounding to ``1e-9`` relative, so that round-off does not swap
    points of equal energy (symmetric minima).

    Examples
    --------
    >>> sort_order(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 0.0])).tolist()
    [1, 0]
    """
    keys = [_quantize(points[:, j]) for j in reversed(range(points.shape[1]))]
    if energy is not None:
        keys.append(_quantize(energy))
    return np.lexsort(keys) if keys else np.arange(len(points))


@dataclass(frozen=True)
class Refined:
    """Newton run from a batch of states: roots, per-item outcome, residual ``|f(root)|``."""

    x: np.ndarray
    status: np.ndarray
    residual: np.ndarray


class PointCatalogue:
    """The known critical points of one system at one parameter point.

    Parameters
    ----------
    system : System
        The system.
    params : mapping
        Parameter values (complete: ``system.resolve_params(...)``).
    symmetry : StateGroup, optional
        States are compared up to this group.
    newton : NewtonOptions, optional
        Settings of the refinement.
    zero_tol : float
        Relative zero of eigenvalues in the classification.
    refine_tol : float
        A Newton root is accepted for a state only when it lies within
        ``refine_tol * relative_scale(state)`` of it and its residual meets ``newton.tol``.

    Attributes
    ----------
    x, canonical : ndarray (m, n)
        The points as found and their canonical forms (``x`` itself without a group).
    residual, energy : ndarray (m,)
        ``|f(x)|`` and the potential (NaN for general systems).
    eigenvalues : ndarray (m, n) complex; index, nullity : ndarray (m,) int; kind : ndarray (m,)
        The classification (NaN, -1 and ``"unclassified"`` for points added without one).
    origin : ndarray (m,) of str
        Where each point came from (``"given"``, ``"found"``, ...).

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> system = double_well()
    >>> catalogue = PointCatalogue(system, system.resolve_params())
    >>> catalogue.add([[1.0, 0.0], [-1.0, 0.0]], "given", tol=1e-6).tolist()
    [0, 1]
    >>> refined = catalogue.refine(np.array([[0.999, 0.001], [0.4, 0.1]]))
    >>> refined.x.round(12).tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    >>> from dynsys import status_names
    >>> status_names(refined.status).tolist()  # the root of the second is too far from it
    ['converged', 'unverified']
    >>> catalogue.match(np.array([[1.0 + 1e-9, 0.0]]), tol=1e-6)[0].tolist()
    [0]
    """

    def __init__(
        self,
        system,
        params: Mapping[str, Any],
        *,
        symmetry: StateGroup | None = None,
        newton: NewtonOptions | None = None,
        zero_tol: float = 1e-8,
        refine_tol: float = 1e-2,
    ) -> None:
        self.system = system
        self.params = dict(params)
        self.symmetry = check_group(symmetry, system.n)
        self.newton = NewtonOptions() if newton is None else newton
        self.zero_tol = float(zero_tol)
        self.refine_tol = float(refine_tol)
        n = system.n
        self.x = np.zeros((0, n))
        self.canonical = np.zeros((0, n))
        self._to_canonical = np.zeros((0, n), dtype=np.int64)  # g with act(g, x) = canonical
        self.residual = np.zeros(0)
        self.energy = np.zeros(0)
        self.eigenvalues = np.zeros((0, n), dtype=complex)
        self.index = np.zeros(0, dtype=np.int64)
        self.nullity = np.zeros(0, dtype=np.int64)
        self.kind = np.zeros(0, dtype=object)
        self.origin = np.zeros(0, dtype=object)
        self._solve = solver_for(system, self.params)

    def __len__(self) -> int:
        return len(self.x)

    # ------------------------------------------------------------------ canonical forms
    @property
    def to_canonical(self) -> np.ndarray:
        """``(m, n)`` group elements ``g`` with ``act(g, x) = canonical`` (identity without a
        group)."""
        return self._to_canonical

    def canonicalize(self, points) -> tuple[np.ndarray, np.ndarray]:
        """Canonical forms of states ``(k, n)`` and the elements that give them."""
        return self._canonicalize(np.asarray(points, dtype=float).reshape(-1, self.system.n))

    def _canonicalize(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        identity = np.broadcast_to(np.arange(points.shape[1]), points.shape).astype(np.int64)
        if self.symmetry is None or len(points) == 0:
            return points, identity
        canon, elem = self.symmetry.canonicalize(points)
        return np.asarray(canon, dtype=float), np.asarray(elem, dtype=np.int64)

    # ------------------------------------------------------------------ matching
    def match(self, y, tol: float, rows=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Match states ``y (k, n)`` to known points: within ``tol * relative_scale(point)``
        (Euclidean), up to the group.

        Returns ``(row (k,), g (k, n) or None)``: the matched row (-1 for none) and, with a
        group, elements with ``act(g, y)`` close to the matched point's ``x``.
        """
        y = np.asarray(y, dtype=float).reshape(-1, self.system.n)
        k, n = y.shape
        row = np.full(k, -1, dtype=np.int64)
        g = None if self.symmetry is None else np.broadcast_to(np.arange(n), (k, n)).copy()
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        if k == 0 or rows.size == 0:
            return row, g
        radius = tol * relative_scale(self.x[rows])
        canon_y, to_canon_y = self._canonicalize(y)
        dist, nearest = cKDTree(self.canonical[rows]).query(canon_y, k=1)
        close = dist <= radius[nearest]
        row[close] = rows[nearest[close]]
        if self.symmetry is None:
            return row, g
        # close canonical forms are a certificate: with h.y and h'.a canonical, (h'^-1 o h).y
        # is within the same distance of a (group elements are isometries)
        hit = np.flatnonzero(close)
        back = self.symmetry.inverse(self._to_canonical[row[hit]])
        g[hit] = self.symmetry.compose(back, to_canon_y[hit])
        # canonical forms are heuristic for some groups: decide the rest exactly, skipping pairs
        # whose invariant keys are already too far apart (a lower bound of the orbit distance)
        todo = ~close
        if todo.any():
            key_y = self.symmetry.invariant(y)
            key_rows = self.symmetry.invariant(self.x[rows])
            for j, r in enumerate(rows):
                items = np.flatnonzero(todo)
                if items.size == 0:
                    break
                items = items[np.linalg.norm(key_y[items] - key_rows[j], axis=1) <= radius[j]]
                if items.size == 0:
                    continue
                ok, elem = self.symmetry.match(y[items], self.x[r], tol)
                ok = np.asarray(ok, dtype=bool)
                row[items[ok]] = r
                g[items[ok]] = np.asarray(elem)[ok]
                todo[items[ok]] = False
        return row, g

    # ------------------------------------------------------------------ adding
    def add(
        self,
        x,
        origin: str,
        *,
        tol: float,
        residual=None,
        classify_new: bool = True,
    ) -> np.ndarray:
        """Add states ``x (k, n)``; return the row of each.

        A state within ``tol`` (relative, up to the group) of a known point is that point;
        the others are grouped around leaders (the smallest ``residual`` first) and each group
        becomes one new row, classified unless ``classify_new`` is False.
        """
        x = as_state_batch(x, self.system.n, name="x").reshape(-1, self.system.n)
        k = len(x)
        rows = self.match(x, tol)[0] if len(self) else np.full(k, -1, dtype=np.int64)
        new = np.flatnonzero(rows < 0)
        if new.size == 0:
            return rows
        if residual is None:
            residual = np.linalg.norm(self.system.f(x, self.params), axis=-1)
        residual = np.asarray(residual, dtype=float)
        order = new[np.argsort(residual[new], kind="stable")]
        canon, _ = self._canonicalize(x[order])
        labels, leaders = group_points(canon, tol)
        # the best state of a group leads it; groups become rows in order of first appearance
        first_seen = np.full(len(leaders), k, dtype=np.int64)
        np.minimum.at(first_seen, labels, order)
        start = len(self)
        leader_rows = np.empty(len(leaders), dtype=np.int64)
        for j in np.argsort(first_seen, kind="stable"):
            lead = order[leaders[j]]
            found = -1
            if self.symmetry is not None and len(self) > start:
                found = int(self.match(x[lead : lead + 1], tol, np.arange(start, len(self)))[0][0])
            leader_rows[j] = found if found >= 0 else self._append(x[lead], residual[lead], origin)
        rows[order] = leader_rows[labels]
        if classify_new and len(self) > start:
            self.classify_rows(np.arange(start, len(self)))
        return rows

    def _append(self, x: np.ndarray, residual: float, origin: str) -> int:
        canon, elem = self._canonicalize(x[None])
        self.x = np.concatenate([self.x, x[None]])
        self.canonical = np.concatenate([self.canonical, canon])
        self._to_canonical = np.concatenate([self._to_canonical, elem])
        self.residual = np.append(self.residual, residual)
        self.energy = np.append(self.energy, np.nan)
        self.eigenvalues = np.concatenate(
            [self.eigenvalues, np.full((1, self.system.n), np.nan, dtype=complex)]
        )
        self.index = np.append(self.index, -1)
        self.nullity = np.append(self.nullity, -1)
        self.kind = np.append(self.kind, np.array(["unclassified"], dtype=object))
        self.origin = np.append(self.origin, np.array([origin], dtype=object))
        return len(self.x) - 1

    def classify_rows(self, rows) -> None:
        """Classify the points ``rows`` (eigenvalues, index, nullity, kind, energy)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        ds = classify(self.system, self.x[rows], params=self.params, zero_tol=self.zero_tol)
        self.eigenvalues[rows] = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
        self.index[rows] = ds["index"].values
        self.nullity[rows] = ds["nullity"].values
        self.kind[rows] = ds["kind"].values.astype(object)
        if "energy" in ds:
            self.energy[rows] = ds["energy"].values

    def keep(self, rows) -> None:
        """Keep only ``rows`` (a boolean mask or indices, in that order)."""
        for name in (
            "x",
            "canonical",
            "_to_canonical",
            "residual",
            "energy",
            "eigenvalues",
            "index",
            "nullity",
            "kind",
            "origin",
        ):
            setattr(self, name, getattr(self, name)[rows])

    # ------------------------------------------------------------------ refining
    def refine(self, y) -> Refined:
        """Newton from states ``y (k, n)``, with the one acceptance rule of dynsys.

        An item is ``converged`` when Newton met its tolerance (``|f| <= newton.tol``) at a root
        within ``refine_tol * relative_scale(y)`` of its start; a root farther away is
        ``unverified`` (Newton went elsewhere: ``y`` was not next to that point); otherwise the
        item keeps Newton's own outcome (``max_iter``, ``singular_jacobian``, ``nonfinite``).
        """
        y = np.asarray(y, dtype=float).reshape(-1, self.system.n)
        if len(y) == 0:
            return Refined(y.copy(), np.zeros(0, dtype=np.int8), np.zeros(0))
        run = newton_batch(lambda z: self.system.f(z, self.params), self._solve, y, self.newton)
        status = run.status.copy()
        far = np.linalg.norm(run.x - y, axis=-1) > self.refine_tol * relative_scale(y)
        status[(status == Status.CONVERGED) & far] = Status.UNVERIFIED
        return Refined(run.x, status, run.residual)

    def discover(self, y, origin: str, *, tol: float) -> tuple[np.ndarray, np.ndarray]:
        """The points that states ``y (k, n)`` (end points of orbits) lead to.

        The states are grouped within ``tol`` (up to the group); each group's leader is refined
        (:meth:`refine`) and its verified root added (or found among the known points). Returns
        the row of each state (-1 where its leader could not be refined) and the outcome of the
        refinement of its leader.
        """
        y = np.asarray(y, dtype=float).reshape(-1, self.system.n)
        if len(y) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
        labels, leaders = group_points(self._canonicalize(y)[0], tol)
        refined = self.refine(y[leaders])
        ok = np.flatnonzero(refined.status == Status.CONVERGED)
        rows = np.full(len(leaders), -1, dtype=np.int64)
        if ok.size:
            # new points in a deterministic order: by energy, then coordinates
            roots = refined.x[ok]
            energy = self.system.potential(roots, self.params) if self.system.is_gradient else None
            ok = ok[sort_order(self._canonicalize(roots)[0], energy)]
            rows[ok] = self.add(refined.x[ok], origin, tol=tol, residual=refined.residual[ok])
        return rows[labels], refined.status[labels]

    # ------------------------------------------------------------------ summaries
    def spectral_radius(self, rows=None) -> float:
        """The largest eigenvalue modulus over classified points (at least 1)."""
        lam = self.eigenvalues if rows is None else self.eigenvalues[rows]
        finite = np.isfinite(lam).all(axis=-1)
        return float(np.abs(lam[finite]).max(initial=1.0))

    def scale(self, rows=None) -> float:
        """The largest ``relative_scale`` over the points (at least 1)."""
        x = self.x if rows is None else self.x[rows]
        return float(relative_scale(x).max(initial=1.0))


class ToleranceWarning(UserWarning):
    """A requested tolerance cannot be met and a larger one was used (recorded in the result)."""


@dataclass(frozen=True)
class Arrival:
    """The ``|f|`` threshold at which an orbit that must reach a point has arrived.

    ``requested`` is the user's value (None: chosen by the rule), ``used`` the value the flow
    ran with, ``floor`` the rule's lower bound and ``note`` why ``used`` differs from
    ``requested`` (empty when it does not).
    """

    requested: float | None
    used: float
    floor: float
    note: str = ""

    def as_attrs(self) -> dict[str, Any]:
        """``converge_tol_requested`` (``"auto"``: chosen by the rule), ``converge_tol_used`` and,
        when they differ, ``converge_tol_note``."""
        out: dict[str, Any] = {
            "converge_tol_requested": "auto" if self.requested is None else self.requested,
            "converge_tol_used": self.used,
        }
        if self.note:
            out["converge_tol_note"] = self.note
        return out


def arrival_tolerance(
    requested: float | None,
    *,
    rtol: float,
    atol: float,
    spectral_radius: float,
    scale: float,
    explicit: bool = True,
) -> Arrival:
    """The one arrival rule for flows that must reach a point (basins, the graph).

    Next to a point whose Jacobian eigenvalues reach ``Lambda`` in modulus, an explicit
    Runge-Kutta orbit cannot bring ``|f|`` below about ``Lambda (atol + rtol s)``, ``s = max(1,
    |x|_inf)``: it hovers there, its steps limited by stability, whatever the error control
    asks. Gradient descent and the L-stable ``rosenbrock23`` (``explicit=False``) have no such
    floor and go down to rounding, ``Lambda s eps`` (on a stiff system the large ``Lambda`` is
    that of the fast directions, which they resolve exactly). The threshold is ten times the
    floor; without a request it is used, and a request below it is raised to it with a
    :class:`ToleranceWarning` and a note in the result, never silently. (Without known points,
    ``Lambda`` and ``s`` are 1; an implicit flow then needs the time to get to ``|f| ~ 1e-15``,
    so give a ``converge_tol`` or known points when ``t_max`` is short.)

    Examples
    --------
    >>> a = arrival_tolerance(None, rtol=1e-8, atol=1e-10, spectral_radius=4e3, scale=2.0)
    >>> round(a.used, 12), a.note
    (0.000804, '')
    >>> arrival_tolerance(1e-9, rtol=1e-8, atol=1e-10, spectral_radius=4e3, scale=2.0,
    ...                   explicit=False).used
    1e-09
    """
    if explicit:
        floor = 10.0 * spectral_radius * (atol + rtol * scale)
    else:
        floor = 10.0 * spectral_radius * scale * np.finfo(float).eps
    if requested is None or requested >= floor:
        return Arrival(requested, floor if requested is None else requested, floor)
    note = (
        f"converge_tol = {requested:.3g} was raised to {floor:.3g}: explicit orbits next to the "
        f"known points (|eigenvalue| up to {spectral_radius:.3g}) cannot bring |f| below about "
        f"{floor / 10:.3g} with rtol = {rtol:g}, atol = {atol:g}"
        if explicit
        else f"converge_tol = {requested:.3g} was raised to the rounding floor {floor:.3g}"
    )
    warnings.warn(note, ToleranceWarning, stacklevel=3)
    return Arrival(requested, floor, floor, note)
