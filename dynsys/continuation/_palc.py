"""Pseudo-arclength continuation of a curve ``G(u) = 0``, ``G: R^(m+1) -> R^m``.

Predictor: a step ``ds`` along the unit tangent ``t`` (the null vector of ``G_u``, found from the
bordered system ``[G_u; t_prev^T] t = e_last``). Corrector: Newton on ``G(u) = 0``,
``t_prev . (u - u_pred) = 0`` with the bordered Jacobian ``[G_u; t_prev^T]``, dense or sparse.
The step grows after easy corrections and shrinks after hard or failed ones. A run stops with a
:class:`~dynsys.Status`: PARAM_BOUND, STATE_BOUND, MAX_POINTS, CLOSED_LOOP or STEP_UNDERFLOW.

References
----------
H. B. Keller, Numerical solution of bifurcation and nonlinear eigenvalue problems, in
Applications of Bifurcation Theory, Academic Press (1977).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._status import Status
from ._linalg import Factorization, SingularMatrixError, bordered

__all__ = [
    "Point",
    "Run",
    "complete_monitoring",
    "correct",
    "corrected",
    "evaluate",
    "newton",
    "python_run",
    "run",
]

_GROW_BELOW = 4  # corrector iterations below which the step grows
_SHRINK_ABOVE = 5  # ... above which it shrinks
_GROWTH = 1.5
MIN_COS_TURN = 0.9  # refuse a step whose tangent turns by more than ~26 degrees


@dataclass
class Point:
    """One point of a run: unknowns, unit tangent, corrector work, bordered determinant and the
    problem's monitored data."""

    u: np.ndarray
    t: np.ndarray
    iterations: int
    det_sign: int
    det_log: float
    data: dict[str, Any] = field(default_factory=dict)
    pending: Any = field(default=None, repr=False)
    """The state Jacobian while the monitored data is still to be computed (in one batch at
    the end of a run, by ``problem.monitor_many``); None once ``data`` is complete."""


@dataclass
class Run:
    """The points of one direction of a continuation, and why it stopped (PARAM_BOUND,
    STATE_BOUND, MAX_POINTS, CLOSED_LOOP or STEP_UNDERFLOW). The compiled loop holds its points
    as arrays (:class:`~dynsys.continuation._points.Points`, a sequence of Point)."""

    points: Sequence[Point]
    stop_reason: Status
    n_newton: int = 0
    n_rejected: int = 0


def newton(problem, u0: np.ndarray, row: np.ndarray, target: float, tol: float, max_iter: int):
    """Solve ``G(u) = 0``, ``row . u = target`` by Newton from ``u0``.

    Returns ``(u, iterations)``, or ``None`` when it fails (non-finite values, a singular
    bordered Jacobian, divergence, or ``max_iter`` reached).
    """
    u = np.array(u0, dtype=float)
    previous = np.inf
    for it in range(1, max_iter + 1):
        r = np.ravel(problem.residual(u))
        if not np.isfinite(r).all():
            return None
        rhs = np.empty(r.size + 1)
        rhs[:-1] = r
        rhs[-1] = row @ u - target
        if not rhs.any():  # an exact solution (e.g. on a trivial branch): nothing to do
            return u, it - 1
        try:
            step = Factorization(bordered(problem.jacobian(u), row)).solve(rhs)
        except SingularMatrixError:
            return None
        u = u - step
        size = float(np.abs(step).max())
        if not np.isfinite(size):
            return None
        if size <= tol * (1.0 + float(np.abs(u).max())):
            return u, it
        if it >= 3 and size > previous:
            return None
        previous = size
    return None


def correct(problem, u_pred: np.ndarray, t: np.ndarray, options):
    """Corrector: Newton on ``G(u) = 0``, ``t . (u - u_pred) = 0``."""
    return newton(
        problem, u_pred, t, float(t @ u_pred), options.newton.step_tol, options.newton.max_iter
    )


