"""The grid of cells in which recurrence is detected.

A cell is the integer vector ``floor((x - origin) / cell_size)``; it is stored as the bytes of
that ``int64`` vector, a hashable key, so the visited cells of any dimension live in a plain
dict. The grid is unbounded (cells centred on the multiples of the cell size) unless the user
bounds it; outside a bounded grid a state has no cell.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._options import AttractorOptions

__all__ = ["CellGrid"]


def _per_state(values, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.size == 1:
        return np.full(n, float(arr.ravel()[0]))
    if arr.size != n:
        raise InputError(
            f"AttractorOptions.{name} has {arr.size} values; give one value or one per state "
            f"({n} for this system)."
        )
    return arr.astype(float)


class CellGrid:
    """Cells of side ``cell_size`` (per state), unbounded or within ``[low, high]``.

    Examples
    --------
    >>> grid = CellGrid(np.array([0.5, 0.5]))
    >>> grid.cells(np.array([[0.2, -0.3], [0.26, 1.0]])).tolist()
    [[0, -1], [1, 2]]
    """

    def __init__(self, cell_size: np.ndarray, low=None, high=None) -> None:
        self.cell_size = np.asarray(cell_size, dtype=float)
        self.n = self.cell_size.size
        self.bounded = low is not None
        if self.bounded:
            self.low = np.asarray(low, dtype=float)
            self.high = np.asarray(high, dtype=float)
            self.origin = self.low
        else:
            self.low = self.high = None
            self.origin = -0.5 * self.cell_size

    @classmethod
    def from_options(cls, options: AttractorOptions, n: int) -> CellGrid:
        """The grid of ``options`` for a system with ``n`` states (checked against ``n``)."""
        if options.cell_size is None:
            raise InputError(
                "AttractorOptions.cell_size is required: the edge of a grid cell (one value, or "
                "one per state). Take it small against the distance between attractors and "
                "large against the distance an orbit moves in one sample, e.g. "
                "AttractorOptions(cell_size=0.05)."
            )
        size = _per_state(options.cell_size, n, "cell_size")
        if options.grid_low is None:
            return cls(size)
        low = _per_state(options.grid_low, n, "grid_low")
        high = _per_state(options.grid_high, n, "grid_high")
        return cls(size, low, high)

    def cells(self, x: np.ndarray) -> np.ndarray:
        """Integer cell vectors ``(..., n)`` of states ``(..., n)`` (finite states only)."""
        return np.floor((x - self.origin) / self.cell_size).astype(np.int64)

    def inside(self, x: np.ndarray) -> np.ndarray:
        """Which states ``(..., n)`` lie in the grid (all finite ones for an unbounded grid)."""
        finite = np.isfinite(x).all(axis=-1)
        if not self.bounded:
            return finite
        return finite & np.all((x >= self.low) & (x <= self.high), axis=-1)

    def keys(self, x: np.ndarray) -> list[bytes | None]:
        """Hashable cell keys of states ``(m, n)``; None outside the grid."""
        inside = self.inside(x)
        cells = self.cells(np.where(inside[:, None], x, 0.0))
        return [c.tobytes() if ok else None for c, ok in zip(cells, inside, strict=True)]

    def unique_cells(self, x: np.ndarray) -> np.ndarray:
        """The distinct cells ``(c, n)`` of the states ``(m, n)`` that lie in the grid."""
        x = np.asarray(x, dtype=float).reshape(-1, self.n)
        return np.unique(self.cells(x[self.inside(x)]), axis=0).reshape(-1, self.n)

    def key_array(self, cells: np.ndarray) -> np.ndarray:
        """Cell vectors ``(m, n)`` as a 1-D array of fixed-size byte strings (for np.isin)."""
        cells = np.ascontiguousarray(cells, dtype=np.int64).reshape(-1, self.n)
        return cells.view(np.dtype((np.void, 8 * self.n))).ravel()

    def centres(self, cells: np.ndarray) -> np.ndarray:
        """Centres of cells ``(m, n)``."""
        return self.origin + (np.asarray(cells, dtype=float) + 0.5) * self.cell_size

    @staticmethod
    def decode(keys) -> np.ndarray:
        """Cell vectors ``(m, n)`` from keys."""
        keys = list(keys)
        if not keys:
            return np.zeros((0, 0), dtype=np.int64)
        return np.frombuffer(b"".join(keys), dtype=np.int64).reshape(len(keys), -1)
