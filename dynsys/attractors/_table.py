"""The attractors known to one search: their descriptions and the cells each one owns.

Every cell belongs to at most one attractor. A new description whose cells overlap those of a
known attractor of the same kind is that attractor (two recurrent sets that share a cell are one
at the resolution of the grid); one of another kind is kept apart, owns only its free cells, and
both carry a note that the grid is too coarse to separate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._status import Status
from ._grid import CellGrid

__all__ = ["KINDS", "Attractor", "AttractorTable", "status_of_kind"]

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

    def add(self, attractor: Attractor) -> int:
        """Register ``attractor``; return its row (an existing row if it is a known one)."""
        keys = [c.tobytes() for c in np.ascontiguousarray(attractor.cells, dtype=np.int64)]
        shared = {self.owner[k] for k in keys if k in self.owner}
        same = sorted(j for j in shared if self.items[j].kind == attractor.kind)
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
            hint = "of another kind; refine cell_size to separate them"
            self.items[j].notes.append(f"shares cells with attractor {row} {hint}")
            attractor.notes.append(f"shares cells with attractor {j} {hint}")
        free = [k for k in keys if k not in self.owner]
        for k in free:
            self.owner[k] = row
        attractor.cells = self.grid.decode(free) if free else attractor.cells[:0]
        self.items.append(attractor)
        return row
