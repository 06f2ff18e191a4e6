"""``continue_cycle``: a branch of periodic orbits of a flow in one parameter, started from a cycle
or from a Hopf point of an equilibrium branch, with folds of cycles (LPC), branch points (BP),
period doublings (PD), Neimark-Sacker points (NS), and its ends (a period bound near a homoclinic
orbit, a Hopf point where the cycles shrink onto an equilibrium)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._status import Status
from ..cycles import Collocation, CycleOptions, collapsed, read_cycle, solve_adapted
from ..errors import ContinuationError, InputError, InputTypeError, UnknownParameterError
from ..maps import require_flow
from ._branch import _check_options
from ._cycle_dataset import cycle_branch_dataset
from ._cycle_problem import CycleProblem
from ._cycle_trace import trace_cycles
from ._linalg import Factorization, SingularMatrixError, bordered
from ._normal_forms import lyapunov_coefficient
from ._palc import newton
from ._trace import check_direction, initial_tangent, orient

__all__ = ["continue_cycle", "hopf_cycle_guess"]

_MAX_EQUILIBRIUM_NEWTON = 20


def _cycle_options(cycle_options) -> CycleOptions:
    if cycle_options is None:
        return CycleOptions()
    if not isinstance(cycle_options, CycleOptions):
        raise InputTypeError(
            f"`cycle_options` must be a CycleOptions; got {type(cycle_options).__name__}."
        )
    return cycle_options


def _stored_params(system, ds: xr.Dataset) -> dict[str, float]:
    return {k: ds.attrs[f"param_{k}"] for k in system.param_names if f"param_{k}" in ds.attrs}


# ---------------------------------------------------------------------------- Hopf start
def _equilibrium(system, x, values, param, value):
    """The equilibrium near ``x`` at ``param = value`` (dense Newton), or None."""
    p = {**values, param: value}
    for _ in range(_MAX_EQUILIBRIUM_NEWTON):
        step = np.linalg.solve(system.jac_dense(x, p), system.f(x, p))
        x = x - step
        if np.max(np.abs(step)) <= 1e-13 * (1.0 + np.max(np.abs(x))):
            return x
    return None


def _critical_eigenvalue(A: np.ndarray, omega: float) -> complex:
    values = np.linalg.eigvals(A)
    return complex(values[np.argmin(np.abs(values - 1j * omega))])


def _crossing_speed(system, x, values, param, omega) -> float:
    """``d Re(lambda) / d param`` of the critical pair along the equilibrium branch (central
    differences of the eigenvalue at the equilibria on both sides)."""
    p0 = values[param]
    delta = 1e-5 * (1.0 + abs(p0))
    A = system.jac_dense(x, values)
    x_p = -np.linalg.solve(A, np.asarray(system.dfdp(x, param, values), dtype=float))
    re = []
    for sign in (1.0, -1.0):
        xe = _equilibrium(system, x + sign * delta * x_p, values, param, p0 + sign * delta)
        if xe is None:
            return float("nan")
        lam = _critical_eigenvalue(
            system.jac_dense(xe, {**values, param: p0 + sign * delta}), omega
        )
        re.append(lam.real)
    return (re[0] - re[1]) / (2.0 * delta)


def hopf_cycle_guess(system, x_hopf, values, param, omega, lyapunov, radius):
    """The small cycle born at a Hopf point, from its normal form.

    With ``A q = i omega q`` (``|q| = 1``), the centre-manifold coordinate ``w`` obeys
    ``w' = (alpha + i omega) w + c1 w |w|^2`` with ``l1 = Re(c1) / omega``: the cycle has
    ``|w|^2 = -alpha / (omega l1)`` and ``x = x_hopf + 2 Re(w q)``. For ``|w| = radius`` the
    parameter moves by ``dp = -omega l1 radius^2 / alpha'`` (0 when ``l1`` is unknown: the
    start Newton finds the parameter). Returns ``(profile function of
    normalized time, period, dp, alpha')``.
    """
    A = np.asarray(system.jac_dense(x_hopf, values), dtype=float)
    eigenvalues, vectors = np.linalg.eig(A)
    k = int(np.argmin(np.abs(eigenvalues - 1j * omega)))
    q = vectors[:, k] / np.linalg.norm(vectors[:, k])
    if eigenvalues[k].imag < 0:
        q = q.conj()
    speed = _crossing_speed(system, x_hopf, values, param, omega)
    if not (np.isfinite(speed) and abs(speed) > 1e-12):
        raise ContinuationError(
            f"the Hopf pair does not cross the imaginary axis transversally in {param!r} "
            f"(d Re(lambda)/d{param} = {speed:.3g}); start from a cycle instead "
            "(find_periodic_orbit)."
        )
    dp = -omega * lyapunov * radius**2 / speed if np.isfinite(lyapunov) else 0.0

    def profile(tau):
        phase = np.exp(2j * np.pi * np.asarray(tau))[:, None]
        return x_hopf + 2.0 * radius * (phase * q).real

    return profile, 2.0 * np.pi / omega, dp, speed


def _hopf_start(system, branch, special, param, params, options, cycle_options):
    if branch.attrs.get("continuation_param") != param:
        raise InputError(
            f"`start` is a branch continued in {branch.attrs.get('continuation_param')!r}; "
            f"continue its Hopf cycles in that parameter, not {param!r}."
        )
    types = branch["special_type"].values
    hopf = np.flatnonzero(types == "H")
    if special is None:
        if hopf.size == 0:
            raise InputError(
                "`start` has no Hopf point (H) in its special-point table; continue the "
                "equilibria with 'H' in ContinuationOptions.detect, or start from a cycle."
            )
        special = int(hopf[0])
    elif not (isinstance(special, int | np.integer) and 0 <= special < types.size):
        raise InputError(f"`special` must index the {types.size} special points; got {special!r}.")
    elif types[special] != "H":
        raise InputError(f"special point {special} is {types[special]!r}, not a Hopf point 'H'.")
    values = system.resolve_params({**_stored_params(system, branch), **dict(params or {})})
    x_h = np.asarray(branch["special_x"].values[special], dtype=float)
    values[param] = float(branch["special_param"].values[special])
    omega = float(branch["special_hopf_omega"].values[special])
    l1 = float(branch["special_lyapunov"].values[special])
    if not np.isfinite(l1):
        A = np.asarray(system.jac_dense(x_h, values), dtype=float)
        l1 = lyapunov_coefficient(A, lambda z: system.jac_dense(z, values), x_h, omega)
    if not (np.isfinite(omega) and omega > 0):
        raise ContinuationError(
            f"the Hopf point {special} has no valid frequency ({omega!r}); continue the "
            "equilibria again to locate it."
        )
    radius = options.ds / np.sqrt(2.0)
    profile, period, dp, speed = hopf_cycle_guess(system, x_h, values, param, omega, l1, radius)
    col = Collocation(system, cycle_options.ntst, cycle_options.ncol)
    start_values = {**values, param: values[param] + dp}
    X = profile(col.times)
    X[-1] = X[0]
    info = {
        "start": "hopf",
        "hopf_special": int(special),
        "hopf_param": values[param],
        "hopf_omega": omega,
        "hopf_lyapunov": l1,
        "hopf_crossing_speed": speed,
    }
    return col, X, period, start_values, info, x_h


def _cycle_start(system, cycle, params, cycle_options):
    col, v, values = read_cycle(system, cycle)
    values = system.resolve_params({**values, **dict(params or {})})
    X, T = col.split(v)
    if (col.ntst, col.ncol) != (cycle_options.ntst, cycle_options.ncol):
        target = col.adapted(X, ntst=cycle_options.ntst, ncol=cycle_options.ncol)
        X, col = col.transfer(X, target), target
    return col, X, T, values, {"start": "cycle"}


# ---------------------------------------------------------------------------- corrected starts
def _corrected_cycle(system, param, values, options, cycle_options, col, X, T):
    """The start cycle by Newton at the start parameter (mesh adapted), as a problem and its
    unknowns; ContinuationError when there is none."""
    p0 = float(values[param])
    solved = solve_adapted(
        col,
        col.join(X, T),
        values,
        passes=cycle_options.adapt_passes,
        tol=cycle_options.tol,
        max_iter=cycle_options.max_iter,
    )
    col = solved.collocation
    X, T = col.split(solved.v)
    if solved.status != Status.CONVERGED or collapsed(col, X, cycle_options.min_amplitude):
        reason = solved.message or "the profile collapsed onto an equilibrium"
        raise ContinuationError(
            f"no cycle found at the start ({param}={p0:.6g}): {reason}. Give a better cycle, "
            "or check the parameter values."
        )
    problem = CycleProblem(system, param, values, options, cycle_options, col)
    problem.reference = X
    return problem, problem.pack(X, T, p0)


def _corrected_hopf_cycle(system, param, values, options, cycle_options, col, X, T, x_hopf):
    """The small cycle next to a Hopf point: Newton in the profile, period and parameter with
    the size of the deviation from the Hopf equilibrium held (the fixed-parameter problem is
    nearly singular there: a multiplier is close to 1). Returns the problem, the unknowns and
    the tangent pointing away from the Hopf point."""
    problem = CycleProblem(system, param, values, options, cycle_options, col)
    u_guess = problem.pack(X, T, float(values[param]))
    away = problem.pack(X - x_hopf, 0.0, 0.0)
    away /= np.linalg.norm(away)
    problem.reference = X
    found = newton(
        problem,
        u_guess,
        away,
        float(away @ u_guess),
        options.newton.step_tol,
        max(options.newton.max_iter, cycle_options.max_iter),
    )
    if found is None or collapsed(col, problem.unpack(found[0])[0], cycle_options.min_amplitude):
        raise ContinuationError(
            f"Newton found no cycle next to the Hopf point ({param}={values[param]:.6g}) from "
            "the normal-form guess; try a smaller ContinuationOptions.ds (the start radius is "
            "ds / sqrt(2))."
        )
    u = found[0]
    problem.reference = problem.unpack(u)[0]
    last = np.zeros(problem.size)
    last[-1] = 1.0
    try:
        t = Factorization(bordered(problem.jacobian(u), away)).solve(last)
    except SingularMatrixError:
        raise ContinuationError(
            "the cycle branch at the Hopf point has no unique tangent."
        ) from None
    t /= np.linalg.norm(t)
    return problem, u, (t if float(t @ away) > 0 else -t)


# ---------------------------------------------------------------------------- public
def continue_cycle(
    system,
    start: xr.Dataset,
    param: str,
    *,
    special: int | None = None,
    params: Mapping[str, Any] | None = None,
    options=None,
    cycle_options: CycleOptions | None = None,
    direction: int | str | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Follow a branch of periodic orbits in one parameter by pseudo-arclength continuation.

    Parameters
    ----------
    system : System
        The flow (not a Map).
    start : xarray.Dataset
        A cycle from :func:`dynsys.cycles.find_periodic_orbit`, or an equilibrium branch from
        :func:`continue_branch` with a Hopf point ("H"; the first one, or the row ``special``):
        the branch starts on the small cycle the normal form predicts there (radius
        ``ds / sqrt(2)`` in the centre-manifold coordinate, along the critical eigenvector;
        period ``2 pi / omega``; parameter shifted by ``-omega l1 r^2 / alpha'``).
    param : str
        The parameter to continue in (for a Hopf start, the branch's parameter).
    special : int, optional
        Row of the Hopf point in ``start``'s special-point table.
    params : mapping, optional
        Parameter values; by default those stored in ``start``.
    options : ContinuationOptions, optional
        Steps, bounds (``p_min``, ``p_max``, ``x_max`` on the profile), corrector, special
        points looked for (``"LPC"``, ``"BP"``, ``"PD"``, ``"NS"`` in ``detect``; the Hopf end
        "H" always).
    cycle_options : CycleOptions, optional
        Mesh (``ntst``, ``ncol``), ``adapt_every`` (steps between mesh adaptations),
        ``period_max`` (the branch stops there), Newton settings of the start.
    direction : {None, 1, -1, "both"}
        1: parameter increasing first; -1: decreasing; "both": both ways. None (default): away
        from the Hopf point for a Hopf start, both ways for a cycle.
    progress : bool
        Show a progress bar per direction.

    Returns
    -------
    xarray.Dataset
        Dims ``step``, ``time`` (profile samples), ``state``, ``mode`` (the ``n - 1``
        nontrivial multipliers), ``mesh_point``, ``special``, ``end``. Along the branch:
        ``param(step)``, ``period(step)``, ``amplitude(step)`` (``max - min`` of the first
        state), ``x(step, time, state)`` (the profile at normalized times ``tau(step, time)``,
        on the mesh ``mesh(step, mesh_point)`` of that step), ``x_min/x_max(step, state)``,
        ``multiplier_real/imag(step, mode)`` (largest modulus first), ``trivial_multiplier``
        and ``floquet_error`` (``|trivial - 1|``), ``stable(step)``,
        ``unstable_multipliers(step)`` (how many lie outside the unit circle),
        ``arclength(step)``, ``newton_iterations(step)``, ``tangent_param(step)``. Special
        points: ``special_type`` ("LPC" fold of cycles, "BP" branch point of cycles, "PD"
        period doubling, "NS" Neimark-Sacker, "H" the Hopf point where the cycles shrink onto
        an equilibrium and the branch ends), ``special_step`` (between steps
        ``special_step`` and ``special_step + 1``), ``special_status`` (CONVERGED, or MAX_ITER
        when not located to ``locate_tol``), ``special_param``, ``special_period``,
        ``special_amplitude``, ``special_x(special, time, state)``, ``special_tau``,
        ``special_multiplier_real/imag`` (the critical multiplier), ``special_arclength``.
        Ends: ``status(end)`` (PARAM_BOUND, PERIOD_BOUND, HOPF_POINT, STATE_BOUND, MAX_POINTS
        or STEP_UNDERFLOW; see :func:`dynsys.explain`). Attributes: provenance,
        ``continuation_param``, both options, the start (``start`` is "hopf" or "cycle"; for
        a Hopf start ``hopf_param``, ``hopf_omega``, ``hopf_lyapunov``), counters.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``system`` is a Map, ``start`` is not a Dataset, or an options object has the wrong
        type.
    dynsys.errors.UnknownParameterError
        If ``param`` is not a parameter of the system.
    dynsys.errors.InputError
        If ``start`` holds no usable cycle or Hopf point, ``direction`` is invalid, or the
        start lies outside ``[p_min, p_max]``.
    ContinuationError
        If Newton finds no cycle at the start (or the start collapses onto an equilibrium),
        or the Hopf point is degenerate.

    Notes
    -----
    Unknowns: the profile scaled by the square roots of its quadrature weights, the period and
    the parameter, so the arclength is ``int |x|^2 dtau + T^2 + p^2`` whatever the mesh. The
    phase condition refers to the previous point. The mesh is adapted every
    ``cycle_options.adapt_every`` steps (the engine runs in segments of that many steps, each on
    one mesh; the last point of a segment is moved to the new mesh and corrected there). LPC:
    the parameter component of the tangent changes sign; BP: the sign of the determinant of the
    bordered Jacobian; H: the deviation of the profile from its mean changes sign (zero
    amplitude); PD: ``sign(prod(1 + mu)) min|1 + mu|`` over the real nontrivial multipliers; NS:
    ``sign(prod(|mu| - 1)) min||mu| - 1|`` over the complex pairs; PD and NS also need a change
    of the number of multipliers outside the unit circle.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
    >>> from dynsys.cycles import CycleOptions
    >>> from dynsys.models import stuart_landau
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.0)
    >>> eq = continue_branch(stuart_landau(mu=-0.5), [0.0, 0.0], "mu", options=opts)
    >>> cycles = continue_cycle(stuart_landau(), eq, "mu", options=opts,
    ...                         cycle_options=CycleOptions(ntst=20))
    >>> radius = np.hypot(cycles.x[..., 0], cycles.x[..., 1]).max("time")
    >>> bool(np.allclose(radius, np.sqrt(cycles.param), atol=1e-8)), int(cycles.status[0])
    (True, 13)
    """
    require_flow(system, "continue_cycle()")
    options = _check_options(options)
    cycle_options = _cycle_options(cycle_options)
    if direction is not None:
        check_direction(direction)
    if not isinstance(param, str) or param not in system.param_names:
        raise UnknownParameterError(
            f"`param` {param!r} is not a parameter of system '{system.name}'; it has "
            f"{sorted(system.param_names)}."
        )
    if not isinstance(start, xr.Dataset):
        raise InputTypeError(
            f"`start` must be a cycle Dataset (find_periodic_orbit) or an equilibrium branch "
            f"with a Hopf point (continue_branch); got {type(start).__name__}."
        )
    x_hopf = None
    if "special_type" in start and "special_hopf_omega" in start:
        col, X, T, values, info, x_hopf = _hopf_start(
            system, start, special, param, params, options, cycle_options
        )
    elif "period" in start and "mesh" in start and "step" not in start.dims:
        col, X, T, values, info = _cycle_start(system, start, params, cycle_options)
    else:
        raise InputError(
            "`start` is neither a cycle Dataset (find_periodic_orbit) nor an equilibrium branch "
            "with Hopf points (continue_branch)."
        )
    p0 = float(values[param])
    if not options.p_min <= p0 <= options.p_max:
        raise InputError(
            f"the start value {param}={p0!r} lies outside [p_min, p_max] = "
            f"[{options.p_min!r}, {options.p_max!r}]; widen the bounds or start elsewhere."
        )
    system = system.with_params(**values)
    if x_hopf is None:
        problem, u = _corrected_cycle(system, param, values, options, cycle_options, col, X, T)
        t = orient(initial_tangent(problem, u), 1)
        direction = "both" if direction is None else direction
    else:
        problem, u, t = _corrected_hopf_cycle(
            system, param, values, options, cycle_options, col, X, T, x_hopf
        )
        if direction is None:
            direction = "away"
        else:
            t = orient(t, 1)
    signs = {"away": [1], "both": [1, -1]}.get(direction) or [int(direction)]
    traced = trace_cycles(problem, u, t, signs, options, progress=progress, label=param)
    return cycle_branch_dataset(
        problem,
        system,
        traced,
        options,
        cycle_options,
        direction=str(direction),
        **info,
    )
