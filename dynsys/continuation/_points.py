"""The points of a run held as arrays (private).

A run of a problem that monitors in batches (``monitor_many``) keeps what the predictor-corrector
stepped (unknowns, unit tangents, corrector iterations, bordered determinants, state Jacobians)
and, once monitored, the monitored values, column by column. :class:`Points` is a sequence of
:class:`~dynsys.continuation._palc.Point` that makes a Point only for a row code asks for (the
brackets of special points, the start of a switched branch): the test functions of a whole run,
its arclength and its branch Dataset read the columns, so a run of hundreds of points costs a few
array operations instead of hundreds of Python objects. The values are those the Points would
hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._palc import Point

__all__ = ["Points", "as_points", "det_signs", "monitor_points", "monitored", "tangent_params"]

Data = dict[str, np.ndarray] | list[dict[str, Any]]
"""Monitored data of the rows: columns (arrays over the rows) or rows (one dict a point)."""

_DATA_KEYS = ("eig", "index", "nullity", "kind", "complete", "inertia", "raw_unstable", "hopf")
"""The keys of a monitored row made from columns, in the order the problem's dicts have them."""


class Points(Sequence):
    """Points of a run: ``u``, ``t`` ``(N, m)``, ``iterations``, ``det_sign`` (int64) and
    ``det_log`` (float64) ``(N,)``; the state Jacobians still to monitor (``pending``: a stack
    ``(N, n, n)`` from the compiled loop, else a list; None once monitored); the monitored
    data, as columns (a dict of arrays over the rows, keys as the problem's monitored dicts) or
    as rows (one dict a point).
    """

    def __init__(
        self,
        u: np.ndarray,
        t: np.ndarray,
        iterations: np.ndarray,
        det_sign: np.ndarray,
        det_log: np.ndarray,
        pending: np.ndarray | list | None = None,
        data: Data | None = None,
    ) -> None:
        self.u = u
        self.t = t
        self.iterations = iterations
        self.det_sign = det_sign
        self.det_log = det_log
        self.pending = pending
        self.data = data
        self._made: dict[int, Point] = {}

    @classmethod
    def of(cls, points: Sequence[Point]) -> Points:
        """The Points of ``points`` (made ones: they stay the rows' Points), all of them pending
        or all of them monitored."""
        if isinstance(points, Points):
            return points
        m = points[0].u.size if len(points) else 0
        waiting = [p.pending for p in points]
        pending = None
        if any(J is None for J in waiting) and any(J is not None for J in waiting):
            raise AssertionError("points held as arrays are all pending or all monitored")
        if all(J is not None for J in waiting) and waiting:
            pending = waiting  # stacked only if monitored in one batch (monitor_points)
        out = cls(
            np.array([p.u for p in points], dtype=float).reshape(len(points), m),
            np.array([p.t for p in points], dtype=float).reshape(len(points), m),
            np.array([p.iterations for p in points], dtype=np.int64),
            np.array([p.det_sign for p in points], dtype=np.int64),
            np.array([p.det_log for p in points], dtype=float),
            pending,
            None if pending is not None else [p.data for p in points],
        )
        out._made = dict(enumerate(points))
        return out

    @classmethod
    def one(cls, point: Point) -> Points:
        """The Points of one pending ``point`` with a dense state Jacobian."""
        return cls(
            point.u[None],
            point.t[None],
            np.array([point.iterations], dtype=np.int64),
            np.array([point.det_sign], dtype=np.int64),
            np.array([point.det_log], dtype=float),
            point.pending[None],
        )

    def __len__(self) -> int:
        return self.u.shape[0]

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = range(len(self))[k]  # from the end when negative; IndexError when out of range
        point = self._made.get(k)
        if point is None:
            point = Point(
                self.u[k],
                self.t[k],
                int(self.iterations[k]),
                int(self.det_sign[k]),
                float(self.det_log[k]),
                self._row(k),
                None if self.pending is None else self.pending[k],
            )
            self._made[k] = point
        return point

    def _row(self, k: int) -> dict[str, Any]:
        """The monitored dict of row ``k`` ({} while pending)."""
        if self.data is None:
            return {}
        if isinstance(self.data, list):
            return self.data[k]
        return {key: _scalar(self.data[key], k) for key in _DATA_KEYS if key in self.data}

    def column(self, key: str) -> np.ndarray:
        """The monitored value ``key`` of every row."""
        if isinstance(self.data, dict):
            return self.data[key]
        if self.data is None:
            raise AssertionError("the points are not monitored yet")
        return np.array([row[key] for row in self.data])

    def monitored(self, data: Data) -> None:
        """Set the monitored data (columns or rows), also on the Points made so far."""
        self.data, self.pending = data, None
        for k, point in self._made.items():
            point.data, point.pending = self._row(k), None

    def rows(self, start: int, stop: int, step: int = 1, *, flip: bool = False) -> Points:
        """Rows ``start:stop:step`` as new Points (``flip``: tangents and determinant signs
        negated, as a run read backward)."""
        part = slice(start, stop, step)
        sign = -1 if flip else 1
        data = self.data
        if isinstance(data, dict):
            data = {key: value[part] for key, value in data.items()}
        elif data is not None:
            data = data[part]
        pending = self.pending[part] if self.pending is not None else None
        return Points(
            self.u[part],
            -self.t[part] if flip else self.t[part],
            self.iterations[part],
            sign * self.det_sign[part],
            self.det_log[part],
            pending,
            data,
        )

    @staticmethod
    def concatenate(parts: list[Points]) -> Points:
        """The rows of ``parts`` one after the other (all pending, or all monitored alike)."""
        first = parts[0]
        data = first.data
        if isinstance(data, dict):
            data = {key: np.concatenate([p.data[key] for p in parts]) for key in data}
        elif data is not None:
            data = [row for p in parts for row in p.data]
        pending = None
        if first.pending is not None:
            if isinstance(first.pending, np.ndarray):
                pending = np.concatenate([p.pending for p in parts])
            else:
                pending = [J for p in parts for J in p.pending]
        return Points(
            np.concatenate([p.u for p in parts]),
            np.concatenate([p.t for p in parts]),
            np.concatenate([p.iterations for p in parts]),
            np.concatenate([p.det_sign for p in parts]),
            np.concatenate([p.det_log for p in parts]),
            pending,
            data,
        )


