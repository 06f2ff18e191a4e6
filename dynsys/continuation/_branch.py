"""``continue_branch``: equilibria followed in one parameter, returned as a branch Dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import indexed_dataset, provenance, split_complex
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError, UnknownParameterError
from ..maps import Map
from ._map_branch import continue_map_branch
from ._options import ContinuationOptions
from ._points import as_points
from ._problem import EquilibriumProblem
from ._specials import end_status, labelled, special_variables
from ._trace import Traced, check_direction, initial_tangent, orient, refine_start, trace

__all__ = ["branch_dataset", "continue_branch", "equilibrium_problem", "trace_branch"]

STABLE_KINDS = ("sink node", "sink focus", "minimum")


def _check_options(options) -> ContinuationOptions:
    if options is None:
        return ContinuationOptions()
    if not isinstance(options, ContinuationOptions):
        raise InputTypeError(
            f"`options` must be a ContinuationOptions; got {type(options).__name__}. "
            "Build one with ContinuationOptions(ds=..., ...)."
        )
    return options


def equilibrium_problem(system, param: str, params, options):
    """The problem object and the system with the run's parameter values as defaults."""
    if not isinstance(param, str) or param not in system.param_names:
        raise UnknownParameterError(
            f"`param` {param!r} is not a parameter of system '{system.name}'; it has "
            f"{sorted(system.param_names)}."
        )
    values = system.resolve_params(params)
    system = system.with_params(**values)
    return EquilibriumProblem(system, param, values, options), system


