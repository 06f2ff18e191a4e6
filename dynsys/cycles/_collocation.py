"""The periodic boundary-value problem of a cycle, discretized by orthogonal collocation.

In normalized time ``tau = t / T`` a cycle of period ``T`` solves ``x' = T f(x; p)`` on
``[0, 1]`` with ``x(0) = x(1)``; an integral phase condition against a reference profile picks
one of its time shifts. The profile is a continuous piecewise polynomial of degree ``ncol`` on
``ntst`` mesh intervals (see :mod:`._mesh`), and the equation holds at the Gauss points of every
interval. The unknowns ``v = (X.ravel(), T)`` and the equations (collocation, periodicity,
phase) are equal in number; the Jacobian is assembled as a ``scipy.sparse`` matrix.

References
----------
E. J. Doedel, H. B. Keller and J. P. Kernevez, Int. J. Bifurcation and Chaos 1, 745 (1991);
C. de Boor and B. Swartz, SIAM J. Numer. Anal. 10, 582 (1973) (superconvergence at the mesh).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InputError
from ._floquet import Floquet, floquet_from_steps
from ._mesh import adapted_mesh, basis, evaluate, uniform_mesh

__all__ = ["Collocation"]

_MAX_RATE = 0.25  # largest T h |f_x| of a variational step (Pade error ~ 1e-13 per step)
_MAX_STEPS_PER_POINT = 25  # at most this many variational steps per profile point


@cache
def _pattern(N: int, m: int, n: int, with_param: bool):
    """The fixed sparsity pattern of the Jacobian (phase row dense over the profile) in the
    order the values are assembled: the permutation to CSC order, row indices, column
    pointers."""
    j, i, k, a, c = np.meshgrid(
        np.arange(N), np.arange(m), np.arange(m + 1), np.arange(n), np.arange(n), indexing="ij"
    )
    coll = N * m * n
    col_T = (N * m + 1) * n
    per = coll + np.arange(n)
    rows = [((j * m + i) * n + a).ravel(), np.arange(coll), per, per, np.full(col_T, coll + n)]
    cols = [((j * m + k) * n + c).ravel(), np.full(coll, col_T), np.arange(n)]
    cols += [col_T - n + np.arange(n), np.arange(col_T)]
    if with_param:
        rows.append(np.arange(coll))
        cols.append(np.full(coll, col_T + 1))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    order = np.lexsort((rows, cols))
    width = col_T + 1 + with_param
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=width))])
    return order, rows[order].astype(np.int32), indptr.astype(np.int32)


class Collocation:
    """Orthogonal collocation of the periodic orbits of a system on one mesh.

    Parameters
    ----------
    system : System
        The flow ``x' = f(x; p)``.
    ntst : int
        Number of mesh intervals (at least 3).
    ncol : int
        Collocation points per interval, the degree of the piecewise polynomial (2 to 7).
    mesh : array_like, optional
        ``ntst + 1`` increasing mesh points from 0 to 1; uniform by default.

    Notes
    -----
    Unknowns ``v = (X.ravel(), T)``: ``X`` of shape ``(ntst * ncol + 1, n)`` holds the profile at
    the normalized times :attr:`times` (Gauss-Lobatto points of each interval; ``X[-1]`` is the
    value at time 1), ``T`` is the period. Equations, in this order: on interval ``j`` at Gauss
    point ``i``, ``x'(tau_ji) - h_j T f(x(tau_ji))`` with ``x'`` the derivative in the local
    variable of the interval (``ntst * ncol * n`` rows); ``X[0] - X[-1]`` (``n`` rows); and the
    phase condition ``int_0^1 <x - x_ref, x_ref'> dtau`` (1 row), integrated by Gauss
    quadrature. The reference ``x_ref`` is a profile on the same mesh, given per call.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.models import stuart_landau
    >>> col = Collocation(stuart_landau(mu=1.0, omega=2.0), ntst=8, ncol=4)
    >>> tau = col.times
    >>> X = np.stack([np.cos(2 * np.pi * tau), np.sin(2 * np.pi * tau)], axis=-1)
    >>> v = col.join(X, np.pi)  # the exact cycle r = 1, T = 2 pi / omega
    >>> bool(np.abs(col.residual(v, reference=X)).max() < 1e-4)
    True
    """

    def __init__(self, system, ntst: int, ncol: int, mesh=None) -> None:
        self.system = system
        self.ntst = int(ntst)
        self.ncol = int(ncol)
        if self.ntst < 3 or not 2 <= self.ncol <= 7:
            raise InputError(
                f"collocation needs ntst >= 3 and 2 <= ncol <= 7; got ntst={ntst}, ncol={ncol}."
            )
        self.mesh = uniform_mesh(self.ntst) if mesh is None else np.asarray(mesh, dtype=float)
        if (
            self.mesh.shape != (self.ntst + 1,)
            or self.mesh[0] != 0.0
            or self.mesh[-1] != 1.0
            or np.any(np.diff(self.mesh) <= 0)
        ):
            raise InputError(
                f"`mesh` must hold ntst + 1 = {self.ntst + 1} increasing points from 0 to 1."
            )
        self.h = np.diff(self.mesh)
        self.n = system.n
        self.points = self.ntst * self.ncol + 1
        self.size = self.points * self.n + 1
        b = basis(self.ncol)
        self._basis = b
        self._rows = np.arange(self.ntst)[:, None] * self.ncol + np.arange(self.ncol + 1)
        self.times = np.append((self.mesh[:-1, None] + self.h[:, None] * b.nodes[:-1]).ravel(), 1.0)
        w = np.zeros(self.points)
        np.add.at(w, self._rows, self.h[:, None] * b.weights)
        self.weights = w

    # ------------------------------------------------------------------ unknowns
    def split(self, v: np.ndarray) -> tuple[np.ndarray, float]:
        """``(X, T)`` from the unknown vector ``v``."""
        return np.asarray(v[:-1]).reshape(self.points, self.n), float(v[-1])

    def join(self, X: np.ndarray, T: float) -> np.ndarray:
        """The unknown vector from a profile ``X`` (``(ntst * ncol + 1, n)``) and a period."""
        return np.append(np.asarray(X, dtype=float).ravel(), float(T))

    def profile_at(self, X: np.ndarray, t, derivative: int = 0) -> np.ndarray:
        """The profile (or its derivative in normalized time) at normalized times ``t``."""
        return evaluate(self.mesh, self.ncol, X, t, derivative)

    def collocation_states(self, X: np.ndarray) -> np.ndarray:
        """The profile at the collocation points, shape ``(ntst, ncol, n)``."""
        return np.einsum("ik,jkn->jin", self._basis.values, X[self._rows])

    # ------------------------------------------------------------------ phase condition
    def phase_row(self, reference: np.ndarray) -> tuple[np.ndarray, float]:
        """``(row, target)`` with ``row @ X.ravel() - target`` the phase condition
        ``int <x - x_ref, x_ref'> dtau`` against the profile ``reference``."""
        b = self._basis
        slope_ref = np.einsum("ik,jkn->jin", b.slopes, reference[self._rows])  # h_j x_ref'
        coef = np.einsum("i,ik,jin->jkn", b.gauss_weights, b.values, slope_ref)
        row = np.zeros((self.points, self.n))
        np.add.at(row, self._rows, coef)
        row = row.ravel()
        return row, float(row @ reference.ravel())

    # ------------------------------------------------------------------ residual, Jacobian
    def residual(
        self, v: np.ndarray, params: Mapping[str, Any] | None = None, *, reference=None
    ) -> np.ndarray:
        """The equations at ``v`` (see the class notes); ``reference`` defaults to ``X``."""
        X, T = self.split(v)
        b = self._basis
        P = X[self._rows]
        xc = np.einsum("ik,jkn->jin", b.values, P)
        dx = np.einsum("ik,jkn->jin", b.slopes, P)
        F = np.asarray(self.system.f(xc, params), dtype=float)
        R = dx - (self.h * T)[:, None, None] * F
        row, target = self.phase_row(X if reference is None else reference)
        return np.concatenate([R.ravel(), X[0] - X[-1], [row @ X.ravel() - target]])

    def _structure(self, with_param: bool):
        return _pattern(self.ntst, self.ncol, self.n, bool(with_param))

    def blocks(self, v: np.ndarray, params: Mapping[str, Any] | None = None) -> np.ndarray:
        """Derivatives of each interval's collocation equations in its ``ncol + 1`` profile
        values: ``(ntst, ncol, ncol + 1, n, n)``, at fixed period."""
        X, T = self.split(v)
        b = self._basis
        xc = self.collocation_states(X)
        A = np.asarray(self.system.jac_dense(xc, params), dtype=float)  # (N, m, n, n)
        eye = np.eye(self.n)
        hT = (self.h * T)[:, None, None, None, None]
        return (
            b.slopes[None, :, :, None, None] * eye
            - hT * b.values[None, :, :, None, None] * A[:, :, None, :, :]
        )

    def jacobian(
        self,
        v: np.ndarray,
        params: Mapping[str, Any] | None = None,
        *,
        reference=None,
        param: str | None = None,
    ) -> sp.csc_matrix:
        """The sparse Jacobian of :meth:`residual` in ``v``, with one more column, the
        derivative in the parameter ``param``, when it is given."""
        X, T = self.split(v)
        n = self.n
        order, indices, indptr = self._structure(param is not None)
        xc = self.collocation_states(X)
        F = np.asarray(self.system.f(xc, params), dtype=float)
        phase, _ = self.phase_row(X if reference is None else reference)
        data = [
            self.blocks(v, params).ravel(),
            (-(self.h[:, None, None]) * F).ravel(),
            np.ones(n),
            -np.ones(n),
            phase,
        ]
        if param is not None:
            fp = np.asarray(self.system.dfdp(xc, param, params), dtype=float)
            data.append((-(self.h * T)[:, None, None] * fp).ravel())
        width = self.size + (param is not None)
        return sp.csc_matrix(
            (np.concatenate(data)[order], indices, indptr), shape=(self.size, width)
        )

    # ------------------------------------------------------------------ Floquet
    def transition_matrices(
        self, v: np.ndarray, params=None, *, max_rate: float = _MAX_RATE
    ) -> tuple[np.ndarray, np.ndarray]:
        """The steps of the variational equation ``y' = T f_x(x(tau)) y`` along the profile
        over one period: transition matrices ``(S, n, n)`` in order, and the ``S + 1``
        normalized times that bound them (0 first, 1 last).

        Each mesh interval is cut into steps short enough that ``T h |f_x|_inf <= max_rate``
        (at most 25 steps per profile point in all; very long periods get coarser steps), and
        each step is a Gauss-Legendre Runge-Kutta step with ``ncol`` stages (the profile
        evaluated at its Gauss points). Where a mesh interval is short enough already, its step
        is exactly the collocation Jacobian of the interval with the interior unknowns
        eliminated (AUTO's condensation); where the mesh is coarse for the variational dynamics
        (long stretches near a saddle, stiff directions) the steps resolve them.
        """
        X, T = self.split(v)
        b = self._basis
        m, n = self.ncol, self.n
        A_mesh = np.asarray(self.system.jac_dense(self.collocation_states(X), params), dtype=float)
        rate = np.abs(T) * self.h * np.abs(A_mesh).sum(axis=-1).max(axis=(-1, -2))
        rate = np.where(np.isfinite(rate), rate, max_rate)
        steps = np.maximum(1, np.ceil(rate / max_rate).astype(int))
        budget = _MAX_STEPS_PER_POINT * (self.points - 1)
        if steps.sum() > budget:  # very long periods: coarser steps (floquet_error shows it)
            steps = np.maximum(1, np.ceil(rate * budget / (rate.sum() + max_rate)).astype(int))
        interval = np.repeat(np.arange(self.ntst), steps)
        first = np.concatenate([np.arange(k) / k for k in steps])  # local start of each step
        width = np.repeat(1.0 / steps, steps)
        local = first[:, None] + width[:, None] * b.gauss[None, :]  # (S, m)
        values = b.matrix(local.ravel()).reshape(*local.shape, m + 1)
        states = np.einsum("sik,skn->sin", values, X[self._rows[interval]])
        A = np.asarray(self.system.jac_dense(states, params), dtype=float)
        A = A * (T * self.h[interval] * width)[:, None, None, None]  # (S, m, n, n)
        eye = np.eye(n)
        G = np.eye(m * n) - np.einsum("il,slab->sialb", b.butcher, A).reshape(-1, m * n, m * n)
        Y = np.linalg.solve(G, np.tile(eye, (m, 1))[None]).reshape(-1, m, n, n)
        Phi = eye + np.einsum("l,slab,slbc->sac", b.butcher_weights, A, Y)
        times = np.append(self.mesh[interval] + self.h[interval] * first, 1.0)
        return Phi, times

    def floquet(self, v: np.ndarray, params=None) -> Floquet:
        """The Floquet multipliers of the cycle ``v`` (see :func:`floquet_from_steps`)."""
        X, _ = self.split(v)
        steps, times = self.transition_matrices(v, params)
        flow = np.asarray(self.system.f(self.profile_at(X, times), params), dtype=float)
        flow[-1] = flow[0]
        return floquet_from_steps(steps, flow)

    def monodromy(self, v: np.ndarray, params=None) -> np.ndarray:
        """The monodromy matrix: the product of the :meth:`transition_matrices` of one period
        (its small eigenvalues drown in rounding; :meth:`floquet` avoids the product)."""
        M = np.eye(self.n)
        for Phi in self.transition_matrices(v, params)[0]:
            M = Phi @ M
        return M

    # ------------------------------------------------------------------ meshes
    def with_mesh(self, mesh) -> Collocation:
        """The same discretization on another mesh of as many intervals."""
        return Collocation(self.system, self.ntst, self.ncol, mesh)

    def adapted(self, X: np.ndarray, ntst: int | None = None, ncol: int | None = None):
        """A collocation on the mesh that equidistributes the error estimate of profile ``X``
        (with ``ntst`` intervals and ``ncol`` points when given)."""
        mesh = adapted_mesh(self.mesh, self.ncol, X, ntst)
        return Collocation(self.system, mesh.size - 1, self.ncol if ncol is None else ncol, mesh)

    def transfer(self, X: np.ndarray, target: Collocation) -> np.ndarray:
        """The profile ``X`` (on this mesh) at the representation times of ``target``."""
        out = self.profile_at(X, target.times[:-1])
        return np.vstack([out, out[:1]])