def _scalar(column: np.ndarray, k: int):
    """Row ``k`` of a column as the monitored dicts hold it: a Python scalar, or a row view of
    a 2-D column (the eigenvalues)."""
    value = column[k]
    return value if column.ndim > 1 else value.item()


def as_points(points: Sequence[Point]) -> Points:
    """``points`` as :class:`Points` (a list of Points is gathered into arrays)."""
    return Points.of(points)


def monitor_points(problem, parts: list[Points]) -> None:
    """Monitor the pending rows of ``parts`` in one batch: as columns where the problem gives
    them (``monitor_columns``: all the Jacobians in one call), else as the rows of its
    ``monitor_many``."""
    parts = [p for p in parts if p.pending is not None]
    if not parts:
        return
    sizes = [len(p) for p in parts]
    columns = None
    by_columns = getattr(problem, "monitor_columns", None)
    if by_columns is not None:
        if all(isinstance(p.pending, np.ndarray) for p in parts):  # stacks already
            stack = (
                parts[0].pending if len(parts) == 1 else np.concatenate([p.pending for p in parts])
            )
        else:
            stack = [J for p in parts for J in p.pending]
        columns = by_columns(stack)
    start = 0
    if columns is not None:
        for part, size in zip(parts, sizes, strict=True):
            part.monitored({key: value[start : start + size] for key, value in columns.items()})
            start += size
        return
    us = [u for p in parts for u in p.u]
    rows = problem.monitor_many(us, [J for p in parts for J in p.pending])
    for part, size in zip(parts, sizes, strict=True):
        part.monitored(rows[start : start + size])
        start += size


def tangent_params(points: Sequence[Point]):
    """The parameter component of the tangent of every point."""
    if isinstance(points, Points):
        return points.t[:, -1]
    return [p.t[-1] for p in points]


def det_signs(points: Sequence[Point]):
    """The sign of the bordered determinant at every point."""
    if isinstance(points, Points):
        return points.det_sign
    return [p.det_sign for p in points]


def monitored(points: Sequence[Point], key: str):
    """The monitored value ``key`` of every point."""
    if isinstance(points, Points):
        return points.column(key)
    return [p.data[key] for p in points]
