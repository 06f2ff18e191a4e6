"""The recurrence test of one orbit, fed its cells sample by sample.

In the search phase an orbit records the cells it visits. A sample in a cell it has visited
before extends a run of revisits; a new cell ends the run. A run of ``recurrence_count``
revisits means the orbit has settled on a recurrent set of the grid: it enters the collect
phase, where its next ``collect_samples`` samples are kept to describe that set. In both phases
a run of ``recognition_count`` samples in cells of one known attractor labels the orbit with it,
and a run of ``max_outside`` samples outside a bounded grid ends it as escaped.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COLLECTED", "ESCAPED", "RECOGNISED", "OrbitScan"]

RECOGNISED, COLLECTED, ESCAPED = "recognised", "collected", "escaped"


class OrbitScan:
    """State of the recurrence test of one orbit."""

    __slots__ = ("collected", "known", "known_run", "n_samples", "outside", "run", "visited")

    def __init__(self) -> None:
        self.visited: set[bytes] = set()
        self.run = 0  # consecutive samples in cells visited before
        self.known = -1  # the known attractor whose cells the last samples were in
        self.known_run = 0
        self.outside = 0
        self.collected: list[np.ndarray] | None = None  # samples of the collect phase
        self.n_samples = 0

    def restart_search(self) -> None:
        """Back to the search phase (the collected samples did not settle)."""
        self.collected = None
        self.run = 0

    def scan(self, keys, samples: np.ndarray, owner: dict, options) -> tuple[str, int, int]:
        """Feed samples ``(m, n)`` with cell keys (None outside the grid).

        Returns ``(event, row, used)``: ``event`` is ``RECOGNISED`` (``row`` the attractor),
        ``COLLECTED`` (the samples are in :attr:`collected`), ``ESCAPED`` or ``""`` (all
        samples used, nothing decided); ``used`` counts the samples consumed.
        """
        visited, collected = self.visited, self.collected
        for i, key in enumerate(keys):
            self.n_samples += 1
            if collected is not None:
                collected.append(samples[i])
            if key is None:
                self.outside += 1
                self.run = self.known_run = 0
                if self.outside >= options.max_outside:
                    return ESCAPED, -1, i + 1
                continue
            self.outside = 0
            row = owner.get(key)
            if row is None:
                self.known_run = 0
            else:
                self.known_run = self.known_run + 1 if row == self.known else 1
                self.known = row
                if self.known_run >= options.recognition_count:
                    return RECOGNISED, row, i + 1
            if collected is not None:
                if len(collected) >= options.collect_samples:
                    return COLLECTED, -1, i + 1
            elif key in visited:
                self.run += 1
                if self.run >= options.recurrence_count:
                    self.collected = collected = []
            else:
                visited.add(key)
                self.run = 0
        return "", -1, len(keys)
