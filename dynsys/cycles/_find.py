"""``find_periodic_orbit``: a cycle of a flow from a guess, by collocation with mesh adaptation,
with its Floquet multipliers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._status import Status
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError
from ..integrate import trajectory
from ..maps import require_flow
from ._collocation import Collocation
from ._dataset import cycle_dataset, read_cycle
from ._floquet import Floquet
from ._options import CycleOptions
from ._profile import collapsed
from ._solve import Solved, newton_solve, solve_adapted

__all__ = ["find_periodic_orbit", "floquet_multipliers", "initial_profile", "refined_period"]

_RETURN_SAMPLES = 800  # samples of the orbit over two period guesses
_MAX_FOLD = 8  # a profile that repeats k <= _MAX_FOLD times per period is traversed k times
_REPEAT_TOL = 1e-5  # relative mismatch below which a shifted profile repeats


def _check_options(options) -> CycleOptions:
    if options is None:
        return CycleOptions()
    if not isinstance(options, CycleOptions):
        raise InputTypeError(
            f"`options` must be a CycleOptions; got {type(options).__name__}. "
            "Build one with CycleOptions(ntst=..., ...)."
        )
    return options


def check_period(period, period_max: float = np.inf) -> float:
    """The period guess as a float, or an InputError naming the problem."""
    try:
        guess = float(period)
    except (TypeError, ValueError):
        raise InputError(f"`period` must be a positive number; got {period!r}.") from None
    if not np.isfinite(guess) or guess <= 0.0:
        raise InputError(
            f"`period` must be a positive, finite number (a guess of the cycle's period); "
            f"got {period!r}."
        )
    if guess > period_max:
        raise InputError(
            f"the period guess {guess!r} exceeds CycleOptions.period_max = {period_max!r}; raise "
            "period_max or give a shorter guess."
        )
    return guess


def refined_period(system, x0: np.ndarray, period: float, params, rtol: float) -> float:
    """The time in ``[period / 2, 2 period]`` at which the orbit from ``x0`` returns closest to
    ``x0``, if it returns closer than at ``period``; else ``period``."""
    times = np.linspace(0.0, 2.0 * period, _RETURN_SAMPLES + 1)
    ds = trajectory(
        system,
        x0,
        2.0 * period,
        params=params,
        method="DOP853",
        rtol=rtol,
        atol=1e-3 * rtol,
        t_eval=times,
    )
    X = np.asarray(ds["x"].values, dtype=float)
    if int(ds.attrs["status"]) != 0 or X.shape[0] != times.size or not np.all(np.isfinite(X)):
        return period
    gap = np.linalg.norm(X - x0, axis=1)
    window = np.flatnonzero(times >= 0.5 * period)
    best = int(window[np.argmin(gap[window])])
    at_guess = float(np.interp(period, times, gap))
    return float(times[best]) if gap[best] < at_guess else period


def initial_profile(
    system, col: Collocation, x0: np.ndarray, period: float, params, rtol: float
) -> tuple[np.ndarray | None, str]:
    """The orbit from ``x0`` over one period guess at the collocation's times, its end gap
    spread linearly over the period so that the profile closes; ``(None, reason)`` when the
    integration fails."""
    ds = trajectory(
        system,
        x0,
        period,
        params=params,
        method="DOP853",
        rtol=rtol,
        atol=1e-3 * rtol,
        t_eval=col.times * period,
    )
    X = np.asarray(ds["x"].values, dtype=float)
    if int(ds.attrs["status"]) != 0 or X.shape[0] != col.points or not np.all(np.isfinite(X)):
        return None, f"the integration over one period failed: {ds.attrs['message']}"
    gap = X[0] - X[-1]
    return X + col.times[:, None] * gap, ""


def _finish(solved: Solved, options: CycleOptions, params) -> Solved:
    """Reject a collapsed profile, turn a negative period around, apply ``period_max``."""
    if solved.status != Status.CONVERGED:
        return solved
    col = solved.collocation
    X, T = col.split(solved.v)
    if collapsed(col, X, options.min_amplitude):
        solved.status = Status.SINGULAR_JACOBIAN
        solved.message = (
            "the profile collapsed onto an equilibrium (a constant solves the equations for any "
            "period); start nearer to a cycle"
        )
    elif T < 0.0:  # the same orbit traversed backward
        X_back = X[::-1].copy()  # Lobatto nodes are symmetric: the same points, reversed
        mesh = 1.0 - col.mesh[::-1]
        mesh[0], mesh[-1] = 0.0, 1.0
        back = col.with_mesh(mesh)
        solved = newton_solve(
            back, back.join(X_back, -T), params, X_back, tol=options.tol, max_iter=options.max_iter
        )
    if solved.status == Status.CONVERGED:
        solved = _minimal_period(solved, params, options)
    if solved.status == Status.CONVERGED and solved.v[-1] > options.period_max:
        solved.status = Status.PERIOD_BOUND
        solved.message = f"the period {solved.v[-1]:.6g} exceeds period_max"
    return solved


def _minimal_period(solved: Solved, params, options: CycleOptions) -> Solved:
    """A profile that repeats ``k`` times per period is one cycle traversed ``k`` times: solve
    again for one traversal (the largest such ``k``)."""
    col = solved.collocation
    X, T = col.split(solved.v)
    scale = float(np.max(np.abs(X - col.weights @ X)))
    for k in range(_MAX_FOLD, 1, -1):
        shifted = col.profile_at(X, col.times + 1.0 / k)
        if float(np.max(np.abs(shifted - X))) <= _REPEAT_TOL * scale:
            fresh = Collocation(col.system, col.ntst, col.ncol)
            X1 = col.profile_at(X, fresh.times / k)
            X1[-1] = X1[0]
            again = solve_adapted(
                fresh,
                fresh.join(X1, T / k),
                params,
                passes=options.adapt_passes,
                tol=options.tol,
                max_iter=options.max_iter,
            )
            again.iterations += solved.iterations
            return again
    return solved


def _period_error(solved: Solved, params, options: CycleOptions) -> tuple[float, str]:
    """Richardson estimate of the period error from a solve on every other mesh point, and how
    it was obtained (or why there is none)."""
    col = solved.collocation
    if not options.error_estimate:
        return float("nan"), "not estimated (error_estimate=False)"
    if col.ntst % 2 or col.ntst < 6:
        return float("nan"), "not estimated (it needs an even ntst >= 6)"
    X, T = col.split(solved.v)
    coarse = Collocation(col.system, col.ntst // 2, col.ncol, col.mesh[::2])
    Xc = col.transfer(X, coarse)
    other = newton_solve(
        coarse, coarse.join(Xc, T), params, Xc, tol=options.tol, max_iter=options.max_iter
    )
    if other.status != Status.CONVERGED:
        return float("nan"), "not estimated (no cycle on the coarse mesh)"
    estimate = abs(other.v[-1] - T) / (2.0 ** (2 * col.ncol) - 1.0)
    return float(estimate), f"|T - T(ntst={coarse.ntst})| / (2^(2 ncol) - 1)"


def find_periodic_orbit(
    system,
    x0,
    period: float,
    *,
    params: Mapping[str, Any] | None = None,
    options: CycleOptions | None = None,
) -> xr.Dataset:
    """A periodic orbit (cycle) of a flow near a guess, with its Floquet multipliers.

    The orbit from ``x0`` over one period guess (DOP853) gives the first profile; Newton then
    solves the collocation equations (see :class:`Collocation`) for the profile and the period,
    first on a uniform mesh, then ``options.adapt_passes`` times on a mesh that equidistributes
    the error estimate. The multipliers come from the variational equation along the profile
    (see Notes).

    Parameters
    ----------
    system : System
        The flow ``x' = f(x; p)`` (not a Map).
    x0 : array_like, shape (n,)
        A state on or near the cycle.
    period : float
        A guess of its period (positive).
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : CycleOptions, optional
        Mesh, degree, adaptation, Newton and period bound.

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (the ``ntst * ncol`` representation points of the profile: normalized
        time ``t / period`` in ``[0, 1)``, Gauss-Lobatto points of each mesh interval),
        ``state``, ``mode`` (the ``n - 1`` nontrivial multipliers), ``mesh_point``.
        Vars: ``x(time, state)``; ``period``; ``amplitude`` (``max - min`` of the first state
        over the piecewise polynomial); ``x_min(state)``, ``x_max(state)``;
        ``multiplier_real/imag(mode)`` (nontrivial Floquet multipliers, largest modulus first);
        ``trivial_multiplier`` (the growth of the flow direction under the discretized
        linearization, 1 if exact) and ``floquet_error`` (``|trivial - 1|``, an indicator of
        the accuracy of the multipliers; it grows where the cycle lingers next to a saddle);
        ``stable`` (all nontrivial
        ``|multiplier| < 1``); ``mesh(mesh_point)``; ``status`` (a :class:`~dynsys.Status`:
        CONVERGED; MAX_ITER, SINGULAR_JACOBIAN or NONFINITE when Newton failed (also when the
        profile collapsed onto an equilibrium); PERIOD_BOUND beyond ``period_max``);
        ``newton_iterations``; ``residual``; ``period_error_estimate`` (from a second solve on
        every other mesh point; NaN if not estimated, attribute ``period_error_method`` says
        how or why not). All values are NaN unless the status is
        CONVERGED, and attribute ``message`` says why. Attributes: provenance, ``ntst``,
        ``ncol``, the options.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``system`` is a Map, or ``options`` is not a :class:`CycleOptions`.
    dynsys.errors.InputError
        If ``x0`` is not one state, or ``period`` is not positive and finite (or exceeds
        ``period_max``).
    dynsys.errors.UnknownParameterError
        If ``params`` names a parameter the system does not have.

    Notes
    -----
    The Floquet multipliers come from the variational equation along the collocation profile,
    stepped by Gauss-Legendre steps (the condensed collocation Jacobian of each mesh interval,
    subdivided where ``T h |f_x|`` exceeds 1/4, so stiff directions and long stretches near a
    saddle are resolved even where the profile needs few mesh points), and their eigenvalues
    from a block-cyclic matrix rather than the product of the steps, so multipliers of very
    different size (near a homoclinic orbit, ``exp(+-lambda T)``) keep their relative
    accuracy. See :class:`Collocation` and :func:`cyclic_eigenvalues`.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.cycles import find_periodic_orbit
    >>> from dynsys.models import stuart_landau
    >>> cycle = find_periodic_orbit(stuart_landau(mu=1.0, omega=2.0), [1.2, 0.0], 3.0)
    >>> bool(abs(float(cycle.period) - np.pi) < 1e-10), bool(cycle.stable)
    (True, True)
    >>> mu = cycle.multiplier_real.values[0]
    >>> bool(abs(mu - np.exp(-2 * np.pi)) < 1e-10)
    True
    """
    require_flow(system, "find_periodic_orbit()")
    options = _check_options(options)
    x = as_state_batch(x0, system.n, name="x0")
    if x.ndim != 1:
        raise InputError(f"`x0` must be one state of shape ({system.n},); got shape {x.shape}.")
    T0 = check_period(period, options.period_max)
    values = system.resolve_params(params)
    system = system.with_params(**values)
    col = Collocation(system, options.ntst, options.ncol)
    T0 = refined_period(system, x, T0, values, options.integrate_rtol)
    X0, reason = initial_profile(system, col, x, T0, values, options.integrate_rtol)
    if X0 is None:
        solved = Solved(
            col,
            col.join(np.zeros((col.points, col.n)), T0),
            Status.NONFINITE,
            0,
            float("nan"),
            reason,
        )
    else:
        solved = solve_adapted(
            col,
            col.join(X0, T0),
            values,
            passes=options.adapt_passes,
            tol=options.tol,
            max_iter=options.max_iter,
        )
        solved = _finish(solved, options, values)
    col = solved.collocation
    floquet = None
    period_error, how = float("nan"), "not estimated (no cycle)"
    if solved.status == Status.CONVERGED:
        floquet = col.floquet(solved.v, values)
        period_error, how = _period_error(solved, values, options)
    return cycle_dataset(
        system,
        col,
        solved.v,
        floquet or Floquet.unknown(system.n),
        status=solved.status,
        iterations=solved.iterations,
        residual=solved.residual,
        period_error=period_error,
        message=solved.message or "converged",
        period_error_method=how,
        **options.as_attrs(),
    )


def floquet_multipliers(system, cycle: xr.Dataset, *, params=None) -> Floquet:
    """The Floquet multipliers of a cycle Dataset, recomputed (see :func:`find_periodic_orbit`).

    Parameters
    ----------
    system : System
        The system the cycle belongs to.
    cycle : xarray.Dataset
        A result of :func:`find_periodic_orbit` (e.g. loaded from a file).
    params : mapping, optional
        Parameter values; by default those stored in ``cycle``.

    Returns
    -------
    Floquet
        ``trivial`` (the multiplier along the flow), ``nontrivial`` (the others, largest modulus
        first), ``error`` (``|trivial - 1|``), ``stable``, ``unstable_count``.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.cycles import find_periodic_orbit, floquet_multipliers
    >>> from dynsys.models import stuart_landau
    >>> system = stuart_landau(mu=0.5)
    >>> result = floquet_multipliers(system, find_periodic_orbit(system, [0.7, 0.0], 6.0))
    >>> bool(abs(result.nontrivial[0] - np.exp(-2 * np.pi)) < 1e-10), result.error < 1e-10
    (True, True)
    """
    require_flow(system, "floquet_multipliers()")
    col, v, values = read_cycle(system, cycle)
    values = system.resolve_params({**values, **dict(params or {})})
    return col.floquet(v, values)
