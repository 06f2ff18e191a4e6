"""Points and cycles: what an orbit that became recurrent settled on, when it is periodic.

- A flow whose last samples stay within one cell is at a point: Newton
  (:func:`dynsys.fixedpoints.find_fixed_points`) must find a root within one cell of the end,
  and its eigenvalues decide whether it attracts.
- A flow that moves is tested for a cycle: the plane through its end point ``x_a`` normal to
  ``f(x_a)`` is a Poincare section; crossings near ``x_a`` (within a cell diagonal) in the
  direction of the flow are returns, and returns that repeat with lag ``q`` within
  ``cycle_tol`` make a cycle whose period is the time between them. Its Floquet multipliers
  come from the monodromy matrix, the variational equation integrated over one period.
- A map is tested for a cycle by the iterates themselves: the smallest ``q`` with
  ``|x_{k+q} - x_k| <= cycle_tol`` over the last ``q + 1`` iterates; Newton on ``g^q(x) - x``
  refines it, the multipliers of ``D(g^q)`` decide whether it attracts. Period 1 is a point.

Each returns an :class:`~dynsys.attractors._table.Attractor`, or an outcome code for an orbit
that settled on something that does not attract (``not_attracting``) or could not be verified
(``unverified``); :func:`flow_point` returns None when no root lies where the orbit stalls,
:func:`flow_cycle` a :class:`NoCycle`, :func:`map_cycle` None when the iterates do not repeat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._points import relative_scale
from .._status import Status
from ..fixedpoints import find_fixed_points
from ..integrate import trajectory
from ..maps import Map
from ..system import System
from ._grid import CellGrid
from ._options import AttractorOptions
from ._table import Attractor
from ._variational import variational_system

__all__ = ["NOT_ATTRACTING", "UNVERIFIED", "NoCycle", "flow_cycle", "flow_point", "map_cycle"]

NOT_ATTRACTING = int(Status.NOT_ATTRACTING)
UNVERIFIED = int(Status.UNVERIFIED)
_MAX_CYCLE_POINTS = 200_000  # dense samples of one period of a cycle, to find its cells
_SECTION_WINDOWS = 3  # integration windows for Poincare returns of a slowly attracting cycle
ENOUGH_RETURNS = 4  # fewer returns to the section than this: integrate another window


@dataclass(frozen=True)
class NoCycle:
    """No cycle through the end point: ``returns`` crossings of its section were seen."""

    returns: int


def _rtol_method(options: AttractorOptions) -> dict:
    """Settings of the single-orbit integrations (:func:`dynsys.integrate.trajectory`): the
    implicit Radau for systems integrated with the stiff rosenbrock23, DOP853 otherwise."""
    method = "Radau" if options.method == "rosenbrock23" else "DOP853"
    return {"method": method, "rtol": options.rtol, "atol": options.atol}


# ---------------------------------------------------------------------------- points of flows
def flow_point(system: System, p, x_end, tail, grid: CellGrid, options: AttractorOptions):
    """The attracting point within one cell of ``x_end``, where an orbit rests (its last
    samples ``tail`` near the point give the point's cells)."""
    fp = find_fixed_points(
        system,
        x_end[None],
        params=p,
        options=options.newton,
        zero_tol=options.zero_tol,
        connect_manifolds=False,
    )
    if fp.sizes["point"] == 0:
        return None  # still moving through a cell where no root lies: follow it further
    x = fp.x.values[0]
    if np.any(np.abs(x - x_end) > grid.cell_size):
        return None
    attracting = int(fp.index[0]) == 0 and (int(fp.nullity[0]) == 0 or system.is_gradient)
    if not attracting:
        return NOT_ATTRACTING
    eig = fp.eigenvalue_real.values[0] + 1j * fp.eigenvalue_imag.values[0]
    near = tail[np.all(np.abs(tail - x) <= grid.cell_size, axis=1)]
    return Attractor(
        "point",
        x=x,
        samples=x[None],
        cells=grid.unique_cells(np.concatenate([x[None], near])),
        residual=float(fp.residual[0]),
        eigenvalues=eig,
        lyapunov=np.sort(eig.real)[::-1],
        lyapunov_stderr=np.zeros(system.n),
        lyapunov_method="eigenvalues",
    )


# ---------------------------------------------------------------------------- cycles of flows
def _section_returns(system, p, start, x_a, normal, span, radius, options):
    """Times and points of the crossings of the section through ``x_a`` near ``x_a``, over
    ``span`` from ``start``, and the end state."""

    def section(t, x):
        return float(np.dot(x - x_a, normal))

    section.direction = 1.0
    tr = trajectory(
        system, start, span, params=p, t_eval=[span], events=section, **_rtol_method(options)
    )
    if tr.attrs["status"] < 0 or "t_event_0" not in tr:
        return np.zeros(0), np.zeros((0, system.n)), None
    t, x = tr.t_event_0.values, tr.x_event_0.values
    keep = (t > 0.5 * options.dt) & (np.linalg.norm(x - x_a, axis=1) <= radius)
    return t[keep], x[keep], tr.x.values[-1]


def _repeat_lag(points, times, tol, max_lag):
    """The smallest lag ``q`` at which the last returns repeat (two pairs at least), with the
    mean and spread of the return times over ``q`` and the last gap; None if there is none."""
    m = len(points)
    for q in range(1, min(max_lag, m - 2) + 1):
        pairs = min(3, m - q)
        gaps = np.linalg.norm(points[q:] - points[:-q], axis=1)[-pairs:]
        if np.all(gaps <= tol):
            periods = (times[q:] - times[:-q])[-pairs:]
            period = float(periods.mean())
            return q, period, float(np.ptp(periods)), float(gaps[-1])
    return None


def flow_cycle(system: System, p, samples, grid: CellGrid, options: AttractorOptions):
    """A cycle through the end of ``samples`` (an Attractor, or ``not_attracting``), or
    :class:`NoCycle`."""
    x_a = samples[-1]
    f_a = system.f(x_a, p)
    speed = float(np.linalg.norm(f_a))
    if not np.isfinite(speed) or speed == 0.0:
        return NoCycle(0)
    normal = f_a / speed
    span = len(samples) * options.dt
    radius = float(np.linalg.norm(grid.cell_size))
    tol = options.cycle_tol * float(relative_scale(x_a))
    times, points = np.zeros(0), np.zeros((0, system.n))
    start, offset = x_a, 0.0
    found = None
    for _ in range(_SECTION_WINDOWS):
        t, x, end = _section_returns(system, p, start, x_a, normal, span, radius, options)
        times, points = np.concatenate([times, t + offset]), np.concatenate([points, x])
        found = _repeat_lag(points, times, tol, options.max_period)
        if found is not None or end is None:
            break
        if len(points) >= ENOUGH_RETURNS:
            gaps = np.linalg.norm(np.diff(points, axis=0), axis=1)
            if not gaps[-1] < 0.5 * gaps[0]:  # no sign of a slowly attracting cycle
                break
        start, offset = end, offset + span
    if found is None:
        return NoCycle(len(points))
    _, period, spread, gap = found
    x_c = points[-1]
    aug = variational_system(system, p, system.n, x_c)
    z0 = np.concatenate([x_c, np.eye(system.n).ravel()])
    mono = trajectory(aug, z0, period, t_eval=[period], **_rtol_method(options))
    Phi = mono.x.values[-1, system.n :].reshape(system.n, system.n)
    mu = np.linalg.eigvals(Phi)
    trivial = int(np.argmin(np.abs(mu - 1.0)))
    others = np.abs(np.delete(mu, trivial))
    if not np.all(others < 1.0 - options.zero_tol):
        return NOT_ATTRACTING
    order = np.argsort(-np.abs(mu))
    drawn = _one_period(system, p, x_c, period, options.n_draw, options)
    length = float(np.linalg.norm(np.diff(drawn, axis=0), axis=1).sum())
    dense = int(min(_MAX_CYCLE_POINTS, np.ceil(4 * length / grid.cell_size.min())))
    fine = _one_period(system, p, x_c, period, dense, options) if dense > len(drawn) else drawn
    return Attractor(
        "cycle",
        x=x_c,
        samples=drawn,
        cells=grid.unique_cells(fine),
        period=period,
        period_error=spread,
        residual=gap,
        eigenvalues=mu[order],
        lyapunov=np.sort(np.log(np.abs(mu)) / period)[::-1],
        lyapunov_stderr=np.zeros(system.n),
        lyapunov_method="floquet",
        section_normal=normal,
    )


def _one_period(system, p, x, period, count, options) -> np.ndarray:
    times = np.linspace(0.0, period, count)
    return trajectory(system, x, period, params=p, t_eval=times, **_rtol_method(options)).x.values


# ---------------------------------------------------------------------------- cycles of maps
def _power_residual(system: Map, p, q: int, probe) -> System:
    """``g^q(x) - x`` as a System, whose roots Newton finds (Jacobian ``D(g^q) - I``)."""
    n = system.n

    def f(x, _):
        y = x
        for _ in range(q):
            y = system.g(y, p)
        return y - x

    def jac(x, _):
        y, M = x, np.broadcast_to(np.eye(n), (*np.shape(x)[:-1], n, n))
        for _ in range(q):
            M = system.jac_dense(y, p) @ M
            y = system.g(y, p)
        return M - np.eye(n)

    return System(
        f, n, jac=jac, name=f"g^{q} - x of {system.name}", probe=probe, check_jacobian=False
    )


def _cycle_of(system: Map, p, x, q: int) -> tuple[np.ndarray, np.ndarray]:
    """The points ``x, g(x), ..., g^{q-1}(x)`` and the Jacobian ``D(g^q)(x)``."""
    points, M = [x], np.eye(system.n)
    for _ in range(q):
        M = system.jac_dense(points[-1], p) @ M
        points.append(system.g(points[-1], p))
    return np.array(points[:-1]), M


def map_cycle(system: Map, p, samples, grid: CellGrid, options: AttractorOptions):
    """The attracting point or cycle of a map whose iterates ``samples`` repeat."""
    tail = samples[len(samples) // 2 :]
    x_end = tail[-1]
    tol = options.cycle_tol * float(relative_scale(x_end))
    q = None
    for lag in range(1, min(options.max_period, (len(tail) - 1) // 2) + 1):
        gaps = np.linalg.norm(tail[lag:] - tail[:-lag], axis=1)[-(lag + 1) :]
        if np.all(gaps <= tol):
            q = lag
            break
    if q is None:
        return None
    fp = find_fixed_points(
        _power_residual(system, p, q, x_end),
        x_end[None],
        options=options.newton,
        classify=False,
    )
    if fp.sizes["point"] == 0 or np.any(np.abs(fp.x.values[0] - x_end) > grid.cell_size):
        return UNVERIFIED
    x = fp.x.values[0]
    points, M = _cycle_of(system, p, x, q)
    mu = np.linalg.eigvals(M)
    if not np.all(np.abs(mu) < 1.0 - options.zero_tol):
        return NOT_ATTRACTING
    order = np.argsort(-np.abs(mu))
    return Attractor(
        "point" if q == 1 else "cycle",
        x=x,
        samples=points,
        cells=grid.unique_cells(points),
        period=float(q),
        period_error=0.0,
        residual=float(fp.residual[0]),
        eigenvalues=mu[order],
        lyapunov=np.sort(np.log(np.abs(mu)) / q)[::-1],
        lyapunov_stderr=np.zeros(system.n),
        lyapunov_method="multipliers",
    )