def continue_branch(
    system,
    x0,
    param: str,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions | None = None,
    direction: int | str = "both",
    progress: bool = False,
    period: int | None = None,
) -> xr.Dataset:
    """Follow a branch of equilibria (of a flow), or of fixed points or cycles (of a map), in
    one parameter by pseudo-arclength continuation.

    Parameters
    ----------
    system : System, GradientSystem or Map
        The vector field; ``system.jac`` may return ``scipy.sparse`` matrices. For a
        :class:`~dynsys.maps.Map` the branch holds its fixed points (``period=1``) or cycles of
        period ``period`` (see Maps below).
    x0 : array_like, shape (n,)
        A state at or near an equilibrium at the start value of ``param``; it is corrected by
        Newton first. For a map: one point of the cycle (the others are its images), or all
        ``period`` points in the order of the map, shape ``(period, n)``.
    param : str
        Name of the parameter to continue in. Its start value is ``params[param]`` or the
        system's default.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : ContinuationOptions, optional
        Steps, bounds, tolerances and which special points to detect.
    direction : {1, -1, "both"}
        Continue with the parameter increasing first (1), decreasing first (-1), or both ways;
        "both" orders the steps from one end of the branch to the other.
    progress : bool
        Show a tqdm progress bar per direction.
    period : int, optional
        Maps only: the period of the cycles continued (1, fixed points, by default).

    Returns
    -------
    xarray.Dataset
        Dims ``step``, ``state``, ``mode``, ``special``, ``end``. Along the branch: ``param(step)``,
        ``x(step, state)``, ``eigenvalue_real/imag(step, mode)`` (all eigenvalues, or for a
        sparse Jacobian the ``n_eigen`` of smallest modulus; sorted by real part, descending),
        ``stable(step)``, ``index(step)``, ``nullity(step)``, ``kind(step)`` (as in
        :func:`dynsys.stability.classify_eigenvalues`), ``arclength(step)`` (signed, 0 at the
        start), ``newton_iterations(step)``, ``tangent_param(step)`` (the fold test function).
        Special points: ``special_type`` ("LP" fold, "BP" branch point, "H" Hopf, "IC" other
        change of the index), ``special_param``, ``special_x(special, state)``,
        ``special_step`` (it lies between steps ``special_step`` and ``special_step + 1``),
        ``special_status`` (a :class:`~dynsys.Status` flag variable: CONVERGED when located,
        MAX_ITER when not located to ``locate_tol``), ``special_delta_index`` (change of the
        index across that interval), ``special_fold_a`` (fold quadratic coefficient),
        ``special_hopf_omega`` (Hopf frequency), ``special_lyapunov`` (first Lyapunov
        coefficient), ``special_arclength``. Ends: ``status(end)``, why each traced direction
        stopped (PARAM_BOUND, STATE_BOUND, MAX_POINTS, CLOSED_LOOP or STEP_UNDERFLOW; see
        :func:`dynsys.explain`), with ``end`` the traced directions among "backward" and
        "forward". Attributes: provenance, ``continuation_param``, the options
        (:meth:`ContinuationOptions.as_attrs`), counters. For a map, see Maps below.

    Raises
    ------
    dynsys.errors.UnknownParameterError
        If ``param`` or a key of ``params`` is not a parameter of the system.
    dynsys.errors.InputTypeError
        If ``options`` is not a :class:`ContinuationOptions`.
    ContinuationError
        If Newton cannot bring ``x0`` onto an equilibrium (a cycle).
    dynsys.errors.InputError
        If ``x0`` has the wrong shape, ``direction`` is invalid, the start value of the
        parameter lies outside ``[p_min, p_max]``, ``period`` is given for a flow or is not a
        positive integer.

    Notes
    -----
    Test functions between neighbouring points: the parameter component of the tangent (LP),
    the sign of the determinant of the bordered Jacobian ``[J f_p; t^T]`` (BP), and for Hopf
    ``sign(prod Re) * min |Re|`` over the complex pairs together with a change of the number of
    eigenvalues with positive real part (so neutral saddles and pairs that merge on the real
    axis are not Hopf points). Each sign change is located by Illinois regula falsi in arclength
    on the branch. With a sparse Jacobian the index is exact when the Jacobian is symmetric
    (Sylvester's law of inertia on an LU factorisation with diagonal pivots); otherwise it counts
    the monitored eigenvalues only (attribute ``index_method`` says which). The fold coefficient
    is oriented so that ``a > 0`` means the two equilibria exist below the fold value.

    Maps: the unknowns are all ``period`` points of the cycle and the parameter, with
    residuals ``g(x_i) - x_(i+1 mod period)`` (multiple shooting; see
    ``dynsys.continuation._map_problem`` for why). The branch Dataset has the layout above
    with ``x(step, state)`` the first point of the cycle, ``x_cycle(step, phase, state)`` all
    of them, ``multiplier_real/imag(step, mode)`` (eigenvalues of ``D g^period``, sorted by
    modulus, descending) instead of the eigenvalues, ``stable(step)`` when every
    ``|mu| < 1``, ``index`` (multipliers outside the unit circle), ``nullity`` (on it), ``kind``
    (:func:`dynsys.stability.classify_multipliers`), and the attribute ``period``. Special
    points: "LP" (fold, multiplier +1), "BP" (branch point), "PD" (period doubling,
    multiplier -1), "NS" (Neimark-Sacker, a complex pair on the unit circle), each located
    where its test function changes sign; the table adds ``special_x_cycle``,
    ``special_multiplier_real/imag(special, mode)``, ``special_flip_c`` (the period-doubling
    coefficient: > 0 supercritical) and ``special_ns_angle`` (the pair is ``exp(+-i theta)``),
    and has no Hopf columns. :func:`switch_branch` at a PD follows the doubled cycle.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch
    >>> from dynsys.models import fold_normal_form
    >>> branch = continue_branch(fold_normal_form(), [1.0], "mu",
    ...                          options=ContinuationOptions(ds_max=0.2, p_max=1.0))
    >>> branch["special_type"].values.tolist(), abs(float(branch["special_param"][0])) < 1e-12
    (['LP'], True)

    Gradient descent on the double well: the minimum x = 1 (curvature 2) loses stability at
    step 1 where its multiplier 1 - 2 eta passes -1.

    >>> from dynsys.maps import gradient_descent_map
    >>> from dynsys.models import double_well
    >>> gd = gradient_descent_map(double_well(), step=0.5)
    >>> branch = continue_branch(gd, [1.0, 0.0], "eta",
    ...                          options=ContinuationOptions(p_min=0.1, p_max=1.5, ds_max=0.2))
    >>> pd = branch["special_type"].values.tolist().index("PD")
    >>> mu = float(branch["special_multiplier_real"][pd, 0])
    >>> round(float(branch["special_param"][pd]), 12), round(mu, 12)
    (1.0, -1.0)
    """
    options = _check_options(options)
    if isinstance(system, Map):
        return continue_map_branch(
            system,
            x0,
            param,
            period=1 if period is None else period,
            params=params,
            options=options,
            direction=direction,
            progress=progress,
        )
    if period is not None:
        raise InputError(
            f"`period` applies to maps; '{system.name}' is a flow. Build a map (for example "
            "dynsys.maps.gradient_descent_map(system)) to continue cycles of a map."
        )
    problem, system, traced = trace_branch(system, x0, param, params, options, direction, progress)
    return branch_dataset(problem, system, traced, options, direction=str(direction))


def trace_branch(system, x0, param, params, options, direction, progress, *, describe=True):
    """Checks, start refinement and tracing behind :func:`continue_branch` (``describe``: as for
    :func:`~dynsys.continuation._trace.trace`)."""
    check_direction(direction)
    problem, system = equilibrium_problem(system, param, params, options)
    x = as_state_batch(x0, system.n, name="x0")
    if x.ndim != 1:
        raise InputError(f"`x0` must be one state of shape ({system.n},); got shape {x.shape}.")
    p0 = float(problem.base[param])
    if not options.p_min <= p0 <= options.p_max:
        raise InputError(
            f"the start value {param}={p0!r} lies outside [p_min, p_max] = "
            f"[{options.p_min!r}, {options.p_max!r}]; widen the bounds or start elsewhere."
        )
    u = refine_start(problem, np.append(x, p0), options, "`x0`")
    t = orient(initial_tangent(problem, u))
    traced = trace(
        problem, u, t, direction, options, progress=progress, label=param, describe=describe
    )
    return problem, system, traced