def evaluate(
    problem, u: np.ndarray, border: np.ndarray, iterations: int = 0, *, defer: bool = False
) -> Point:
    """The point at ``u``: tangent (oriented along ``border``), bordered determinant, monitored
    data (or, with ``defer``, the state Jacobian to compute it from later: see
    :func:`complete_monitoring`). Raises :class:`SingularMatrixError` when ``[G_u; border^T]``
    is singular. A problem with compiled functions (``compiled_functions``) computes the
    tangent and determinant in one compiled call, with the same values."""
    compiled = getattr(problem, "compiled_functions", None)
    if compiled is not None:
        t, sign, log, J = compiled.evaluate(u, border)
        if sign == 0:
            raise SingularMatrixError("the bordered Jacobian is singular")
        return _point(problem, u, t, iterations, sign, log, J, defer)
    M, J = problem.linearization(u)
    factor = Factorization(bordered(M, border))
    rhs = np.zeros(problem.size)
    rhs[-1] = 1.0
    t = factor.solve(rhs)
    norm = float(np.linalg.norm(t))
    if not np.isfinite(norm) or norm == 0.0:
        raise SingularMatrixError("tangent is not finite")
    sign, log = factor.det_sign_log()
    return _point(problem, u, t / norm, iterations, sign, log, J, defer)


def _point(problem, u, t, iterations: int, sign: int, log: float, J, defer: bool) -> Point:
    """The evaluated point, with its monitored data or (``defer``) its state Jacobian."""
    if defer:
        return Point(u, t, iterations, sign, log, {}, J)
    return Point(u, t, iterations, sign, log, problem.monitor(u, J))


def corrected(problem, guess, row, target: float, border, options, *, defer: bool = False):
    """:func:`newton` from ``guess`` onto ``row . u = target``, then :func:`evaluate` at its
    solution bordered by ``border``.

    Returns ``(u, iterations, point)``, ``point`` None where the bordered Jacobian is singular,
    or None when Newton fails. A problem with compiled functions (``compiled_functions``) does
    both in one compiled call, with the same values.
    """
    tol, max_iter = options.newton.step_tol, options.newton.max_iter
    compiled = getattr(problem, "compiled_functions", None)
    if compiled is None:
        found = newton(problem, guess, row, target, tol, max_iter)
        if found is None:
            return None
        u, iterations = found
        try:
            return u, iterations, evaluate(problem, u, border, iterations, defer=defer)
        except SingularMatrixError:
            return u, iterations, None
    found = compiled.point(guess, row, target, border, tol, max_iter)
    if found is None:
        return None
    u, iterations, t, sign, log, J = found
    if sign == 0:
        return u, iterations, None
    return u, iterations, _point(problem, u, t, iterations, sign, log, J, defer)


def complete_monitoring(problem, points: list[Point]) -> None:
    """Fill in the monitored data of the points evaluated with ``defer``: in one batch when the
    problem has ``monitor_many`` (all spectra of a branch in one LAPACK call instead of one
    Python round trip per point), else point by point."""
    pending = [p for p in points if p.pending is not None]
    if not pending:
        return
    many = getattr(problem, "monitor_many", None)
    if many is not None:
        data = many([p.u for p in pending], [p.pending for p in pending])
    else:
        data = [problem.monitor(p.u, p.pending) for p in pending]
    for point, values in zip(pending, data, strict=True):
        point.data, point.pending = values, None


def _jumped(u: np.ndarray, u_pred: np.ndarray, ds: float, options) -> bool:
    """A correction longer than half the step suggests Newton left for another branch."""
    slack = 100.0 * options.newton.step_tol * (1.0 + float(np.max(np.abs(u))))
    return float(np.linalg.norm(u - u_pred)) > 0.5 * ds + slack


