"""Lyapunov spectra by the QR method of Benettin et al. and Shimada and Nagashima.

A batch of orbits carries orthonormal tangent bases ``Q (n, k)``. Over each interval the bases
are advanced by the linearised dynamics (the variational equation ``Y' = J(x) Y`` of a flow,
integrated with the state; the product of the Jacobians ``Dg`` of a map) and factored again,
``Y = Q R``: ``log |R_ii|`` is the growth of the volume of the first ``i`` directions relative to
the first ``i - 1``, and its time average is the ``i``-th exponent.

References
----------
G. Benettin, L. Galgani, A. Giorgilli and J.-M. Strelcyn, Meccanica 15, 9 and 21 (1980).
I. Shimada and T. Nagashima, Prog. Theor. Phys. 61, 1605 (1979).
J. L. Kaplan and J. A. Yorke, Lecture Notes in Math. 730, 204 (1979).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, status_variable
from .._status import Status
from .._validate import as_float_array, as_state_batch
from ..errors import InputError, InputTypeError
from ..maps import Map
from ..system import System
from ._options import LyapunovOptions
from ._variational import TangentStepper

__all__ = ["kaplan_yorke_dimension", "lyapunov_spectrum"]

_FLOW_DEFAULTS = {"t_transient": 10.0, "t_total": 500.0, "dt_reorthonormalize": 0.1}
_MAP_DEFAULTS = {"t_transient": 1000, "t_total": 100_000, "dt_reorthonormalize": 1}
_STRETCH_WARNING = 0.5 * np.log(1.0 / np.finfo(float).eps)  # e^18: half the digits lost


def kaplan_yorke_dimension(exponents, n: int | None = None) -> float:
    """The Kaplan-Yorke (Lyapunov) dimension ``j + (l_1 + ... + l_j) / |l_{j+1}|`` of a
    spectrum sorted in decreasing order, ``j`` the largest count with a non-negative partial sum.

    0 when the largest exponent is negative; ``n`` when every partial sum of all ``n`` exponents
    is non-negative; NaN when the exponents given (fewer than ``n``) do not decide it.

    Examples
    --------
    >>> round(kaplan_yorke_dimension([0.9056, 0.0, -14.5723]), 4)  # Lorenz
    2.0621
    >>> kaplan_yorke_dimension([-0.5, -1.0])
    0.0
    """
    lam = np.asarray(exponents, dtype=float)
    n = lam.size if n is None else n
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        return float("nan")
    partial = np.cumsum(lam)
    if partial[0] < 0:
        return 0.0
    j = int(np.flatnonzero(partial >= 0)[-1])
    if j == lam.size - 1:
        return float(n) if lam.size == n else float("nan")
    return float(j + 1 + partial[j] / abs(lam[j + 1]))


def _times(is_map: bool, t_transient, t_total, dt) -> tuple[Any, Any, Any, int]:
    defaults = _MAP_DEFAULTS if is_map else _FLOW_DEFAULTS
    t_transient = defaults["t_transient"] if t_transient is None else t_transient
    t_total = defaults["t_total"] if t_total is None else t_total
    dt = defaults["dt_reorthonormalize"] if dt is None else dt
    values = {"t_transient": t_transient, "t_total": t_total, "dt_reorthonormalize": dt}
    if is_map:
        for name, value in values.items():
            low = 0 if name == "t_transient" else 1
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise InputError(
                    f"`{name}` counts iterations of a map: an integer >= {low}; got {value!r}."
                )
        if t_total % dt or t_transient % dt:
            raise InputError(
                f"`t_total` = {t_total} and `t_transient` = {t_transient} must be multiples of "
                f"`dt_reorthonormalize` = {dt} (iterations between QR factorizations)."
            )
        return int(t_transient), int(t_total), int(dt), int(t_total // dt)
    for name, value in values.items():
        ok = not isinstance(value, bool) and isinstance(value, int | float | np.number)
        ok = ok and np.isfinite(value) and (value >= 0 if name == "t_transient" else value > 0)
        if not ok:
            bound = "non-negative" if name == "t_transient" else "positive"
            raise InputError(f"`{name}` must be a finite {bound} time; got {value!r}.")
    if dt > t_total:
        raise InputError(
            f"`dt_reorthonormalize` = {dt} exceeds `t_total` = {t_total}; give a shorter "
            "interval between QR factorizations."
        )
    n_segments = max(1, round(t_total / dt))
    return float(t_transient), float(t_total), float(t_total / n_segments), n_segments


def _as_orbits(x0, n: int) -> np.ndarray:
    arr = as_float_array(x0, "x0")
    if n == 1 and arr.ndim == 1:
        arr = arr[:, None]
    arr = as_state_batch(arr, n, name="x0", allow_nonfinite=True).reshape(-1, n)
    if len(arr) == 0:
        raise InputError(f"`x0` is empty; give at least one state of shape ({n},).")
    return arr


def lyapunov_spectrum(
    system: System | Map,
    x0,
    *,
    params: Mapping[str, Any] | None = None,
    n_exponents: int | None = None,
    t_transient: float | None = None,
    t_total: float | None = None,
    dt_reorthonormalize: float | None = None,
    options: LyapunovOptions | None = None,
) -> xr.Dataset:
    """The ``k`` largest Lyapunov exponents of a flow or a map, by the QR method, from a batch of
    initial states, with running estimates, a standard error and the Kaplan-Yorke dimension.

    Parameters
    ----------
    system : System or Map
        A flow ``x' = f(x)`` (its variational equation ``Y' = J(x) Y`` is integrated with it by
        :func:`dynsys.integrate.flow`) or a map ``x -> g(x)`` (tangent vectors are multiplied by
        ``Dg``).
    x0 : array_like, shape (..., n)
        Initial states, one orbit each (flattened into ``orbit``); for a one-state map a flat
        array of states is accepted. Non-finite states are reported ``nonfinite``.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    n_exponents : int, optional
        How many of the largest exponents (default: all ``n``).
    t_transient : float (flow) or int (map), optional
        Time (iterations) followed first, with tangent vectors aligned but not counted
        (default 10 for flows, 1000 for maps).
    t_total : float (flow) or int (map), optional
        Time (iterations) over which the exponents are averaged (default 500, 100000).
    dt_reorthonormalize : float (flow) or int (map), optional
        Interval between QR factorizations (default 0.1 for flows, 1 for maps). For a flow,
        ``t_total`` is cut into ``round(t_total / dt)`` equal intervals. Take it short enough
        that ``(l_1 - l_k) dt`` stays well below 18: over longer intervals the tangent vectors
        align and the smallest exponents lose their digits (a warning says so).
    options : LyapunovOptions, optional
        Integrator, tolerances, number of batches and checkpoints.

    Returns
    -------
    xarray.Dataset
        Dims ``orbit``, ``state``, ``exponent`` (0 the largest), ``batch``, ``checkpoint``.
        Variables: ``lyapunov(exponent)`` (the average over the orbits that finished) and
        ``lyapunov_stderr(exponent)`` (standard error from batch means: the spread of the
        block estimates of every orbit over the square root of their number; NaN with fewer
        than two blocks);
        ``lyapunov_orbit(orbit, exponent)``, ``lyapunov_batch(orbit, batch, exponent)``,
        ``lyapunov_running(orbit, checkpoint, exponent)`` (the running average, to judge
        convergence; coordinate ``time(checkpoint)``), ``kaplan_yorke_dimension`` (scalar),
        ``x0``, ``x_final(orbit, state)`` and ``status(orbit)`` (``converged``: the run
        finished; ``escaped``, ``nonfinite``, ``max_steps``, ``step_underflow``: it did not and
        is left out of the averages). Attributes: provenance, the options, the times, the
        number of intervals ``n_intervals``, ``n_orbits_used`` and ``max_log_stretch_gap`` (the
        largest ``log R_11 - log R_kk`` over one interval).

    Raises
    ------
    InputTypeError
        If ``system`` is neither a System nor a Map, or ``options`` is not LyapunovOptions.
    InputError
        If ``x0``, ``n_exponents`` or a time is malformed.

    Notes
    -----
    The sum of all ``n`` exponents is the average of ``log |det Y|``, which Liouville's formula
    makes the time average of the trace of the Jacobian (of ``log |det Dg|`` for a map): when
    that is constant the sum is known in closed form, and the QR factorization preserves it to
    rounding (``prod R_ii = det Y`` up to sign). Its accuracy is then that of the integration
    of ``Y``, set by ``rtol`` and ``atol``, not by the length of the run. The largest exponents
    converge like ``1 / sqrt(t_total)``; the standard error tells how far. The tangent basis
    starts from a fixed generic orthonormal basis, not the coordinate axes, which can lie in an
    invariant subspace of the linearization (the radial direction at a point of a circular
    cycle) that only rounding would make them leave.

    Examples
    --------
    >>> from dynsys.models import henon
    >>> ds = lyapunov_spectrum(henon(b=0.3), [0.1, 0.1], t_total=2000)
    >>> round(float(ds.lyapunov.sum()), 12) == round(float(np.log(0.3)), 12)  # det Dg = -b
    True
    """
    if not isinstance(system, System | Map):
        raise InputTypeError(
            f"`system` must be a dynsys System (a flow) or Map; got {type(system).__name__}."
        )
    options = LyapunovOptions() if options is None else options
    if not isinstance(options, LyapunovOptions):
        raise InputTypeError(f"`options` must be a LyapunovOptions; got {type(options).__name__}.")
    is_map = isinstance(system, Map)
    n = system.n
    k = n if n_exponents is None else n_exponents
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= n:
        raise InputError(f"`n_exponents` must be an integer in [1, {n}]; got {n_exponents!r}.")
    k = int(k)
    t_transient, t_total, dt, n_segments = _times(is_map, t_transient, t_total, dt_reorthonormalize)
    if n_segments < options.n_batches:
        raise InputError(
            f"{n_segments} intervals cannot make {options.n_batches} batches; lengthen `t_total` "
            "or shorten `dt_reorthonormalize`, or lower LyapunovOptions.n_batches."
        )
    x0 = _as_orbits(x0, n)
    p = system.resolve_params(params)
    run = _run(system, p, x0, k, t_transient, dt, n_segments, options)
    return _dataset(system, p, x0, run, options, t_transient, t_total, dt, n_segments, is_map)


_OK = int(Status.CONVERGED)
_NONFINITE = int(Status.NONFINITE)


def _initial_basis(n: int, k: int) -> np.ndarray:
    """A fixed generic orthonormal basis ``(n, k)``: coordinate vectors can lie exactly in an
    invariant subspace of the linearization (the radial direction of a circular cycle), where
    rounding alone would have to turn them towards the leading direction."""
    Q, _ = np.linalg.qr(np.random.default_rng(20_221_104).normal(size=(n, k)))
    return Q


def _run(system, p, x0, k, t_transient, dt, n_segments, options) -> dict[str, Any]:
    B, n = x0.shape
    stepper = TangentStepper(
        system,
        p,
        k,
        dt,
        method=options.method,
        rtol=options.rtol,
        atol=options.atol,
        escape_radius=options.escape_radius,
        max_steps=options.max_steps,
    )
    status = np.full(B, _OK, dtype=np.int8)
    status[~np.isfinite(x0).all(-1)] = _NONFINITE
    x = np.where(status[:, None] == _OK, x0, np.nan)
    n_transient = int(np.ceil(t_transient / dt - 1e-9))
    edges = np.linspace(0, n_segments, options.n_batches + 1).round().astype(int)
    block_of = np.repeat(np.arange(options.n_batches), np.diff(edges))
    checkpoints = np.unique(
        np.linspace(0, n_segments, options.n_checkpoints + 1).round().astype(int)[1:]
    )
    checkpoint_of = np.full(n_segments + 1, -1)
    checkpoint_of[checkpoints] = np.arange(checkpoints.size)
    block = np.zeros((B, options.n_batches, k))
    running = np.full((B, checkpoints.size, k), np.nan)
    total = np.zeros((B, k))
    gap = 0.0
    rows = np.flatnonzero(status == _OK)  # the orbits still running, and their states
    xa = x[rows]
    Ya = np.broadcast_to(_initial_basis(n, k), (rows.size, n, k)).copy()
    with np.errstate(all="ignore"):
        for segment in range(-n_transient, n_segments):
            if rows.size == 0:
                break
            xa, Ya, code = stepper.advance(xa, Ya)
            Ya, R = np.linalg.qr(Ya)
            logs = np.log(np.abs(np.diagonal(R, axis1=-2, axis2=-1)))
            code[(code == _OK) & ~np.isfinite(logs).all(-1)] = _NONFINITE
            bad = code != _OK
            if bad.any():  # orbits that failed leave the batch
                status[rows[bad]] = code[bad]
                keep = ~bad
                rows, xa, Ya, logs = rows[keep], xa[keep], Ya[keep], logs[keep]
            if segment < 0 or rows.size == 0:
                continue
            gap = max(gap, float(np.max(logs[:, 0] - logs[:, -1])))
            total[rows] += logs
            block[rows, block_of[segment]] += logs
            if checkpoint_of[segment + 1] >= 0:
                running[rows, checkpoint_of[segment + 1]] = total[rows] / ((segment + 1) * dt)
    x[rows] = xa
    failed = status != _OK
    x[failed] = np.nan
    block /= (np.diff(edges) * dt)[None, :, None]
    block[failed] = np.nan
    total = total / (n_segments * dt)
    total[failed] = np.nan
    if k > 1 and gap > _STRETCH_WARNING:
        warnings.warn(
            f"the tangent vectors stretched apart by up to e^{gap:.0f} over one interval of "
            f"{dt:g}: the smallest exponents have lost digits. Lower dt_reorthonormalize.",
            RuntimeWarning,
            stacklevel=3,
        )
    return {
        "status": status,
        "x_final": x,
        "orbit": total,
        "block": block,
        "running": running,
        "checkpoint_time": checkpoints * dt,
        "gap": gap,
        "n_steps": stepper.n_steps,
    }


def _dataset(system, p, x0, run, options, t_transient, t_total, dt, n_segments, is_map):
    ok = run["status"] == Status.CONVERGED
    k = run["orbit"].shape[1]
    lam = stderr = np.full(k, np.nan)
    if ok.any():
        lam = run["orbit"][ok].mean(axis=0)
        blocks = run["block"][ok].reshape(-1, k)
        if len(blocks) > 1:
            stderr = blocks.std(axis=0, ddof=1) / np.sqrt(len(blocks))
    dimension = kaplan_yorke_dimension(lam, system.n)
    unit = "iteration" if is_map else "time"
    data = {
        "lyapunov": xr.Variable(
            "exponent", lam, {"long_name": "Lyapunov exponent", "units": f"1/{unit}"}
        ),
        "lyapunov_stderr": xr.Variable(
            "exponent", stderr, {"long_name": "standard error (batch means)"}
        ),
        "lyapunov_orbit": xr.Variable(
            ("orbit", "exponent"), run["orbit"], {"long_name": "exponent of each orbit"}
        ),
        "lyapunov_batch": xr.Variable(
            ("orbit", "batch", "exponent"),
            run["block"],
            {"long_name": "exponent over each block of the run"},
        ),
        "lyapunov_running": xr.Variable(
            ("orbit", "checkpoint", "exponent"),
            run["running"],
            {"long_name": "running estimate (average since the end of the transient)"},
        ),
        "kaplan_yorke_dimension": xr.Variable(
            (), dimension, {"long_name": "Kaplan-Yorke dimension (NaN: not decided)"}
        ),
        "x0": xr.Variable(("orbit", "state"), x0, {"long_name": "initial state"}),
        "x_final": xr.Variable(("orbit", "state"), run["x_final"], {"long_name": "final state"}),
        "status": status_variable(run["status"], "orbit"),
    }
    coords = {
        "orbit": np.arange(len(x0)),
        "state": list(system.state_names),
        "exponent": np.arange(k),
        "batch": np.arange(run["block"].shape[1]),
        "time": ("checkpoint", run["checkpoint_time"], {"long_name": f"{unit} since transient"}),
    }
    attrs = provenance(
        system,
        **options.as_attrs(),
        **{f"param_{name}": float(v) for name, v in p.items()},
        dynamics="map" if is_map else "flow",
        t_transient=t_transient,
        t_total=t_total,
        dt_reorthonormalize=dt,
        n_intervals=n_segments,
        n_exponents=k,
        n_orbits_used=int(ok.sum()),
        max_log_stretch_gap=run["gap"],
        n_steps=run["n_steps"],
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