def _special_table(problem, traced: Traced, index: np.ndarray, n: int) -> dict[str, xr.Variable]:
    specials = traced.specials
    m = len(specials)
    last = len(traced.points) - 1
    delta = []
    for s in specials:
        if s.info.get("junction"):
            lo, hi = max(s.step - 1, 0), min(s.step + 1, last)
        else:
            lo, hi = s.step, min(s.step + 1, last)
        delta.append(int(index[hi] - index[lo]))
    s_left = traced.arclength
    arclength = [
        float(s_left[s.step] + traced.points[s.step].t @ (s.point.u - traced.points[s.step].u))
        for s in specials
    ]

    var = labelled
    info = {
        key: np.array([s.info.get(key, np.nan) for s in specials], dtype=float)
        for key in ("fold_a", "hopf_omega", "lyapunov")
    }
    return {
        **special_variables(specials, n, "LP fold, BP branch point, H Hopf, IC index change"),
        "special_param": var(
            "special",
            np.array([s.point.u[n] for s in specials], dtype=float),
            f"parameter {problem.param} at the special point",
        ),
        "special_delta_index": var(
            "special",
            np.array(delta, dtype=np.int64),
            "change of the unstable index across the special point",
        ),
        "special_fold_a": var(
            "special",
            info["fold_a"],
            "fold quadratic coefficient a = <p, B(q, q)>/2 (NaN if not LP)",
        ),
        "special_hopf_omega": var(
            "special",
            info["hopf_omega"],
            "Hopf frequency (NaN if not H)",
            units="rad per unit time",
        ),
        "special_lyapunov": var(
            "special", info["lyapunov"], "first Lyapunov coefficient (NaN if not H or not computed)"
        ),
        "special_arclength": var(
            "special",
            np.array(arclength, dtype=float).reshape(m),
            "pseudo-arclength at the special point",
        ),
    }


def branch_dataset(
    problem, system, traced: Traced, options: ContinuationOptions, **attrs: Any
) -> xr.Dataset:
    """Assemble the branch Dataset (layout documented in :func:`continue_branch`)."""
    n = problem.n
    pts = as_points(traced.points)
    U = np.ascontiguousarray(pts.u, dtype=float)
    eig = np.asarray(pts.column("eig"))
    index = np.asarray(pts.column("index"), dtype=np.int64)
    nullity = np.asarray(pts.column("nullity"), dtype=np.int64)
    kind = np.array(pts.column("kind").tolist(), dtype=str)
    variables: dict[str, xr.Variable] = {
        "param": xr.Variable("step", U[:, n], {"long_name": f"parameter {problem.param}"}),
        "x": xr.Variable(("step", "state"), U[:, :n], {"long_name": "state"}),
        **split_complex(eig, ("step", "mode"), "eigenvalue", "Jacobian eigenvalue"),
        "stable": xr.Variable(
            "step",
            np.isin(kind, STABLE_KINDS),
            {"long_name": "asymptotically stable (hyperbolic sink)"},
        ),
        "index": xr.Variable(
            "step", index, {"long_name": "number of eigenvalues with positive real part"}
        ),
        "nullity": xr.Variable(
            "step", nullity, {"long_name": "number of numerically zero eigenvalues"}
        ),
        "kind": xr.Variable("step", kind, {"long_name": "kind of equilibrium"}),
        "arclength": xr.Variable(
            "step", traced.arclength, {"long_name": "pseudo-arclength from the start point"}
        ),
        "newton_iterations": xr.Variable(
            "step",
            np.asarray(pts.iterations, dtype=np.int64),
            {"long_name": "corrector Newton iterations"},
        ),
        "tangent_param": xr.Variable(
            "step",
            np.array(pts.t[:, -1], dtype=float),
            {"long_name": "parameter component of the unit tangent (fold test function)"},
        ),
        **_special_table(problem, traced, index, n),
    }
    complete = bool(np.all(pts.column("complete")))
    if complete:
        index_method = "all eigenvalues"
    elif np.all(pts.column("inertia")):
        index_method = "inertia of the symmetric Jacobian (exact)"
    else:
        index_method = "monitored eigenvalues only (a lower bound)"
    variables["status"], end = end_status(traced.stop_backward, traced.stop_forward)
    settings = {
        "continuation_param": problem.param,
        **options.as_attrs(),
        "eigenvalues": "all" if complete else f"{options.n_eigen} of smallest modulus",
        "index_method": index_method,
        "start_step": traced.start_step,
        "n_points": len(pts),
        "n_special": len(traced.specials),
        "n_newton_iterations": traced.n_newton,
        "n_rejected_steps": traced.n_rejected,
        **attrs,
    }
    return indexed_dataset(
        variables,
        {
            "step": np.arange(len(pts)),
            "state": list(system.state_names),
            "mode": np.arange(eig.shape[1]),
            "special": np.arange(len(traced.specials)),
            "end": end,
        },
        provenance(system, **settings),
    )
