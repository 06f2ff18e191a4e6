"""The attractors known to one basin computation (at one parameter point), of every kind, and the
outcome of every orbit.

Two tables make it: the verified points (for a flow, :class:`~dynsys.basins._labels.Attractors`
over the kernel's point catalogue; for a map, :class:`~dynsys.basins._cycles.MapCycles`, its
fixed points and cycles verified by Newton), and, unless only points are looked for, the
attractors found by recurrence (:class:`~dynsys.basins._recurrence.Recurrence`: cycles of a
flow, chaotic, quasi-periodic and undecided recurrent sets, and cycles of a map longer than the
iteration detects). A point (or a map's cycle) that the recurrence reaches joins the first table,
verified there like any other, so that one object has one row.

Per orbit: ``row`` (in the first table, -1 for none), ``rec`` (in the recurrence table, -1 for
none) and ``status``: ``converged`` at a point, ``periodic`` at a cycle, ``recurrent`` at a
recurrent set, otherwise the outcome without an attractor. The attractor table numbers the
attracting points first (for a map: fixed points, then cycles), then the attractors found by
recurrence that are not points, each in the order it became known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._status import Status
from ._cycles import MapCycles
from ._labels import Attractors
from ._options import BasinOptions
from ._recurrence import Recurrence

__all__ = ["AttractorRow", "KnownAttractors", "kinds_used"]


def kinds_used(options: BasinOptions, system) -> str:
    """``options.attractor_kinds`` resolved: "auto" is "points" for gradient flows and
    one-state flows, "any" otherwise."""
    if options.attractor_kinds != "auto":
        return options.attractor_kinds
    if not system.is_map and (system.is_gradient or system.n == 1):
        return "points"
    return "any"


def follow_codes(options: BasinOptions, system) -> tuple[int, ...]:
    """The outcomes of orbits that the recurrence follows on: for a map ``max_steps`` (it did
    not settle on a fixed point or a cycle of period up to ``iterate.max_period``); for a flow
    ``time_limit`` (it ran until ``t_max`` without arriving), and ``max_steps`` when steps are
    time (gradient descent) or ``t_max`` is infinite. A Runge-Kutta orbit that used up its steps
    before ``t_max`` stalled (a stiff system): it keeps that outcome."""
    if system.is_map:
        return (int(Status.MAX_STEPS),)
    flow = options.flow
    if flow.method == "gradient_descent" or not np.isfinite(flow.t_max):
        return (int(Status.TIME_LIMIT), int(Status.MAX_STEPS))
    return (int(Status.TIME_LIMIT),)


@dataclass
class AttractorRow:
    """The description of one attractor, as it goes into the attractor table."""

    kind: str  # a point's classification kind, or cycle / chaotic / quasi-periodic / recurrent
    type: str  # point, cycle, chaotic, quasi-periodic, recurrent
    x: np.ndarray
    origin: str
    index: int = -1
    nullity: int = -1
    residual: float = np.nan
    energy: float = np.nan
    period: float = np.nan
    period_error: float = np.nan
    period_method: str = ""
    eigenvalues: np.ndarray | None = None
    lyapunov: np.ndarray | None = None
    lyapunov_stderr: np.ndarray | None = None
    lyapunov_method: str = ""
    samples: np.ndarray | None = None
    note: str = ""
    where: np.ndarray | None = None  # the state by which it is tracked over a sweep
    is_reference: bool = False  # it is the point at the reference state
    descends: bool = False  # a point of a map with a potential

    @property
    def role_kind(self) -> str:
        """The kind that names its role: a descent map's attracting fixed point is a
        minimum."""
        return "minimum" if self.type == "point" and self.descends else self.kind


class KnownAttractors:
    """The points (or map cycles) and recurrent attractors of one computation (see the module
    docstring)."""

    def __init__(self, system, params, options: BasinOptions, symmetry=None) -> None:
        self.system = system
        self.options = options
        self.is_map = bool(system.is_map)
        if self.is_map:
            if symmetry is not None:
                from ..errors import InputError

                raise InputError(
                    "`symmetry` is not supported for maps yet: attractors of a map are matched "
                    "state by state. Pass symmetry=None (group the attractor table by "
                    "attractor_type or attractor_energy afterwards)."
                )
            self.points: Attractors | MapCycles = MapCycles(system, params, options)
        else:
            self.points = Attractors(system, params, options, symmetry)
        self.kinds = kinds_used(options, system)
        self.follow = follow_codes(options, system)
        self.recurrence = (
            Recurrence(system, params, options.recurrence, options.cells_across)
            if self.kinds == "any"
            else None
        )
        self._adopted: dict[int, tuple[int, int]] = {}  # recurrence row -> (point row, code)
        self._refined: dict[int, dict[str, Any]] = {}  # recurrence row -> collocation

    @property
    def params(self) -> dict[str, Any]:
        return self.points.params

    @property
    def symmetry(self):
        return self.points.symmetry

    @property
    def catalogue(self):
        """The flow's point catalogue (flows only)."""
        return self.points.catalogue

    # ------------------------------------------------------------------ known points
    def add_given(self, attractors, *, strict: bool = True) -> None:
        self.points.add_given(attractors, strict=strict)

    def add_reference(self, reference) -> None:
        self.points.add_reference(reference)

    def reference_rows(self, reference) -> np.ndarray:
        return self.points.reference_rows(reference)

    def note_initial(self, x0: np.ndarray) -> None:
        """The initial states of the computation (or a sample of them), whose spread enters the
        automatic cell size of the recurrence."""
        if self.recurrence is not None:
            self.recurrence.note_initial(np.asarray(x0, dtype=float).reshape(-1, self.system.n))

    # ------------------------------------------------------------------ labelling
    def label(self, out: dict[str, Any]) -> None:
        """Label the orbits of a chunk result ``out`` (``x_final``, ``status``, and ``period``
        for a map): set ``row``, ``rec``, ``status``, ``g`` and ``g_known`` (see the module
        docstring)."""
        x_final, original = out["x_final"], np.asarray(out["status"])
        if self.is_map:
            row, status, g, known = self.points.label(x_final, original, out["period"])
        else:
            row, status, g, known = self.points.label(x_final, original, out.get("stop_row"))
        rec = np.full(len(row), -1, dtype=np.int64)
        if self.recurrence is not None:
            todo = np.flatnonzero(np.isin(original, self.follow) & np.isfinite(x_final).all(axis=1))
            if todo.size:
                spread = np.isin(
                    original,
                    (Status.CONVERGED, Status.PERIODIC, Status.TIME_LIMIT, Status.MAX_STEPS),
                )
                self.recurrence.choose_cell_size(x_final[spread])
                self._follow(x_final, todo, row, rec, status, g, known)
        out["row"], out["rec"], out["status"], out["g"], out["g_known"] = (
            row,
            rec,
            status,
            g,
            known,
        )

    def _follow(self, x_final, todo, row, rec, status, g, known) -> None:
        labels = self.recurrence.follow(x_final[todo])
        for r in np.unique(labels[labels >= 0]):
            items = todo[labels == r]
            kind = self.recurrence.kind(int(r))
            if kind == "point" or (self.is_map and kind == "cycle"):
                point, code = self._adopt(int(r))
                row[items] = point
                status[items] = code
                if point >= 0 and not self.is_map:
                    self.points.settle_elements(x_final, items, row, g, known)
            else:
                rec[items] = r
                status[items] = Status.PERIODIC if kind == "cycle" else Status.RECURRENT
        failed = todo[labels < 0]
        status[failed] = -labels[labels < 0]

    def _adopt(self, r: int) -> tuple[int, int]:
        """The point (or map cycle) row of recurrence row ``r`` and the outcome of orbits
        there, verified once."""
        if r not in self._adopted:
            table = self.recurrence.table
            x = table["attractor_x"].values[r]
            if self.is_map:
                period = round(float(table["attractor_period"].values[r]))
                rows, outcome = self.points.verify(x[None], np.array([period]), "recurrence")
                point, code = int(rows[0]), int(outcome[0])
                if point >= 0:
                    settled = np.array([code], dtype=np.int8)
                    self.points.settle(rows, settled)
                    code = int(settled[0])
            else:
                point, code = self.points.adopt(x)
            self._adopted[r] = (point, code)
        return self._adopted[r]

    # ------------------------------------------------------------------ the table
    def recurrent_rows(self) -> np.ndarray:
        """Rows of the recurrence table that are attractors of their own (not points, and for
        a map not cycles: those are in the first table)."""
        if self.recurrence is None or not len(self.recurrence):
            return np.zeros(0, dtype=np.int64)
        kinds = self.recurrence.table["attractor_kind"].values[: len(self.recurrence)]
        own = kinds != "point"
        if self.is_map:
            own &= kinds != "cycle"
        return np.flatnonzero(own)

    def count(self) -> int:
        """The number of attractors."""
        return int(self.points.attracting().sum()) + len(self.recurrent_rows())

    def labels_of(self, row: np.ndarray, rec: np.ndarray, status: np.ndarray) -> np.ndarray:
        """Final labels: the attractor-table row for orbits at an attractor, minus the outcome
        code for the others."""
        ids = self.points.attractor_ids()
        label = -np.asarray(status, dtype=np.int64)
        at_point = (row >= 0) & np.isin(status, (Status.CONVERGED, Status.PERIODIC))
        label[at_point] = ids[row[at_point]]
        own = self.recurrent_rows()
        if own.size:
            rec_ids = np.full(len(self.recurrence), -1, dtype=np.int64)
            rec_ids[own] = int(self.points.attracting().sum()) + np.arange(own.size)
            at_set = rec >= 0
            label[at_set] = rec_ids[rec[at_set]]
        return label

    def rows(self, reference=None) -> list[AttractorRow]:
        """The attractors in the order of the table (``is_reference`` set for the point at a
        ``reference`` state)."""
        out = self._point_rows(set(self.reference_rows(reference).tolist()))
        if self.recurrence is not None:
            out += [self._recurrent_row(int(r)) for r in self.recurrent_rows()]
        return out

    def _energy(self, x: np.ndarray) -> float:
        system = self.system
        if not (system.is_gradient or getattr(system, "has_potential", False)):
            return np.nan
        return float(np.mean(system.potential(np.atleast_2d(x), self.params)))

    def _point_rows(self, refs: set[int]) -> list[AttractorRow]:
        n = self.system.n
        ids = self.points.attractor_ids()
        order = np.argsort(np.where(ids >= 0, ids, np.iinfo(np.int64).max))[: (ids >= 0).sum()]
        rows = []
        p = self.points
        for r in order:
            if self.is_map:
                q = int(p.period[r])
                mu = p.multipliers[r]
                with np.errstate(divide="ignore"):
                    lyap = np.sort(np.log(np.abs(mu)) / q)[::-1]
                pts = p.points[r]
                rows.append(
                    AttractorRow(
                        kind=str(p.kind[r]) if q == 1 else "cycle",
                        type="point" if q == 1 else "cycle",
                        x=pts[0],
                        origin=str(p.origin[r]),
                        index=int(p.index[r]),
                        nullity=int(p.nullity[r]),
                        residual=float(p.residual[r]),
                        energy=self._energy(pts),
                        period=float(q),
                        period_error=0.0,
                        period_method="exact",
                        eigenvalues=mu,
                        lyapunov=lyap,
                        lyapunov_stderr=np.zeros(n),
                        lyapunov_method="multipliers",
                        samples=pts,
                        where=pts.mean(axis=0),
                        is_reference=int(r) in refs,
                        descends=q == 1 and self.system.has_potential,
                    )
                )
                continue
            c = p.catalogue
            eig = c.eigenvalues[r]
            rows.append(
                AttractorRow(
                    kind=str(c.kind[r]),
                    type="point",
                    x=c.x[r],
                    origin=str(c.origin[r]),
                    index=int(c.index[r]),
                    nullity=int(c.nullity[r]),
                    residual=float(c.residual[r]),
                    energy=float(c.energy[r]),
                    eigenvalues=eig,
                    lyapunov=np.sort(eig.real)[::-1],
                    lyapunov_stderr=np.zeros(n),
                    lyapunov_method="eigenvalues",
                    samples=c.x[r][None],
                    where=c.canonical[r],
                    is_reference=int(r) in refs,
                )
            )
        return rows

    def _recurrent_row(self, r: int) -> AttractorRow:
        t = self.recurrence.table
        kind = str(t["attractor_kind"].values[r])
        drawn = t["attractor_samples"].values[r]
        drawn = drawn[np.isfinite(drawn).all(axis=1)]
        eig = (
            t["attractor_eigenvalue_real"].values[r] + 1j * t["attractor_eigenvalue_imag"].values[r]
        )
        cycle = kind == "cycle"
        row = AttractorRow(
            kind=kind,
            type=kind,
            x=t["attractor_x"].values[r],
            origin="recurrence",
            index=0 if cycle else -1,
            nullity=0 if cycle else -1,
            residual=float(t["attractor_residual"].values[r]),
            energy=self._energy(drawn) if len(drawn) else np.nan,
            period=float(t["attractor_period"].values[r]),
            period_error=float(t["attractor_period_error"].values[r]),
            period_method="poincare returns" if cycle else "",
            eigenvalues=eig,
            lyapunov=t["attractor_lyapunov"].values[r],
            lyapunov_stderr=t["attractor_lyapunov_stderr"].values[r],
            lyapunov_method=str(t["attractor_lyapunov_method"].values[r]),
            samples=drawn,
            note=str(t["attractor_note"].values[r]),
            where=drawn.mean(axis=0) if len(drawn) else t["attractor_x"].values[r],
        )
        if cycle and not self.is_map and self.options.refine_cycles:
            for name, value in self._refine(r, row).items():
                setattr(row, name, value)
        return row

    def _refine(self, r: int, row: AttractorRow) -> dict[str, Any]:
        """The collocation of cycle ``r`` of the recurrence table (once): the fields of its
        row that change."""
        if r in self._refined:
            return self._refined[r]
        from ..cycles import find_periodic_orbit

        n = self.system.n
        found = find_periodic_orbit(
            self.system, row.x, row.period, params=self.params, options=self.options.cycles
        )
        if int(found["status"]) != Status.CONVERGED:
            why = found.attrs.get("message", "") or Status(int(found["status"])).name.lower()
            note = f"collocation did not converge ({why}): period from Poincare returns"
            self._refined[r] = {"note": "; ".join(s for s in (row.note, note) if s)}
            return self._refined[r]
        period = float(found["period"])
        trivial = complex(float(found["trivial_multiplier"]), 0.0)
        mu = found["multiplier_real"].values + 1j * found["multiplier_imag"].values
        mu = np.concatenate([[trivial], mu])
        mu = mu[np.lexsort((-mu.imag, -mu.real, -np.abs(mu)))]
        with np.errstate(divide="ignore"):
            exponents = np.sort(np.log(np.abs(mu)) / period)[::-1]
        error = float(found["period_error_estimate"])
        out: dict[str, Any] = {
            "period": period,
            "period_error": error,
            "period_method": "collocation",
            "eigenvalues": mu,
            "lyapunov": exponents,
            "lyapunov_stderr": np.zeros(n),
            "residual": float(found["residual"]),
        }
        if not bool(found["stable"]):
            out["note"] = "; ".join(
                s
                for s in (
                    row.note,
                    "collocation finds a Floquet multiplier on or outside the unit circle",
                )
                if s
            )
        self._refined[r] = out
        return out

    def attrs(self) -> dict[str, Any]:
        """What a result records about the attractors looked for."""
        out: dict[str, Any] = {
            "dynamics": "map" if self.is_map else "flow",
            "attractor_kinds_used": self.kinds,
        }
        if self.recurrence is not None:
            out.update(self.recurrence.attrs())
        return out
