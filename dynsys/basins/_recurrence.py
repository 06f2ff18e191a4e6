"""Orbits that do not settle on a point, followed on by recurrence in a grid of cells.

The end states of such orbits are first labelled with the attractors this computation already
knows (:func:`dynsys.attractors.label_states`: within a cell diagonal of a point or of a cycle up
to phase, or in a cell of a recurrent set); the others are followed on from where they ended by
:func:`dynsys.attractors.find_attractors`, given the attractors known so far (``known``), so that
orbits that reach one are recognised and new attractors are numbered after the known ones. The
table of attractors found this way grows over the rounds of a computation; it runs in the main
process, after the chunks (the chunks hold only the orbits' end states).

The grid's cell size is ``options.cell_size`` when given; otherwise it is chosen once, from the
spread of the initial states and of the first end states seen (:func:`automatic_cell_size`), and
recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._points import relative_scale
from .._status import Status
from ..attractors import AttractorOptions, find_attractors, label_states

__all__ = ["Recurrence", "automatic_cell_size"]


def automatic_cell_size(states: np.ndarray, cells_across: int) -> tuple[float, str]:
    """The automatic cell size and the rule that gave it: the largest spread (max - min per
    state) of the finite ``states (k, n)`` (initial and end states of the orbits) over
    ``cells_across``; ``0.01 max(1, |x|_inf)`` when they all coincide (or none is finite: then
    0.01).

    Examples
    --------
    >>> size, rule = automatic_cell_size(np.array([[0.0, 1.0], [2.0, 0.0]]), 50)
    >>> size, rule
    (0.04, 'auto: largest spread of the initial and end states (2) / cells_across (50)')
    """
    finite = states[np.isfinite(states).all(axis=1)]
    spread = float(np.ptp(finite, axis=0).max()) if len(finite) else 0.0
    if spread > 0:
        return spread / cells_across, (
            f"auto: largest spread of the initial and end states ({spread:.6g}) / cells_across "
            f"({cells_across})"
        )
    scale = float(relative_scale(finite).max()) if len(finite) else 1.0
    return 0.01 * scale, "auto: the initial and end states coincide; 0.01 max(1, |x|_inf)"


class Recurrence:
    """The attractors found by recurrence in one basin computation (at one parameter point),
    and the labelling of end states with them."""

    def __init__(
        self, system, params: Mapping[str, Any], options: AttractorOptions, cells_across: int
    ) -> None:
        self.system = system
        self.params = dict(params)
        self.options = options
        self.cells_across = cells_across
        self.rule = "given" if options.cell_size is not None else ""
        self.initial = np.zeros((0, system.n))  # the corners of the initial states' box
        self.table: xr.Dataset | None = None
        self.n_followed = 0
        self.n_searched = 0

    def note_initial(self, x0: np.ndarray) -> None:
        """Remember the box of initial states ``x0 (k, n)`` for the automatic cell size."""
        finite = x0[np.isfinite(x0).all(axis=1)]
        if len(finite):
            box = np.stack([finite.min(axis=0), finite.max(axis=0)])
            self.initial = np.concatenate([self.initial, box])

    def choose_cell_size(self, x_end: np.ndarray) -> None:
        """Fix the automatic cell size from end states ``x_end`` and the initial states (once)."""
        if self.options.cell_size is not None:
            return
        states = np.concatenate([self.initial, x_end])
        size, self.rule = automatic_cell_size(states, self.cells_across)
        self.options = self.options.replace(cell_size=(size,))

    @property
    def cell_size(self) -> np.ndarray | None:
        """The cell size used (per state), None before it was chosen."""
        if self.options.cell_size is None:
            return None
        return np.broadcast_to(np.asarray(self.options.cell_size, dtype=float), (self.system.n,))

    def __len__(self) -> int:
        return 0 if self.table is None else int(self.table.attrs["n_attractors"])

    def kind(self, row: int) -> str:
        """The kind of attractor ``row`` of the table (point, cycle, chaotic, ...)."""
        return str(self.table["attractor_kind"].values[row])

    def follow(self, x_end: np.ndarray) -> np.ndarray:
        """Label the orbits ending at ``x_end (k, n)``: the row of the attractor each reaches in
        :attr:`table`, or minus the outcome code of the search."""
        self.choose_cell_size(x_end)
        labels = np.full(len(x_end), -int(Status.UNMATCHED), dtype=np.int64)
        if self.table is not None and len(self):
            labels = label_states(self.table, x_end)
        todo = np.flatnonzero(labels == -int(Status.UNMATCHED))
        self.n_followed += len(x_end)
        if todo.size:
            found = find_attractors(
                self.system, x_end[todo], params=self.params, options=self.options, known=self.table
            )
            labels[todo] = found["label"].values
            self.table = found
            self.n_searched += todo.size
        return labels

    def attrs(self) -> dict[str, Any]:
        """What a result records about the recurrence phase."""
        size = self.cell_size
        return {
            "recurrence_cell_size_used": np.nan if size is None else float(size.max()),
            "recurrence_cell_rule": self.rule or "not needed: every orbit settled on a point",
            "recurrence_n_followed": self.n_followed,
            "recurrence_n_searched": self.n_searched,
        }
