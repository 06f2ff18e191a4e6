"""Advance states together with tangent vectors: the variational equation of a flow, products of
Jacobians of a map. Both work on a batch of orbits and report a status per orbit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._status import Status
from ..integrate import FlowOptions, flow
from ..maps import Map
from ..system import System

__all__ = ["TangentStepper", "variational_system"]

_OK = int(Status.CONVERGED)
_NONFINITE = int(Status.NONFINITE)
_ESCAPED = int(Status.ESCAPED)
_TIME_LIMIT = int(Status.TIME_LIMIT)


def variational_system(system: System, params: Mapping[str, Any], k: int, probe) -> System:
    """The flow of ``(x, Y)``: ``x' = f(x)``, ``Y' = J(x) Y`` with ``Y`` of shape ``(n, k)``,
    as one System on the state ``[x, Y.ravel()]`` of size ``n + n k``.

    Examples
    --------
    >>> from dynsys.models import lorenz
    >>> aug = variational_system(lorenz(), lorenz().params, 3, [1.0, 2.0, 3.0])
    >>> aug.n
    12
    """
    n = system.n
    p = dict(params)

    def f(z, _):
        x = z[..., :n]
        Y = z[..., n:].reshape(*z.shape[:-1], n, k)
        J = system.jac_dense(x, p)
        return np.concatenate([system.f(x, p), (J @ Y).reshape(*z.shape[:-1], n * k)], axis=-1)

    probe = np.concatenate([np.asarray(probe, dtype=float), np.eye(n, k).ravel()])
    return System(f, n + n * k, name=f"variational equation of {system.name}", probe=probe)


class TangentStepper:
    """Advance a batch of states ``x (B, n)`` and tangent bases ``Y (B, n, k)`` over one
    interval: time ``dt`` of a flow, or ``dt`` iterates of a map."""

    def __init__(self, system, params, k: int, dt, *, method, rtol, atol, escape_radius, max_steps):
        self.system = system
        self.params = params
        self.k = k
        self.dt = dt
        self.escape_radius = escape_radius
        self.n_steps = 0
        self.is_map = isinstance(system, Map)
        if not self.is_map:
            self._options = FlowOptions(
                method=method,
                t_max=float(dt),
                rtol=rtol,
                atol=atol,
                escape_radius=np.inf,
                max_steps=max_steps,
            )
            self._aug = None

    def advance(self, x: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, Y, status)`` after one interval; ``status`` is ``converged`` for orbits that
        completed it, an outcome code for the others (their rows are NaN). Call under
        ``np.errstate(all="ignore")``: overflow becomes a status."""
        if self.is_map:
            x, Y = self._advance_map(x, Y)
            status = np.full(len(x), _OK, dtype=np.int8)
        else:
            x, Y, status = self._advance_flow(x, Y)
        norm = np.sqrt((x * x).sum(axis=-1))
        fine = norm <= self.escape_radius  # False for NaN
        if not fine.all():
            bad = ~fine & (status == _OK)
            status[bad] = np.where(np.isnan(norm[bad]) | np.isinf(norm[bad]), _NONFINITE, _ESCAPED)
            failed = status != _OK
            x[failed] = np.nan
            Y[failed] = np.nan
        return x, Y, status

    def _advance_map(self, x, Y):
        p, g, jac = self.params, self.system.g, self.system.jac_dense
        for _ in range(int(self.dt)):
            Y = jac(x, p) @ Y
            x = g(x, p)
        self.n_steps += int(self.dt) * len(x)
        return np.array(x, dtype=float), Y

    def _advance_flow(self, x, Y):
        B, n = x.shape
        if self._aug is None:
            self._aug = variational_system(self.system, self.params, self.k, x[0])
        z = np.concatenate([x, Y.reshape(B, n * self.k)], axis=-1)
        ds = flow(self._aug, z, options=self._options)
        z = ds.x_final.values
        code = ds.status.values.astype(np.int8)
        # reaching the end of the interval is what we want here
        status = np.where(code == _TIME_LIMIT, _OK, code).astype(np.int8)
        self.n_steps += int(ds.n_steps.values.sum())
        return z[:, :n].copy(), z[:, n:].reshape(B, n, self.k).copy(), status
