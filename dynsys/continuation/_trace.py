"""Trace a curve from a start point in one or both directions, find its special points, and join
the two directions into one ordered branch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._status import Status
from ..errors import ContinuationError, InputError
from ._detect import Special, describe_specials, find_specials
from ._linalg import (
    Factorization,
    SingularMatrixError,
    bordered,
    dense_null_vectors,
    start_vector,
)
from ._palc import Point, evaluate, newton, run
from ._points import Points, monitor_points

__all__ = ["Traced", "describe_traced", "initial_tangent", "orient", "refine_start", "trace"]

DIRECTIONS = (1, -1, "both")


@dataclass
class Traced:
    """A branch in order: points, signed pseudo-arclength from the start, special points (with
    steps in branch order), the start's position, and why each traced direction stopped (None
    for a direction not traced). ``undescribed``: after a trace with ``describe=False``, pairs
    (special point as located, the same in ``specials``) for :func:`describe_traced`."""

    points: Sequence[Point]
    arclength: np.ndarray
    specials: list[Special]
    start_step: int
    stop_forward: Status | None = None
    stop_backward: Status | None = None
    n_newton: int = 0
    n_rejected: int = 0
    extra: dict = field(default_factory=dict)
    undescribed: list[tuple[Special, Special]] = field(default_factory=list)


def check_direction(direction) -> None:
    if isinstance(direction, bool) or direction not in DIRECTIONS:
        raise InputError(
            f"`direction` must be +1 (parameter increasing first), -1 or 'both'; got {direction!r}."
        )


def refine_start(problem, u0: np.ndarray, options, what: str) -> np.ndarray:
    """Newton with the driving parameter (the last unknown) fixed; raise if it fails."""
    row = np.zeros(problem.size)
    row[-1] = 1.0
    found = newton(
        problem, u0, row, float(u0[-1]), options.newton.step_tol, max(options.newton.max_iter, 30)
    )
    if found is None:
        r = problem.residual(u0)
        raise ContinuationError(
            f"{what} is not close enough to a solution for Newton to converge (residual norm "
            f"{float(np.linalg.norm(r)):.3g} at the start); give a better start state, or check "
            "the parameter values."
        )
    return found[0]


def initial_tangent(problem, u: np.ndarray) -> np.ndarray:
    """A unit null vector of ``G_u`` at ``u``: SVD when dense, bordering when sparse."""
    M = problem.jacobian(u)
    if not sp.issparse(M):
        return dense_null_vectors(M)[0][0]
    last = np.zeros(problem.size)  # e_last, built directly (never from an n x n identity)
    last[-1] = 1.0
    for row in (last, start_vector(problem.size)):
        try:
            t = Factorization(bordered(M, row)).solve(last)
        except SingularMatrixError:
            continue
        return t / np.linalg.norm(t)
    raise ContinuationError("the Jacobian at the start has a null space of dimension > 1.")


def orient(t: np.ndarray, sign: int = 1) -> np.ndarray:
    """Orient ``t`` so its last component (the driving parameter) has sign ``sign``; when that
    component is ~0, so that the largest component does."""
    last = t[-1]
    if abs(last) <= 1e-12 * float(np.max(np.abs(t))):
        last = t[int(np.argmax(np.abs(t)))]
    return t if last * sign > 0 else -t


def _start(problem, u: np.ndarray, t: np.ndarray, at_branch_point: bool) -> Point:
    """The start point of a run; problems that monitor in batches get its monitored data with
    the run's other points."""
    problem.anchor(Point(u, t, 0, 0, 0.0, {}))
    defer = hasattr(problem, "monitor_many")
    if not at_branch_point:
        try:
            return evaluate(problem, u, t, defer=defer)
        except SingularMatrixError:
            pass
    _, J = problem.linearization(u)
    if defer:
        return Point(u, t, 0, 0, 0.0, {}, J)
    return Point(u, t, 0, 0, 0.0, problem.monitor(u, J))


def _arclength(points: Sequence[Point]) -> np.ndarray:
    """Pseudo-arclength along the points from the first: the sums of ``a.t @ (b.u - a.u)``
    over neighbours ``a``, ``b`` (one stacked ``matmul`` of vectors, which takes each product
    as ``a.t @ d`` does), from 0."""
    if isinstance(points, Points):  # their arrays (C-contiguous, as gathered ones are)
        U = np.ascontiguousarray(points.u)
        T = np.ascontiguousarray(points.t[:-1])
    else:
        U = np.array([p.u for p in points])
        T = np.array([p.t for p in points[:-1]]).reshape(U.shape[0] - 1, U.shape[1])
    steps = np.matmul(T[:, None, :], (U[1:] - U[:-1])[:, :, None])[:, 0, 0]
    return np.cumsum(np.concatenate([[0.0], steps]))


