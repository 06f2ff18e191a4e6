"""Minimum-mode following (the dimer method, Henkelman and Jonsson 1999), batched over walkers.

Each walker carries a state ``x`` and a unit orientation ``v``. Per step: the orientation rotates
towards the lowest Hessian mode (Rayleigh-Ritz in the plane of ``v`` and its rotational force
``H v - (v.Hv) v``: the exact optimal rotation in that plane, one Hessian-vector product per
rotation), then the walker translates with the force whose component along ``v`` is reversed,
``-grad V + 2 (grad V . v) v`` where the curvature ``v.Hv`` is negative; where it is positive
(the convex region around a minimum) it steps a fixed length uphill along ``v`` only. Products
``H v`` are forward differences of the gradient, ``(grad V(x + h v) - grad V(x)) / h``, or the
system's ``hessian_action`` when it has one. All walkers share every gradient call.

References
----------
G. Henkelman and H. Jonsson, J. Chem. Phys. 111, 7010 (1999).
A. Heyden, A. T. Bell and F. J. Keil, J. Chem. Phys. 123, 224101 (2005).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from .._status import Status, status_attrs
from ..errors import InputError
from ._common import (
    Counter,
    check_options,
    largest_curvature,
    require_potential,
    scale_of,
    states,
)
from ._options import SaddleOptions

__all__ = ["dimer_search", "run_dimers"]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-300)


def _hvp(counter: Counter, x, g, v, h) -> np.ndarray:
    action = getattr(counter.system, "hessian_action", None)
    if callable(action):
        counter.count += len(x)
        return np.stack(
            [action(xi, counter.params)(vi[None])[0] for xi, vi in zip(x, v, strict=True)]
        )
    return (counter.gradient(x + h * v) - g) / h


def _rotate(counter, x, g, v, h, rotations):
    """Turn the orientations towards the lowest mode; return ``v``, ``H v`` and ``v.Hv``."""
    Hv = _hvp(counter, x, g, v, h)
    for _ in range(rotations):
        c = np.sum(v * Hv, axis=-1)
        F = Hv - c[:, None] * v
        norm = np.linalg.norm(F, axis=-1)
        turn = norm > 1e-12 * np.maximum(np.abs(c), 1e-300)
        if not turn.any():
            break
        w = np.where(turn[:, None], F / np.maximum(norm, 1e-300)[:, None], 0.0)
        Hw = np.zeros_like(Hv)
        Hw[turn] = _hvp(counter, x[turn], g[turn], w[turn], h)
        b = 0.5 * (np.sum(w * Hv, axis=-1) + np.sum(v * Hw, axis=-1))
        d = np.sum(w * Hw, axis=-1)
        phi = 0.5 * (np.arctan2(b, 0.5 * (c - d)) + np.pi)
        phi = np.where(turn, phi, 0.0)
        cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
        v, Hv = cos * v + sin * w, cos * Hv + sin * Hw
        v_norm = np.linalg.norm(v, axis=-1, keepdims=True)
        v, Hv = v / v_norm, Hv / v_norm
    return v, Hv, np.sum(v * Hv, axis=-1)


def run_dimers(counter: Counter, X0, V0, opts: SaddleOptions, dt: float, g_scale: float):
    """Walk from states ``X0 (m, n)`` with orientations ``V0``; returns the final states,
    orientations, curvatures, ``|grad V|``, status (``converged``: ``|grad V| <= dimer_tol *
    g_scale`` with negative curvature; ``max_iter``; ``nonfinite``) and steps taken."""
    X, V = np.array(X0, dtype=float), _unit(np.array(V0, dtype=float))
    m = len(X)
    scale = scale_of(X)
    h = opts.dimer_length * scale
    cap = opts.max_move * scale
    curvature = np.full(m, np.nan)
    gnorm = np.full(m, np.nan)
    status = np.full(m, Status.MAX_ITER, dtype=np.int8)
    n_iter = np.zeros(m, dtype=np.int64)
    active = np.arange(m)
    tol = opts.dimer_tol * g_scale
    for _ in range(opts.dimer_iter):
        if active.size == 0:
            break
        x, v = X[active], V[active]
        g = counter.gradient(x)
        bad = ~np.isfinite(g).all(axis=-1)
        v, _, c = _rotate(counter, x, np.where(bad[:, None], 0.0, g), v, h, opts.dimer_rotations)
        bad |= ~np.isfinite(v).all(axis=-1) | ~np.isfinite(c)
        gn = np.linalg.norm(g, axis=-1)
        curvature[active], gnorm[active], V[active] = c, gn, v
        done = (gn <= tol) & (c < 0)
        status[active[done]] = Status.CONVERGED
        status[active[bad]] = Status.NONFINITE
        move = ~done & ~bad
        gv = np.sum(g * v, axis=-1, keepdims=True)
        step = np.where(
            (c < 0)[:, None],
            -dt * (g - 2.0 * gv * v),
            cap * np.sign(gv + (gv == 0)) * v,  # uphill along the mode, a full step
        )
        norm = np.linalg.norm(step, axis=-1, keepdims=True)
        step = step * np.minimum(1.0, cap / np.maximum(norm, 1e-300))
        X[active[move]] = x[move] + step[move]
        n_iter[active[move]] += 1
        active = active[move]
    return X, V, curvature, gnorm, status, n_iter


def dimer_search(
    system,
    x0,
    *,
    directions=None,
    params: Mapping[str, Any] | None = None,
    options: SaddleOptions | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """Minimum-mode following from many starting states at once (the dimer method).

    Parameters
    ----------
    system : GradientSystem
        The potential.
    x0 : array_like, shape (n,) or (m, n)
        Starting states of the walkers.
    directions : array_like, shape (n,) or (m, n), optional
        Initial orientations (normalised); random unit vectors drawn from ``seed`` otherwise.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : SaddleOptions, optional
        Settings (``dimer_*``, ``time_step``, ``step_factor``, ``max_move``).
    seed : int
        Seed of the random orientations.

    Returns
    -------
    xarray.Dataset
        Over ``walker``: ``x(walker, state)`` final states, ``mode(walker, state)`` the lowest
        mode found there, ``curvature`` (``v.Hv``), ``gradient_norm``, ``status``
        (``converged``, ``max_iter``, ``nonfinite``), ``n_iter``; attribute ``n_gradient``
        (gradient evaluations, Hessian-vector products included).

    Raises
    ------
    dynsys.errors.InputError
        If the system is not a GradientSystem or the states have the wrong shape.

    Examples
    --------
    >>> from dynsys.models import mueller_brown
    >>> ds = dimer_search(mueller_brown(), [[-0.7, 0.6], [0.15, 0.35]])
    >>> ds["x"].values.round(3).tolist()
    [[-0.822, 0.624], [0.212, 0.293]]
    """
    require_potential(system, "dimer_search()")
    opts = check_options(options)
    p = system.resolve_params(params)
    X0 = states(x0, system.n, "x0")
    rng = np.random.default_rng(seed)
    if directions is None:
        V0 = _unit(rng.standard_normal(X0.shape))
    else:
        V0 = np.broadcast_to(states(directions, system.n, "directions"), X0.shape)
        if not (np.linalg.norm(V0, axis=-1) > 0).all():
            raise InputError("`directions` holds a zero vector; give non-zero orientations.")
    counter = Counter(system, p)
    dt = opts.time_step or opts.step_factor / largest_curvature(system, p, X0)
    g_scale = max(1.0, float(np.linalg.norm(counter.gradient(X0), axis=-1).max()))
    X, V, c, gn, status, n_iter = run_dimers(counter, X0, V0, opts, dt, g_scale)
    return xr.Dataset(
        {
            "x": (("walker", "state"), X),
            "mode": (("walker", "state"), V),
            "curvature": ("walker", c, {"long_name": "v.Hv along the final mode"}),
            "gradient_norm": ("walker", gn),
            "status": ("walker", status, status_attrs()),
            "n_iter": ("walker", n_iter),
        },
        coords={"state": list(system.state_names)},
        attrs=provenance(
            system.with_params(**p), **opts.as_attrs(), seed=seed, n_gradient=counter.count
        ),
    )