def _segment_distance(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    seg = b - a
    length2 = float(seg @ seg)
    theta = 0.0 if length2 == 0.0 else min(max(float((point - a) @ seg) / length2, 0.0), 1.0)
    return float(np.linalg.norm(a + theta * seg - point))


def _crossed_bound(problem, u: np.ndarray):
    for index, low, high in problem.bounds:
        if u[index] > high:
            return index, high
        if u[index] < low:
            return index, low
    return None


def _state_escaped(problem, u: np.ndarray, x_max: float) -> bool:
    return float(np.max(np.abs(u[: problem.n]), initial=0.0)) > x_max


def run(problem, start: Point, options, *, progress=None, monitor: bool = True) -> Run:
    """Continue from ``start`` along ``start.t`` until a stop condition.

    ``problem.anchor(point)`` is called for every accepted point before the next step (problems
    with bordering vectors refresh them there). A problem that monitors in batches
    (``monitor_many``) gets the monitored data of the run's points at its end, or, with
    ``monitor=False``, from the caller (:func:`complete_monitoring`, with other points).
    """
    # Invariants. Every entry of `points` solves G(u) = 0 to the corrector tolerance and carries
    # a unit tangent oriented along the previous one (evaluate() solves the system bordered by
    # the previous tangent, so t_new . t_prev > 0: the run never turns back on itself); its
    # `det_sign` is the sign of det [G_u; t_prev^T] (the branch-point test). `ds` always lies in
    # [ds_min, ds_max]. A step is refused, and retried at half the length, when the corrector
    # fails, when it lands farther than ds/2 from the prediction (it probably jumped to another
    # branch), or when the tangent turns by more than ~26 degrees (cos < MIN_COS_TURN: the step
    # skipped a sharp turn or a branch point). Below ds_min the run ends (STEP_UNDERFLOW).
    # Accepted steps grow after fewer than _GROW_BELOW corrector iterations and shrink after
    # more than _SHRINK_ABOVE.
    # Problems that monitor in batches get their spectra once the run is over; anchor() and the
    # step control never read the monitored data (problems whose anchor does are not deferred).
    compiled = getattr(problem, "compiled_loop", None)
    if compiled is not None:  # the same loop, compiled (small dense equilibrium problems)
        return compiled(problem, start, options, progress, monitor)
    return python_run(problem, start, options, progress=progress, monitor=monitor)


def python_run(problem, start: Point, options, *, progress=None, monitor: bool = True) -> Run:
    """:func:`run` on the Python loop."""
    defer = hasattr(problem, "monitor_many")
    points = [start]
    ds = options.ds
    n_newton = 0
    n_rejected = 0
    travelled = 0.0
    stop = Status.MAX_POINTS
    while len(points) < options.max_points:
        prev = points[-1]
        problem.anchor(prev)
        accepted = None
        while accepted is None:
            u_pred = prev.u + ds * prev.t  # predictor: along the tangent
            found = correct(problem, u_pred, prev.t, options)
            if found is not None and _jumped(found[0], u_pred, ds, options):
                found = None
            if found is not None:
                u, iterations = found
                n_newton += iterations
                try:
                    candidate = evaluate(problem, u, prev.t, iterations, defer=defer)
                except SingularMatrixError:
                    candidate = None
                if candidate is not None and float(candidate.t @ prev.t) >= MIN_COS_TURN:
                    accepted = candidate
                    break
            n_rejected += 1
            ds *= 0.5
            if ds < options.ds_min:
                break
        if accepted is None:
            stop = Status.STEP_UNDERFLOW
            break
        u = accepted.u
        if _state_escaped(problem, u, options.x_max):
            stop = Status.STATE_BOUND
            break
        crossed = _crossed_bound(problem, u)
        if crossed is not None:  # the last point is put on the bound, not beyond it
            end = _end_on_bound(problem, prev, accepted, crossed, options)
            if end is not None:
                points.append(end)
            stop = Status.PARAM_BOUND
            break
        step = u - prev.u
        seg = float(np.linalg.norm(step))
        travelled += seg
        # Closed loop: after some travel, the new segment passes the start in the start's
        # direction; the start point closes the curve.
        if (
            len(points) >= 3
            and travelled > 4.0 * seg
            and float(step @ start.t) > 0
            and _segment_distance(start.u, prev.u, u) <= 0.25 * seg
        ):
            with contextlib.suppress(SingularMatrixError):
                points.append(evaluate(problem, start.u, prev.t, defer=defer))
            stop = Status.CLOSED_LOOP
            break
        points.append(accepted)
        if progress is not None:
            progress.update(1)
        if accepted.iterations < _GROW_BELOW:
            ds = min(ds * _GROWTH, options.ds_max)
        elif accepted.iterations > _SHRINK_ABOVE:
            ds = max(ds * 0.5, options.ds_min)
    if monitor:
        complete_monitoring(problem, points)
    return Run(points, stop, n_newton, n_rejected)


def _end_on_bound(problem, prev: Point, beyond: Point, crossed, options) -> Point | None:
    """The point where the branch meets a parameter bound (Newton with that parameter fixed)."""
    index, value = crossed
    if abs(prev.u[index] - value) <= options.newton.step_tol * (1.0 + abs(value)):
        return None  # the previous point already lies on the bound
    span = beyond.u[index] - prev.u[index]
    theta = 0.0 if span == 0 else (value - prev.u[index]) / span
    guess = prev.u + theta * (beyond.u - prev.u)
    row = np.zeros(problem.size)
    row[index] = 1.0
    found = corrected(
        problem, guess, row, value, prev.t, options, defer=hasattr(problem, "monitor_many")
    )
    return None if found is None else found[2]
