"""The attractors known to one search: their descriptions and the cells each one owns.

Every cell belongs to at most one attractor. A new description whose cells overlap those of a
known attractor is that attractor when they are the same object: the same point (within
``1e-8 max(1, |x|_inf)``), the same cycle (equal periods to ``1e-6`` relative, and the new
point within a cell diagonal of the known cycle's points), or recurrent sets of the same kind
(two that share a cell are one at the resolution of the grid). Otherwise the new one is kept
apart and owns only its free cells, and both carry a note that the grid is too coarse to
separate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._points import relative_scale
from .._status import Status
from ._grid import CellGrid

__all__ = ["KINDS", "Attractor", "AttractorTable", "status_of_kind", "table_from_dataset"]

_SAME_POINT = 1e-8  # relative distance of two descriptions of one point
_SAME_PERIOD = 1e-6  # relative difference of the periods of two descriptions of one cycle

KINDS = ("point", "cycle", "chaotic", "quasi-periodic", "recurrent")
"""Kinds of attractors: a fixed point, a periodic orbit, and recurrent sets whose largest
Lyapunov exponent is positive, zero, or not resolved."""


def status_of_kind(kind: str) -> int:
    """The outcome of an orbit that settles on an attractor of this kind."""
    if kind == "point":
        return int(Status.CONVERGED)
    if kind == "cycle":
        return int(Status.PERIODIC)
    return int(Status.RECURRENT)


@dataclass
class Attractor:
    """The description of one attractor (see :func:`~dynsys.attractors.find_attractors`)."""

    kind: str
    x: np.ndarray  # a point on it: the fixed point, a point of the cycle, a sample of the set
    samples: np.ndarray  # points on it, (m, n)
    cells: np.ndarray  # the cells it owns, (c, n) int64
    period: float = np.nan
    period_error: float = np.nan
    residual: float = np.nan
    eigenvalues: np.ndarray | None = None  # Jacobian eigenvalues (flow points) or multipliers
    lyapunov: np.ndarray | None = None
    lyapunov_stderr: np.ndarray | None = None
    lyapunov_method: str = ""
    section_normal: np.ndarray | None = None  # flows' cycles: the Poincare section's normal
    notes: list[str] = field(default_factory=list)


class AttractorTable:
    """Known attractors and the cell -> attractor map used to recognise them."""

    def __init__(self, grid: CellGrid) -> None:
        self.grid = grid
        self.items: list[Attractor] = []
        self.owner: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _same(self, known: Attractor, new: Attractor) -> bool:
        if known.kind != new.kind:
            return False
        if new.kind == "point":
            return bool(np.linalg.norm(known.x - new.x) <= _SAME_POINT * relative_scale(new.x))
        if new.kind == "cycle":
            if abs(known.period - new.period) > _SAME_PERIOD * known.period:
                return False
            gap = np.linalg.norm(known.samples - new.x, axis=1).min()
            return bool(gap <= np.linalg.norm(self.grid.cell_size))
        return True

    def add(self, attractor: Attractor) -> int:
        """Register ``attractor``; return its row (an existing row if it is a known one)."""
        keys = [c.tobytes() for c in np.ascontiguousarray(attractor.cells, dtype=np.int64)]
        shared = {self.owner[k] for k in keys if k in self.owner}
        candidates = shared
        if attractor.kind in ("point", "cycle"):  # a point or cycle is compared with all
            candidates = shared | {j for j, a in enumerate(self.items) if a.kind == attractor.kind}
        same = sorted(j for j in candidates if self._same(self.items[j], attractor))
        if same:
            row = same[0]
            known = self.items[row]
            new = [k for k in keys if k not in self.owner]
            for k in new:
                self.owner[k] = row
            if new:
                known.cells = np.concatenate([known.cells, self.grid.decode(new)])
            return row
        row = len(self.items)
        for j in sorted(shared):
            hint = "(another attractor); refine cell_size to separate them"
            self.items[j].notes.append(f"shares cells with attractor {row} {hint}")
            attractor.notes.append(f"shares cells with attractor {j} {hint}")
        free = [k for k in keys if k not in self.owner]
        for k in free:
            self.owner[k] = row
        attractor.cells = self.grid.decode(free) if free else attractor.cells[:0]
        self.items.append(attractor)
        return row


def table_from_dataset(ds, grid: CellGrid) -> AttractorTable:
    """The table of a :func:`~dynsys.attractors.find_attractors` result ``ds`` (its attractor
    rows, in order, with the cells each owns), to be extended by a new search on ``grid``.

    Raises
    ------
    InputError
        If ``ds`` is not such a result, or its grid differs from ``grid``.
    """
    from ..errors import InputError

    needed = ("attractor_kind", "attractor_x", "attractor_samples", "cell_index", "cell_size")
    if any(name not in ds for name in needed):
        raise InputError(
            "`known` must be a result of dynsys.attractors.find_attractors (a Dataset with "
            f"{', '.join(needed)})."
        )
    size, origin = ds["cell_size"].values, ds["grid_origin"].values
    same = size.shape == grid.cell_size.shape and np.array_equal(size, grid.cell_size)
    same = same and np.array_equal(origin, grid.origin)
    if not same or ("grid_low" in ds) != grid.bounded:
        raise InputError(
            "`known` was found on another grid (cell_size, grid_low/grid_high); search with the "
            f"options it was found with (cell_size = {size.tolist()})."
        )
    table = AttractorTable(grid)
    rows = ds["attractor"].values
    cells = np.asarray(ds["cell_index"].values, dtype=np.int64)
    owner = ds["cell_attractor"].values
    eig = ds["attractor_eigenvalue_real"].values + 1j * ds["attractor_eigenvalue_imag"].values
    for j in np.flatnonzero(rows >= 0):
        row = int(rows[j])
        drawn = ds["attractor_samples"].values[j]
        item = Attractor(
            str(ds["attractor_kind"].values[j]),
            x=ds["attractor_x"].values[j],
            samples=drawn[np.isfinite(drawn).all(axis=1)],
            cells=cells[owner == row],
            period=float(ds["attractor_period"].values[j]),
            period_error=float(ds["attractor_period_error"].values[j]),
            residual=float(ds["attractor_residual"].values[j]),
            eigenvalues=eig[j],
            lyapunov=ds["attractor_lyapunov"].values[j],
            lyapunov_stderr=ds["attractor_lyapunov_stderr"].values[j],
            lyapunov_method=str(ds["attractor_lyapunov_method"].values[j]),
            section_normal=ds["attractor_section_normal"].values[j],
            notes=[s for s in str(ds["attractor_note"].values[j]).split("; ") if s],
        )
        if row != len(table.items):
            raise InputError("`known`: attractor rows must be 0, 1, ... in order.")
        table.items.append(item)
        for key in item.cells:
            table.owner[key.tobytes()] = row
    return table
