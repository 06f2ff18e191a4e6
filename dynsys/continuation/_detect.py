"""Special points of a run: test functions compared between neighbouring points, then each sign
change located along the branch by Illinois regula falsi in arclength (or bisection for integer
tests), every trial point corrected back onto the branch.

A located point has status CONVERGED. One that could not be located to ``locate_tol`` has status
MAX_ITER: ``locate_max_iter`` ran out, or the location could not go on (the test function is not
finite, does not change sign on the re-evaluated bracket, or the corrector fails next to the
point); it is then the best estimate found, known to lie in its bracket."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._status import Status
from ._linalg import SingularMatrixError
from ._palc import (
    MIN_COS_TURN,
    Point,
    Run,
    _point,
    complete_monitoring,
    corrected,
    evaluate,
)

__all__ = ["Special", "describe_specials", "find_specials"]

_MAX_LOG_RATIO = 700.0  # keep exp() of determinant ratios finite
_MAX_APPROACH = 12  # halvings when approaching a trial point from the nearest known one
_NOT_LOCATED = Status.MAX_ITER  # the status of a special point that could not be located


@dataclass
class Special:
    """A located special point: its type, the run interval ``[step, step + 1]`` that bracketed
    it, the point, whether the location converged (CONVERGED or MAX_ITER), and normal-form
    data."""

    type: str
    step: int
    point: Point
    status: Status
    info: dict[str, Any] = field(default_factory=dict)


class _Branch:
    """Points on the branch at arclength offset ``s`` from ``left``: solutions of ``G(u) = 0``,
    ``left.t . (u - left.u) = s``. Newton starts from the nearest point already found, moved
    along its tangent, so trial points stay on this branch even next to a branch point.

    Problems that monitor in batches (``monitor_many``) get the monitored data of a trial point
    only when a test function reads it (:meth:`complete`): locating a fold or a branch point
    needs none."""

    def __init__(self, problem, left: Point, right: Point, options) -> None:
        self.problem = problem
        self.options = options
        self.defer = hasattr(problem, "monitor_many")
        self.t = left.t
        self.left_u = left.u
        self.span = float(left.t @ (right.u - left.u))
        problem.anchor(left)
        try:
            self.left = evaluate(problem, left.u, left.t, left.iterations, defer=self.defer)
        except SingularMatrixError:
            self.left = left
        else:
            if self.defer and left.pending is None:  # the same state and Jacobian: its data
                self.left.data, self.left.pending = left.data, None
        self.right = right
        self.known: list[tuple[float, Point]] = [(0.0, self.left), (self.span, right)]

    def _solve(self, s: float) -> Point | None:
        """The point at offset ``s`` by Newton from the nearest known point; ``None`` when Newton
        fails or the result looks like another branch (it lies farther from its start than the
        offset allows, or its tangent turned by more than ~26 degrees from the nearest point's
        or the bracket's)."""
        s_near, near = min(self.known, key=lambda item: abs(item[0] - s))
        slope = float(self.t @ near.t)
        guess = near.u + ((s - s_near) / slope if slope > 0.1 else 0.0) * near.t
        point = self._corrected(guess, float(self.t @ self.left_u) + s)
        if point is None:
            return None
        allowed = 0.5 * abs(s - s_near) + 100.0 * self.options.newton.step_tol * (
            1.0 + float(np.abs(point.u).max())
        )
        jump = point.u - guess
        if math.sqrt(jump.dot(jump)) > allowed:  # np.linalg.norm's value, without its checks
            return None
        if point.det_sign == 0:  # exactly at a branch point: no tangent to compare
            return point
        # compared with the bracket's tangent too: next to a branch point, points of the
        # crossing branch would otherwise be accepted one after another, each close to the last
        if min(float(point.t @ near.t), float(point.t @ self.t)) < MIN_COS_TURN:
            return None
        return point

    def _corrected(self, guess: np.ndarray, target: float) -> Point | None:
        """Newton from ``guess`` onto ``self.t . u = target``, and the point there; ``None``
        when Newton fails. Where the bordered Jacobian is singular (exactly at a branch point)
        the point has ``det_sign`` 0, ``det_log`` -inf and the bracket's tangent."""
        found = corrected(
            self.problem, guess, self.t, target, self.t, self.options, defer=self.defer
        )
        if found is None:
            return None
        u, iterations, point = found
        if point is not None:
            return point
        _, J = self.problem.linearization(u)
        return _point(self.problem, u, self.t, iterations, 0, -np.inf, J, self.defer)

    def complete(self, point: Point, keys=None) -> Point:
        """``point`` with its monitored data: all of it, or at least the values ``keys`` (then
        the rest may be filled in later)."""
        if point.pending is None:
            return point
        partial = getattr(self.problem, "monitor_partial", None)
        if keys is not None and partial is not None:
            if all(key in point.data for key in keys):
                return point
            data = partial(point.u, point.pending, keys)
            if data is not None:
                point.data = data  # pending stays: complete() fills in the rest
                return point
        complete_monitoring(self.problem, [point])
        return point

    def at(self, s: float) -> Point | None:
        """The point at offset ``s``, approached in halved steps from the nearest known point
        when a direct correction fails."""
        if s == self.span:
            return self.right
        for _ in range(_MAX_APPROACH):
            point = self._solve(s)
            if point is not None:
                self.known.append((s, point))
                return point
            s_near = min(self.known, key=lambda item: abs(item[0] - s))[0]
            middle = 0.5 * (s_near + s)
            if middle in (s_near, s):
                return None
            step = self._solve(middle)
            if step is None:
                return None
            self.known.append((middle, step))
        return None


def _value_function(detector, branch: _Branch):
    value = detector["value"]
    if value == "det":
        reference = branch.left

        def det(pt: Point) -> float:
            ratio = np.clip(pt.det_log - reference.det_log, -_MAX_LOG_RATIO, _MAX_LOG_RATIO)
            return pt.det_sign * float(np.exp(ratio))

        return det
    keys = detector.get("data")
    if keys is not None and not keys:
        return lambda pt: float(value(pt))
    return lambda pt: float(value(branch.complete(pt, keys)))


def _nearest_zero(branch: _Branch, fn) -> Point:
    """Of the points found on the branch so far, the one where ``|fn|`` is smallest."""
    scored = [(abs(fn(p)), s) for s, p in branch.known]
    finite = [(v, s) for v, s in scored if np.isfinite(v)]
    s_best = min(finite)[1] if finite else branch.span
    return next(p for s, p in branch.known if s == s_best)


def _illinois(branch: _Branch, fn, options) -> tuple[Point, Status]:
    s0, s1 = 0.0, branch.span
    f0, f1 = fn(branch.left), fn(branch.right)
    best = branch.left if abs(f0) <= abs(f1) else branch.right
    if not (np.isfinite(f0) and np.isfinite(f1) and f0 * f1 < 0):
        return best, _NOT_LOCATED
    tol = options.locate_tol * abs(branch.span)
    for _ in range(options.locate_max_iter):
        s2 = s1 - f1 * (s1 - s0) / (f1 - f0)
        low, high = min(s0, s1), max(s0, s1)
        if not (low < s2 < high):
            s2 = 0.5 * (s0 + s1)
        point = branch.at(s2)
        if point is None:  # the corrector failed (e.g. right next to a branch point)
            return _nearest_zero(branch, fn), _NOT_LOCATED
        f2 = fn(point)
        if not np.isfinite(f2):
            return _nearest_zero(branch, fn), _NOT_LOCATED
        best = point
        if f2 == 0.0 or abs(s2 - s1) <= tol:
            return point, Status.CONVERGED
        if f2 * f1 < 0:
            s0, f0 = s1, f1
        else:
            f0 *= 0.5
        s1, f1 = s2, f2
        if abs(s1 - s0) <= tol:
            return point, Status.CONVERGED
    return _nearest_zero(branch, fn), Status.MAX_ITER  # locate_max_iter ran out


def _bisect(branch: _Branch, keys, options) -> tuple[Point, Status]:
    keys = [lambda pt, key=key: key(branch.complete(pt)) for key in keys]
    key = next((k for k in keys if k(branch.left) != k(branch.right)), None)
    if key is None:
        return branch.right, _NOT_LOCATED
    low, high = 0.0, branch.span
    start = key(branch.left)
    tol = max(options.locate_tol, 1e-10) * abs(branch.span)
    best = branch.right
    for _ in range(options.locate_max_iter):
        if abs(high - low) <= tol:
            mid = branch.at(0.5 * (low + high))
            return (mid if mid is not None else best), Status.CONVERGED
        middle = 0.5 * (low + high)
        point = branch.at(middle)
        if point is None:
            return best, _NOT_LOCATED
        if key(point) == start:
            low = middle
        else:
            high, best = middle, point
    return best, Status.MAX_ITER  # locate_max_iter ran out


def find_specials(
    problem, run: Run, options, *, skip_first: bool = False, describe: bool = True
) -> list[Special]:
    """Detect and locate the special points of a run, interval by interval.

    ``skip_first`` ignores the first interval (a run that starts at a branch point, where the
    test functions are zero or undefined). With ``describe=False`` the points are left for
    :func:`describe_specials` (which takes those of several runs at once): their monitored data
    may be incomplete and their ``info`` is empty.
    """
    detectors = problem.detectors()
    points = run.points
    # flags of all intervals at once where a detector gives them (``changes``), else per interval
    flags = [d["changes"](points) if "changes" in d else None for d in detectors]
    intervals = range(len(points) - 1)
    if flags and all(flag is not None for flag in flags):
        intervals = np.flatnonzero(np.logical_or.reduce(flags)).tolist()
    found: list[Special] = []
    for k in intervals:
        if skip_first and k == 0:
            continue
        a, b = points[k], points[k + 1]
        here: list[str] = []
        for detector, flag in zip(detectors, flags, strict=True):
            if here and any(kind in here for kind in detector.get("unless", ())):
                continue
            if not (detector["changed"](a, b) if flag is None else flag[k]):
                continue
            branch = _Branch(problem, a, b, options)
            if detector["value"] is None:
                point, status = _bisect(branch, detector["bisect"], options)
            else:
                point, status = _illinois(branch, _value_function(detector, branch), options)
            here.append(detector["type"])
            found.append(Special(detector["type"], k, point, status))
            if describe:  # here, before the next location: it may re-anchor the problem
                describe_specials(problem, found[-1:])
    return found


def describe_specials(problem, specials: list[Special]) -> None:
    """Complete the monitored data of located special points (in one batch) and add their
    normal-form data (``info``)."""
    complete_monitoring(problem, [s.point for s in specials])
    for special in specials:
        special.info = problem.describe(special.type, special.point)