def trace(
    problem,
    u: np.ndarray,
    t: np.ndarray,
    direction,
    options,
    *,
    progress: bool = False,
    label: str = "",
    at_branch_point: bool = False,
    describe: bool = True,
) -> Traced:
    """Continue from ``u`` along ``t`` (``direction`` +1), ``-t`` (-1) or both, and join.

    With ``both``, the backward run is reversed and placed first, so steps follow the branch
    from one end to the other; arclength is signed, zero at the start. A closed loop found going
    forward makes the backward run unnecessary. A problem that monitors in batches
    (``monitor_many``: its steps read no monitored data and its ``anchor`` keeps no state, so
    runs and locations may come in any order) gets the data of both runs in one batch before
    the special points of either are located, and that of the special points of both in one;
    with ``describe=False`` that batch and their normal-form data are left to
    :func:`describe_traced` (one batch for the special points of several traces).
    """
    from tqdm.auto import tqdm

    signs = [1, -1] if direction == "both" else [int(direction)]
    together = hasattr(problem, "monitor_many")

    def located(result):
        found = find_specials(
            problem, result, options, skip_first=at_branch_point, describe=not together
        )
        return result, found

    results = {}
    runs = {}
    for sign in signs:
        if sign == -1 and 1 in results and results[1].stop_reason == Status.CLOSED_LOOP:
            break
        start = _start(problem, u, sign * t, at_branch_point)
        bar = None
        if progress:
            bar = tqdm(
                total=options.max_points, desc=f"{label} {'+' if sign > 0 else '-'}", leave=False
            )
        try:
            results[sign] = run(problem, start, options, progress=bar, monitor=not together)
        finally:
            if bar is not None:
                bar.close()
        if together:  # held as arrays (the compiled loop's are already)
            results[sign].points = Points.of(results[sign].points)
        else:  # located before the next run: locating may re-anchor the problem
            runs[sign] = located(results[sign])
    if together:
        monitor_points(problem, [result.points for result in results.values()])
        runs = {sign: located(result) for sign, result in results.items()}
        if describe:
            describe_specials(problem, [s for _, found in runs.values() for s in found])
    traced = _joined(runs)
    if together and not describe:  # as located (backward ones before their reversal), as joined
        located_order = [*reversed(runs[-1][1])] if -1 in runs else []
        located_order += runs[1][1] if 1 in runs else []
        traced.undescribed = list(zip(located_order, traced.specials, strict=True))
    return traced


def describe_traced(problem, traced: list[Traced]) -> None:
    """:func:`describe_specials` of the special points left undescribed by traces of ``problem``
    with ``describe=False``, in one batch, as each trace would have described its own."""
    pairs = [pair for one in traced for pair in one.undescribed]
    describe_specials(problem, [located for located, _ in pairs])
    for located, joined in pairs:
        joined.info = located.info
        joined.point.data = located.point.data
    for one in traced:
        one.undescribed = []


def _joined(runs: dict) -> Traced:
    """The branch of the located runs ``{sign: (run, specials)}``: a single run as it is, or
    the backward run reversed and placed before the forward one."""
    forward = runs.get(1)
    backward = runs.get(-1)
    if forward is None:  # direction -1 only: the run order is the branch order
        result, specials = backward
        return Traced(
            result.points,
            _arclength(result.points),
            specials,
            0,
            stop_backward=result.stop_reason,
            n_newton=result.n_newton,
            n_rejected=result.n_rejected,
        )
    f_run, f_specials = forward
    if backward is None:
        return Traced(
            f_run.points,
            _arclength(f_run.points),
            f_specials,
            0,
            stop_forward=f_run.stop_reason,
            n_newton=f_run.n_newton,
            n_rejected=f_run.n_rejected,
        )
    b_run, b_specials = backward
    nb = len(b_run.points) - 1  # backward points other than the start
    if isinstance(b_run.points, Points) and isinstance(f_run.points, Points):
        back = b_run.points.rows(nb, 0, -1, flip=True)  # reversed, read forward
        points = Points.concatenate([back, f_run.points])
    else:
        back_points = [
            Point(p.u, -p.t, p.iterations, -p.det_sign, p.det_log, p.data)
            for p in reversed(b_run.points[1:])
        ]
        points = back_points + f_run.points
    s_back = -_arclength(b_run.points)[1:][::-1]
    arclength = np.concatenate([s_back, _arclength(f_run.points)])
    specials = []
    for sp_ in b_specials:
        pt = sp_.point
        flipped = Point(pt.u, -pt.t, pt.iterations, -pt.det_sign, pt.det_log, pt.data)
        specials.append(Special(sp_.type, nb - sp_.step - 1, flipped, sp_.status, sp_.info))
    specials.reverse()
    specials += [Special(s.type, nb + s.step, s.point, s.status, s.info) for s in f_specials]
    return Traced(
        points,
        arclength,
        specials,
        nb,
        stop_forward=f_run.stop_reason,
        stop_backward=b_run.stop_reason,
        n_newton=f_run.n_newton + b_run.n_newton,
        n_rejected=f_run.n_rejected + b_run.n_rejected,
    )
