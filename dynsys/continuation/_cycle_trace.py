"""Trace a branch of cycles: the pseudo-arclength engine run in segments of ``adapt_every``
steps, the mesh adapted between segments, special points located within each segment, and the
two directions joined into one ordered branch.

The engine's points live in the unknowns of one mesh, so a segment keeps its mesh; at the end
of a segment the last point is moved to a mesh adapted to its profile (profile and tangent
interpolated, then corrected by Newton at the same arclength) and starts the next segment.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._status import Status
from ..cycles import collapsed
from ._detect import Special, find_specials
from ._linalg import SingularMatrixError
from ._palc import Point, evaluate, newton, run
from ._trace import Traced

__all__ = ["trace_cycles"]

_GROWTH = 1.5  # as the engine: a step after an easy correction grows


def _remesh(problem, point: Point, options) -> Point:
    """``point`` moved onto a mesh adapted to its profile; ``point`` itself when that fails."""
    old = problem.col
    X, T, p = problem.unpack(point.u)
    tX, tT, tp = problem.unpack(point.t)
    new = old.adapted(X)
    X_new, tX_new = old.transfer(X, new), old.transfer(tX, new)
    problem.set_collocation(new)
    u = problem.pack(X_new, T, p)
    t = problem.pack(tX_new, tT, tp)
    t = t / np.linalg.norm(t)
    problem.reference = X_new
    found = newton(
        problem, u, t, float(t @ u), options.newton.step_tol, max(options.newton.max_iter, 10)
    )
    if found is not None:
        try:
            problem.reference = problem.unpack(found[0])[0]
            return evaluate(problem, found[0], t, found[1])
        except SingularMatrixError:
            pass
    problem.set_collocation(old)
    problem.anchor(point)
    return point


def _collapsed(problem, point: Point) -> bool:
    return collapsed(problem.col, point.data["profile"], problem.cycle_options.min_amplitude)


def _outside(problem, point: Point, x_max: float) -> bool:
    return float(np.max(np.abs(point.data["profile"]))) > x_max


def _bound_reason(problem, last: Point) -> Status:
    """PARAM_BOUND or PERIOD_BOUND: the engine reports both as PARAM_BOUND; the nearer bound
    (relative to its size) is the one met."""
    opts = problem.options
    period_max = problem.cycle_options.period_max
    p = last.data["param"]
    gap_p = min(abs(p - opts.p_min), abs(p - opts.p_max)) / (1.0 + abs(p))
    gap_t = abs(period_max - last.data["period"]) / (1.0 + abs(period_max))
    return Status.PERIOD_BOUND if gap_t < gap_p else Status.PARAM_BOUND


def _one_direction(problem, start: Point, options, progress=None):
    """Segments from ``start`` until a stop; returns points, arclength increments, specials,
    stop reason, Newton iterations and rejected steps."""
    every = problem.cycle_options.adapt_every
    points = [start]
    lengths: list[float] = []
    specials: list[Special] = []
    n_newton = n_rejected = 0
    ds = options.ds
    stop = Status.MAX_POINTS
    while len(points) < options.max_points:
        remaining = options.max_points - len(points)
        count = min(every, remaining) if every else remaining
        segment = options.replace(max_points=count + 1, ds=ds)
        problem.anchor(points[-1])
        result = run(problem, points[-1], segment, progress=progress)
        found = find_specials(problem, result, segment)
        offset = len(points) - 1
        new = result.points[1:]
        cut = next((k for k, pt in enumerate(new) if _outside(problem, pt, options.x_max)), None)
        hopf = next((s for s in found if s.type == "H"), None)
        if hopf is not None and _collapsed(problem, hopf.point):
            hopf.status = Status.CONVERGED  # zero amplitude is met; Newton is singular there
        if hopf is not None and (cut is None or hopf.step < cut):
            new = [*new[: hopf.step], hopf.point]  # the last point: zero amplitude
            found = [s for s in found if s.step < hopf.step or s is hopf]
            cut = None
        elif cut is not None:
            new = new[:cut]
            found = [s for s in found if s.step < cut]
        specials += [Special(s.type, s.step + offset, s.point, s.status, s.info) for s in found]
        chain = [points[-1], *new]
        lengths += [float(a.t @ (b.u - a.u)) for a, b in itertools.pairwise(chain)]
        points += new
        n_newton += result.n_newton
        n_rejected += result.n_rejected
        if cut is not None:
            stop = Status.STATE_BOUND
            break
        if hopf is not None:
            stop = Status.HOPF_POINT
            break
        if result.stop_reason != Status.MAX_POINTS:
            stop = result.stop_reason
            if stop == Status.PARAM_BOUND:
                stop = _bound_reason(problem, points[-1])
            break
        if len(chain) >= 2:
            last, before = chain[-1], chain[-2]
            ds = float(before.t @ (last.u - before.u))
            if last.iterations < 4:
                ds *= _GROWTH
            ds = min(max(ds, options.ds_min), options.ds_max)
        if every and len(points) < options.max_points:
            points[-1] = _remesh(problem, points[-1], options)
    return points, lengths, specials, stop, n_newton, n_rejected


def trace_cycles(
    problem, u: np.ndarray, t: np.ndarray, signs, options, *, progress=False, label=""
):
    """Continue from ``u`` along ``sign * t`` for each sign in ``signs`` (1, -1 or both) and
    join the runs into one branch (backward run reversed and first)."""
    from tqdm.auto import tqdm

    col0, ref0 = problem.col, problem.unpack(u)[0]
    runs = {}
    for sign in signs:
        problem.set_collocation(col0)
        problem.reference = ref0
        start = evaluate(problem, u, sign * t)
        bar = tqdm(
            total=options.max_points,
            desc=f"{label} {'+' if sign > 0 else '-'}",
            disable=not progress,
            leave=False,
        )
        try:
            runs[sign] = _one_direction(problem, start, options, bar)
        finally:
            bar.close()
    if -1 not in runs:
        points, lengths, specials, stop, nn, nr = runs[1]
        return Traced(
            points,
            np.concatenate([[0.0], np.cumsum(lengths)]),
            specials,
            0,
            stop_forward=stop,
            n_newton=nn,
            n_rejected=nr,
        )
    b_points, b_lengths, b_specials, b_stop, b_nn, b_nr = runs[-1]
    if 1 not in runs:
        return Traced(
            b_points,
            np.concatenate([[0.0], np.cumsum(b_lengths)]),
            b_specials,
            0,
            stop_backward=b_stop,
            n_newton=b_nn,
            n_rejected=b_nr,
        )
    f_points, f_lengths, f_specials, f_stop, f_nn, f_nr = runs[1]
    nb = len(b_points) - 1
    points = [
        Point(p.u, -p.t, p.iterations, -p.det_sign, p.det_log, p.data)
        for p in reversed(b_points[1:])
    ] + f_points
    s_back = -np.cumsum(b_lengths)[::-1]
    arclength = np.concatenate([s_back, [0.0], np.cumsum(f_lengths)])
    specials = [
        Special(s.type, nb - s.step - 1, s.point, s.status, s.info) for s in reversed(b_specials)
    ]
    specials += [Special(s.type, nb + s.step, s.point, s.status, s.info) for s in f_specials]
    return Traced(
        points,
        arclength,
        specials,
        nb,
        stop_forward=f_stop,
        stop_backward=b_stop,
        n_newton=f_nn + b_nn,
        n_rejected=f_nr + b_nr,
    )
