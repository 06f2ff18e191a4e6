"""Where orbits end: the points known to a basin computation, which of them attract, and the
outcome of every orbit.

An orbit gets an attractor only through a verified point: its end point matches a known point
(within ``match_tol``, up to the symmetry group), or Newton from it (one run per group of nearby
end points) reaches a root within ``refine_tol`` whose residual meets the Newton tolerance. The
point is an attractor when its classification says it attracts (no unstable eigenvalue, and no
zero eigenvalue unless the system is a gradient flow, whose minima may be degenerate). Every
other orbit keeps an outcome of the one status table: the flow's own (``time_limit``,
``escaped``, ...), ``not_attracting`` (it reached a saddle), ``unverified`` or Newton's failure
(no fixed point where it stopped), or ``unmatched`` (discovery off).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._points import PointCatalogue, relative_scale
from .._status import Status
from ..errors import InputError
from ._options import BasinOptions

__all__ = ["Attractors", "role_of"]


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
    return kind


def _states(attractors, n: int, what: str) -> np.ndarray:
    if isinstance(attractors, xr.Dataset):
        if "x" not in attractors or attractors["x"].dims != ("point", "state"):
            raise InputError(
                f"`{what}` is a Dataset without `x(point, state)`; pass the result of "
                "find_fixed_points() or an array of states (m, n)."
            )
        x = np.asarray(attractors["x"].values, dtype=float)
    else:
        x = np.asarray(attractors, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
    if x.ndim != 2 or x.shape[1] != n or not np.all(np.isfinite(x)):
        raise InputError(
            f"`{what}` must be a fixed-point Dataset or finite states of shape (m, {n}); got "
            f"shape {x.shape}."
        )
    return x


class Attractors:
    """The points known to one basin computation (a :class:`~dynsys._points.PointCatalogue`)
    and the outcome of orbits ending near them (see the module docstring)."""

    def __init__(self, system, params: Mapping[str, Any], options: BasinOptions, symmetry=None):
        self.options = options
        self.catalogue = PointCatalogue(
            system,
            params,
            symmetry=symmetry,
            newton=options.newton,
            zero_tol=options.zero_tol,
            refine_tol=options.refine_tol,
        )

    @property
    def system(self):
        return self.catalogue.system

    @property
    def params(self) -> dict[str, Any]:
        return self.catalogue.params

    @property
    def symmetry(self):
        return self.catalogue.symmetry

    def attracting(self) -> np.ndarray:
        """Which known points attract: index 0, and nullity 0 unless the system is a gradient
        flow (a manifold of minima attracts; a non-hyperbolic point of a general system is not
        decided by its linearisation)."""
        c = self.catalogue
        ok = (c.index == 0) & (c.nullity >= 0)
        if not self.system.is_gradient:
            ok &= c.nullity == 0
        return ok

    def attractor_ids(self) -> np.ndarray:
        """For each known point, its row in the attractor table (-1 for points that do not
        attract); attractors are numbered in the order they became known."""
        attracting = self.attracting()
        return np.where(attracting, np.cumsum(attracting) - 1, -1)

    # ------------------------------------------------------------------ known points
    def add_given(self, attractors, *, origin: str = "given", strict: bool = True) -> None:
        """Verify given points by Newton and add them (saddles among them are known points,
        not attractors). ``strict``: a point Newton cannot verify is an error; otherwise it is
        left out."""
        x = _states(attractors, self.system.n, "attractors")
        refined = self.catalogue.refine(x)
        ok = refined.status == Status.CONVERGED
        if strict and not ok.all():
            bad = np.flatnonzero(~ok)
            residual = np.linalg.norm(self.system.f(x[bad], self.params), axis=-1)
            raise InputError(
                f"`attractors` rows {bad[:10].tolist()} are not fixed points: |f| = "
                f"{np.array2string(residual[:10], precision=2)}, and Newton finds none within "
                f"refine_tol = {self.options.refine_tol:g} (relative) with |f| <= "
                f"{self.options.newton.tol:g}. Give equilibria (e.g. from find_fixed_points)."
            )
        if ok.any():
            self.catalogue.add(
                refined.x[ok], origin, tol=self.options.match_tol, residual=refined.residual[ok]
            )

    def add_reference(self, reference) -> None:
        """Add the reference states that are equilibria (Newton-verified where they stand), with
        origin "reference", so that recorded symmetry elements map end points onto the
        reference itself."""
        if reference is None:
            return
        ref = _states(reference, self.system.n, "reference")
        refined = self.catalogue.refine(ref)
        on_point = (refined.status == Status.CONVERGED) & (
            np.linalg.norm(refined.x - ref, axis=-1) <= 1e-8 * relative_scale(ref)
        )
        for row in np.flatnonzero(on_point):
            if (
                len(self.catalogue) == 0
                or self.catalogue.match(ref[row], self.options.match_tol)[0][0] < 0
            ):
                self.catalogue.add(
                    ref[row][None],
                    "reference",
                    tol=self.options.match_tol,
                    residual=refined.residual[row : row + 1],
                )

    def reference_rows(self, reference) -> np.ndarray:
        """Known points that match a reference state (up to the group)."""
        if reference is None or len(self.catalogue) == 0:
            return np.zeros(0, dtype=np.int64)
        ref = _states(reference, self.system.n, "reference")
        rows, _ = self.catalogue.match(ref, self.options.match_tol)
        return np.unique(rows[rows >= 0])

    # ------------------------------------------------------------------ labelling
    def label(self, x_final: np.ndarray, status: np.ndarray, stop_row: np.ndarray | None = None):
        """Known point and outcome of orbits ending at ``x_final (k, n)`` with flow statuses
        ``status (k,)``; ``stop_row (k,)`` is the point in whose stop region an orbit stopped
        (-1: none; those orbits are at that point without matching their end states).

        Returns ``(row (k,), status (k,) int8, g (k, n) or None, known (k,) bool)``: the
        catalogue row of the point each orbit reached (-1 for none), its outcome (``converged``
        only for orbits at an attractor), and with a group the elements ``g`` with
        ``act(g, x_final)`` close to it (``known`` False where no such element was found).
        """
        options, catalogue = self.options, self.catalogue
        status = np.asarray(status, dtype=np.int8).copy()
        k, n = x_final.shape
        row = np.full(k, -1, dtype=np.int64)
        g = None if self.symmetry is None else np.broadcast_to(np.arange(n), (k, n)).copy()
        known = np.ones(k, dtype=bool)
        arrived = np.flatnonzero(status == Status.CONVERGED)
        if stop_row is not None:
            in_region = np.flatnonzero(np.asarray(stop_row) >= 0)
            row[in_region] = np.asarray(stop_row)[in_region]
            arrived = arrived[row[arrived] < 0]
        if arrived.size and len(catalogue):
            row[arrived], elem = catalogue.match(x_final[arrived], options.match_tol)
            if g is not None:
                g[arrived] = elem
        open_ = arrived[row[arrived] < 0]
        if open_.size and options.discover:
            found, outcome = catalogue.discover(x_final[open_], "found", tol=options.match_tol)
            row[open_] = found
            status[open_] = np.where(found >= 0, status[open_], outcome)
            if g is not None:
                self._elements(x_final, open_[found >= 0], row, g, known)
        elif open_.size:
            status[open_] = Status.UNMATCHED
        reached = np.flatnonzero(row >= 0)
        stalled = reached[~self.attracting()[row[reached]]]
        status[stalled] = Status.NOT_ATTRACTING
        return row, status, g, known

    def adopt(self, x) -> tuple[int, int]:
        """The row of a point ``x (n,)`` that an orbit followed by recurrence settled on
        (verified by Newton like an end point, or found among the known points) and the
        outcome of orbits there: ``converged``, ``not_attracting``, or Newton's failure (row
        -1)."""
        rows, outcome = self.catalogue.discover(
            np.asarray(x, dtype=float)[None], "found", tol=self.options.match_tol
        )
        row = int(rows[0])
        if row < 0:
            return -1, int(outcome[0])
        return row, int(Status.CONVERGED if self.attracting()[row] else Status.NOT_ATTRACTING)

    def settle_elements(self, x_final, items, row, g, known) -> None:
        """With a group: the elements that take the end points ``items`` onto their points
        ``row[items]`` (see :meth:`_elements`)."""
        if g is not None and len(items):
            self._elements(x_final, items, row, g, known)

    def _elements(self, x_final, items, row, g, known) -> None:
        """Group elements taking end points ``items`` onto the points found from them: the exact
        match within ``match_tol`` when it holds; otherwise the element that maps canonical form
        onto canonical form, kept when it brings the end point within ``refine_tol +
        match_tol`` of the point (the root lies that close to the group's leader); otherwise the
        element is unknown (``known`` False). An exact search at the loose tolerance would cost
        up to ``d!`` for input permutations."""
        catalogue, symmetry = self.catalogue, self.symmetry
        loose = self.options.refine_tol + self.options.match_tol
        for r in np.unique(row[items]):
            sel = items[row[items] == r]
            hit, elem = catalogue.match(x_final[sel], self.options.match_tol, rows=[r])
            ok = hit >= 0
            g[sel[ok]] = elem[ok]
            rest = sel[~ok]
            if rest.size == 0:
                continue
            _, to_canon = catalogue.canonicalize(x_final[rest])
            back = symmetry.inverse(catalogue.to_canonical[r])
            elem = symmetry.compose(back, to_canon)
            moved = symmetry.act(elem, x_final[rest])
            close = np.linalg.norm(moved - catalogue.x[r], axis=-1) <= loose * relative_scale(
                catalogue.x[r]
            )
            g[rest[close]] = elem[close]
            known[rest[~close]] = False

    def labels_of(self, row: np.ndarray, status: np.ndarray) -> np.ndarray:
        """Final labels: the attractor-table row for orbits at an attractor, minus the outcome
        code for the others."""
        ids = self.attractor_ids()
        at = (status == Status.CONVERGED) & (row >= 0)
        label = -np.asarray(status, dtype=np.int64)
        label[at] = ids[row[at]]
        return label
