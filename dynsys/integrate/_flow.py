"""Orbits of a system: one at a time with scipy, or a whole batch at once.

:func:`trajectory` follows one orbit with :func:`scipy.integrate.solve_ivp` (the system's Jacobian
goes to the implicit methods) and returns a Dataset over ``(time, state)``.

:func:`flow` follows a batch of orbits together: a vectorized embedded Runge-Kutta pair, or for
stiff systems a Rosenbrock pair, with a step size per orbit, or fixed-step gradient descent
``x <- x - eta grad V`` (training is discrete). Each orbit stops on its own (convergence, escape,
non-finite values, time or step limit) and gets a :class:`~dynsys._status.Status` code; stopped
orbits leave the batch, so the vector field is only evaluated on orbits still running. The result
is a Dataset over ``(orbit, state)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from scipy.integrate import solve_ivp

from .._dataset import provenance, status_variable
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError
from ..maps import require_flow
from ._batch import BatchRecord
from ._compiled import StopRegions, run_compiled, uses_compiled
from ._descent import descent_flow, iteration_limit
from ._options import FlowOptions
from ._rk import TABLEAUX, rk_flow
from ._rosenbrock import rosenbrock_flow

__all__ = ["FlowOptions", "flow", "trajectory"]

_SCIPY_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
_IMPLICIT = ("Radau", "BDF", "LSODA")
_MAX_SAVED_VALUES = 250_000_000  # 2 GB of float64


def _time_span(t_span) -> tuple[float, float]:
    if np.ndim(t_span) == 0:
        t_span = (0.0, t_span)
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise InputError(
            f"`t_span` must be an end time T or a pair (t0, t1); got {t_span!r}."
        ) from None
    if not (np.isfinite(t0) and np.isfinite(t1)) or t0 == t1:
        raise InputError(f"`t_span` must hold two different finite times; got ({t0}, {t1}).")
    return t0, t1


def trajectory(
    system,
    x0,
    t_span,
    *,
    params: Mapping[str, float] | None = None,
    method: str = "RK45",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    t_eval=None,
    max_step: float = np.inf,
    events: Callable | Sequence[Callable] | None = None,
) -> xr.Dataset:
    """Follow one orbit with :func:`scipy.integrate.solve_ivp`.

    Parameters
    ----------
    system : System
        The system ``x' = f(x; p)``.
    x0 : array_like, shape (n,)
        Initial state.
    t_span : float or (float, float)
        End time ``T`` (from 0) or the pair ``(t0, t1)``; ``t1 < t0`` integrates backward.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    method : {"RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"}
        A solve_ivp method. The implicit ones (Radau, BDF, LSODA) receive ``system.jac``
        (analytic, sparse if the system's is, or finite differences).
    rtol, atol : float
        Relative and absolute tolerances of the local error.
    t_eval : array_like, optional
        Times at which to report the state; the solver's own steps when omitted.
    max_step : float
        Largest step allowed.
    events : callable or list of callables, optional
        As in solve_ivp: ``event(t, x) -> float``, with optional ``terminal`` and ``direction``
        attributes. The zeros found are stored as ``t_event_<i>(event_<i>)`` and
        ``x_event_<i>(event_<i>, state)``.

    Returns
    -------
    xarray.Dataset
        Dims ``time``, ``state``; vars ``x(time, state)`` and, for gradient systems,
        ``energy(time)``. Attrs: provenance, ``method``, ``rtol``, ``atol``, the solver's
        ``status`` (0 end reached, 1 terminal event, -1 failure) and ``message``, ``n_calls``
        (calls of the vector field, the name :func:`flow` uses too), ``n_jacobian_calls``,
        ``n_lu`` (LU decompositions). A failure of the solver is reported there, not raised.

    Raises
    ------
    ValueError
        If ``x0`` is not one finite state of length n, or ``t_span`` or ``method`` is invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.models import double_well
    >>> ds = trajectory(double_well(), [0.5, 1.0], 2.0, t_eval=[0.0, 2.0])
    >>> round(float(ds.x.sel(state="y")[-1]), 6) == round(float(np.exp(-2.0)), 6)
    True
    """
    require_flow(system, "trajectory()")
    x0 = as_state_batch(x0, system.n, name="x0")
    if x0.ndim != 1:
        raise InputError(
            f"`x0` has shape {x0.shape}; expected one state of shape ({system.n},). "
            "Use flow() for a batch of orbits."
        )
    t0, t1 = _time_span(t_span)
    if method not in _SCIPY_METHODS:
        raise InputError(f"`method` must be one of {list(_SCIPY_METHODS)}; got {method!r}.")
    p = system.resolve_params(params)

    def rhs(t, x):
        return system.f(x, p)

    kwargs: dict[str, Any] = {}
    if method in _IMPLICIT:
        jac = system.jac_dense if method == "LSODA" else system.jac
        kwargs["jac"] = lambda t, x: jac(x, p)
    sol = solve_ivp(
        rhs,
        (t0, t1),
        x0,
        method=method,
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        max_step=max_step,
        events=events,
        **kwargs,
    )
    states = list(system.state_names)
    data: dict[str, Any] = {
        "x": xr.Variable(("time", "state"), sol.y.T, attrs={"long_name": "state"}),
    }
    if system.is_gradient:
        data["energy"] = xr.Variable(
            "time", system.potential(sol.y.T, p), attrs={"long_name": "potential V"}
        )
    for i, (te, xe) in enumerate(zip(sol.t_events or [], sol.y_events or [], strict=True)):
        data[f"t_event_{i}"] = xr.Variable(
            f"event_{i}", te, attrs={"long_name": f"time of event {i}"}
        )
        data[f"x_event_{i}"] = xr.Variable(
            (f"event_{i}", "state"),
            np.reshape(xe, (-1, system.n)),
            attrs={"long_name": f"state at event {i}"},
        )
    attrs = provenance(
        system,
        **{f"param_{k}": float(v) for k, v in p.items()},
        method=method,
        rtol=rtol,
        atol=atol,
        max_step=float(max_step),
        t_start=t0,
        t_end=t1,
        status=int(sol.status),
        message=str(sol.message),
        n_calls=int(sol.nfev),
        n_jacobian_calls=int(sol.njev),
        n_lu=int(sol.nlu),
    )
    coords = {"time": ("time", sol.t, {"long_name": "time"}), "state": states}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def flow(
    system,
    x0,
    *,
    params: Mapping[str, float] | None = None,
    options: FlowOptions | None = None,
    progress: bool = False,
    stop_regions: StopRegions | None = None,
) -> xr.Dataset:
    """Follow a batch of orbits at once, each with its own step size and stopping rule.

    Parameters
    ----------
    system : System
        The system ``x' = f(x; p)``.
    x0 : array_like, shape (..., n)
        Initial states; all leading axes are flattened into the ``orbit`` dimension (C order).
        Non-finite starts are reported as ``nonfinite`` without disturbing the others.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : FlowOptions, optional
        Method, tolerances and stopping rules; ``FlowOptions()`` when omitted.
    progress : bool
        Show a tqdm progress bar counting finished orbits.
    stop_regions : StopRegions, optional
        Regions in which an orbit stops as ``converged`` before ``|f|`` is small (``dopri5``
        and ``dop853``): ellipsoids around attracting points, each checked (on a mesh, not
        proved) to lie in its point's basin, and trapping regions a model proves with a
        Lyapunov function (see :mod:`dynsys.basins`); the region is recorded in
        ``stop_region``.

    Returns
    -------
    xarray.Dataset
        Dims ``orbit``, ``state`` (and ``save`` when saving). Vars: ``x0``, ``x_final``
        ``(orbit, state)``; ``t_final``, ``status``, ``n_steps`` (accepted steps, or iterations),
        ``speed_final`` (``|f|_2`` at the final state, ``|grad V|_2`` for gradient descent),
        ``energy_final`` (gradient systems) over ``orbit``; ``n_rejected(orbit)`` for the
        step-size-controlled methods; with ``stop_regions`` ``stop_region(orbit)`` (the region an
        orbit stopped in, -1 for none); with saves ``x_saved(orbit, save, state)`` (NaN once an
        orbit has stopped), ``energy_saved(orbit, save)`` for gradient systems, coordinates
        ``time(save)`` and, for gradient descent, ``iteration(save)``. Attrs: provenance, every
        option, and the counters ``n_calls`` (calls of the vector field) and ``n_evaluations``
        (states evaluated; on the compiled path both count evaluations); for ``rosenbrock23``
        also ``n_jacobian_calls`` and ``n_jacobian_evaluations``; ``engine`` ("numpy" or
        "compiled": a system with a :class:`CompiledField`, run orbit by orbit in a compiled
        loop with the arithmetic of the numpy one).

    Raises
    ------
    ValueError
        If ``x0`` does not end in an axis of length n, or saving would need too much memory.
    TypeError
        If ``options`` is not a :class:`FlowOptions`.

    Examples
    --------
    >>> from dynsys import status_names
    >>> from dynsys.models import double_well
    >>> opts = FlowOptions(t_max=50.0, converge_tol=1e-8)
    >>> ds = flow(double_well(), [[0.5, 1.0], [-0.3, 2.0]], options=opts)
    >>> ds.x_final.sel(state="x").round(6).values.tolist()
    [1.0, -1.0]
    >>> status_names(ds.status).tolist()
    ['converged', 'converged']
    """
    run = follow(system, x0, params=params, options=options, progress=progress,
                 stop_regions=stop_regions)  # fmt: skip
    extra = {}
    if run.region is not None:
        extra["stop_region"] = xr.Variable(
            "orbit", run.region, attrs={"long_name": "stop region the orbit ended in (-1: none)"}
        )
    ds = _flow_dataset(system, run.params, run.x0, run.record, run.options, run.saves, extra)
    ds.attrs["engine"] = run.engine
    return ds


@dataclass(frozen=True)
class FollowedOrbits:
    """What :func:`follow` returns: the validated inputs and the orbits' record, as arrays."""

    x0: np.ndarray
    params: dict
    options: FlowOptions
    record: BatchRecord
    region: np.ndarray | None  # stop region of each orbit (-1: none); None without regions
    saves: dict
    engine: str


def follow(
    system,
    x0,
    *,
    params: Mapping[str, float] | None = None,
    options: FlowOptions | None = None,
    progress: bool = False,
    stop_regions: StopRegions | None = None,
) -> FollowedOrbits:
    """:func:`flow` without the dataset: the same checks and the same orbits, returned as arrays
    (for callers that follow many small batches, such as the chunks of a basin map, and would
    otherwise pay more for the dataset than for the orbits).

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> run = follow(double_well(), [[0.5, 1.0]], options=FlowOptions(converge_tol=1e-8))
    >>> run.record.x_final.round(6).tolist(), run.engine
    ([[1.0, 0.0]], 'numpy')
    """
    require_flow(system, "flow()")
    options = FlowOptions() if options is None else options
    if not isinstance(options, FlowOptions):
        raise InputTypeError(f"`options` must be a FlowOptions; got {type(options).__name__}.")
    n = system.n
    if options.converge_block is not None and n % options.converge_block:
        raise InputError(
            f"FlowOptions.converge_block = {options.converge_block} does not divide the state "
            f"dimension {n} of {system.name}; give the size of one block (e.g. the input "
            "dimension d for a network state W.ravel()) or None."
        )
    x0 = as_state_batch(x0, n, name="x0", allow_nonfinite=True).reshape(-1, n)
    n_orbits = x0.shape[0]
    p = system.resolve_params(params)
    descent = options.method == "gradient_descent"
    if descent:
        _, k_limit = iteration_limit(options.t_max, options.learning_rate, options.max_steps)
        n_saves = k_limit // options.save_every + 1 if options.save_every else 0
    save_times = np.asarray(options.save_times or (), dtype=float)
    if not descent:
        n_saves = save_times.size
    if n_orbits * n_saves * n > _MAX_SAVED_VALUES:
        what = "`save_every`" if descent else "the number of `save_times`"
        raise InputError(
            f"saving {n_saves} states of {n_orbits} orbits would take "
            f"{n_orbits * n_saves * n * 8 / 1e9:.1f} GB; increase {what} or integrate fewer "
            "orbits at a time."
        )
    regions = _check_regions(stop_regions, n, options)
    record = BatchRecord(n_orbits, n, n_saves)
    bar = _progress_bar(n_orbits, system.name) if progress else None
    if bar is not None:
        record.on_finish = bar.update
    compiled = uses_compiled(system, options, save_times)
    try:
        with np.errstate(all="ignore"):  # overflow and NaN become per-orbit status codes
            if compiled:
                region = run_compiled(system, p, x0, record, options, regions)
            else:
                region = _integrate(system, p, x0, record, options, save_times, regions)
    finally:
        if bar is not None:
            bar.close()
    if descent and options.save_every:
        saves = {"iteration": np.arange(n_saves) * options.save_every}
        saves["time"] = saves["iteration"] * options.learning_rate
    else:
        saves = {"time": save_times} if n_saves else {}
    return FollowedOrbits(
        x0,
        p,
        options,
        record,
        region if regions is not None else None,
        saves,
        "compiled" if compiled else "numpy",
    )


def _check_regions(regions, n: int, options: FlowOptions) -> StopRegions | None:
    if regions is None:
        return None
    if not isinstance(regions, StopRegions):
        raise InputTypeError(f"`stop_regions` must be a StopRegions; got {type(regions).__name__}.")
    if options.method not in ("dopri5", "dop853"):
        raise InputError(
            f"`stop_regions` apply to the Runge-Kutta methods dopri5 and dop853; got "
            f"method={options.method!r}. Pass stop_regions=None."
        )
    if (
        regions.centers.shape[1:] != (n,)
        or regions.forms.shape[1:] != (n, n)
        or regions.trap_normals.shape[1:] != (n,)
    ):
        raise InputError(
            f"`stop_regions` hold states of dimension {regions.centers.shape[1:]}; the system "
            f"has {n} states."
        )
    return regions


def _integrate(
    system, p, x0, record: BatchRecord, options: FlowOptions, save_times, regions=None
) -> np.ndarray:
    """Run the method of ``options`` on the batch ``x0``, filling ``record``; return the stop
    region each orbit ended in (-1: none)."""
    region = np.full(x0.shape[0], -1, dtype=np.int64)
    common = {
        "t_max": options.t_max,
        "converge_tol": options.converge_tol,
        "converge_block": options.converge_block,
        "escape_radius": options.escape_radius,
        "max_steps": options.max_steps,
    }
    if options.method == "gradient_descent":
        tail = None
        if system.is_gradient:
            direction = record.counted(lambda x: system.gradient(x, p))
            tail = system.descent_kernel
        else:  # explicit Euler: x <- x + eta f(x)
            direction = record.counted(lambda x: -system.f(x, p))
        descent_flow(
            direction,
            x0,
            record,
            learning_rate=options.learning_rate,
            save_every=options.save_every,
            tail=tail,
            **common,
        )
        return region
    stepping = {
        "rtol": options.rtol,
        "atol": options.atol,
        "first_step": options.first_step,
        "min_step": options.min_step,
        "max_step": options.max_step,
        "save_times": save_times,
        **common,
    }
    field = record.counted(lambda x: system.f(x, p))
    if options.method == "rosenbrock23":
        jac = record.counted_jacobian(lambda x: system.jac_dense(x, p))
        rosenbrock_flow(field, jac, x0, record, **stepping)
    else:
        if regions is not None and len(regions):
            stepping["region_test"] = regions.contains
            stepping["region_out"] = region
        rk_flow(field, x0, TABLEAUX[options.method], record, **stepping)
    return region


def _progress_bar(total: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"flow {name}", unit="orbit")


def _energy(system, p, x: np.ndarray) -> np.ndarray:
    """The potential at the finite rows of ``x`` (NaN elsewhere); any leading shape."""
    out = np.full(x.shape[:-1], np.nan)
    finite = np.isfinite(x).all(axis=-1)
    if finite.any():
        with np.errstate(all="ignore"):
            out[finite] = system.potential(x[finite], p)
    return out


def _flow_dataset(
    system, p, x0, record: BatchRecord, options: FlowOptions, saves, extra=None
) -> xr.Dataset:
    descent = options.method == "gradient_descent"
    os_ = ("orbit", "state")
    data: dict[str, Any] = {
        "x0": xr.Variable(os_, x0, attrs={"long_name": "initial state"}),
        "x_final": xr.Variable(os_, record.x_final, attrs={"long_name": "final state"}),
        "t_final": xr.Variable(
            "orbit",
            record.t_final,
            attrs={"long_name": "iterations x learning rate" if descent else "final time"},
        ),
        "status": status_variable(record.status, "orbit"),
        "n_steps": xr.Variable(
            "orbit",
            record.n_steps,
            attrs={"long_name": "iterations" if descent else "accepted steps"},
        ),
        "speed_final": xr.Variable(
            "orbit",
            record.speed_final,
            attrs={
                "long_name": "|grad V| at the final state"
                if descent and system.is_gradient
                else "|f| at the final state"
            },
        ),
    }
    if not descent:
        data["n_rejected"] = xr.Variable(
            "orbit", record.n_rejected, attrs={"long_name": "rejected steps"}
        )
    if system.is_gradient:
        data["energy_final"] = xr.Variable(
            "orbit",
            _energy(system, p, record.x_final),
            attrs={"long_name": "potential V at the final state"},
        )
    coords: dict[str, Any] = {"orbit": np.arange(x0.shape[0]), "state": list(system.state_names)}
    if record.x_saved is not None:
        data["x_saved"] = xr.Variable(
            ("orbit", "save", "state"), record.x_saved, attrs={"long_name": "saved state"}
        )
        if system.is_gradient:
            data["energy_saved"] = xr.Variable(
                ("orbit", "save"),
                _energy(system, p, record.x_saved),
                attrs={"long_name": "potential V at the saved state"},
            )
        for name, values in saves.items():
            coords[name] = ("save", values, {"long_name": name})
    settings = options.as_attrs()
    settings.update({f"param_{k}": float(v) for k, v in p.items()})
    counters = {"n_calls": record.n_calls, "n_evaluations": record.n_evaluations}
    if options.method == "rosenbrock23":
        counters["n_jacobian_calls"] = record.n_jacobian_calls
        counters["n_jacobian_evaluations"] = record.n_jacobian_evaluations
    attrs = provenance(system, **settings, **counters)
    return xr.Dataset({**data, **(extra or {})}, coords=coords, attrs=attrs)
