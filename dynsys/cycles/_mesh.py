"""Piecewise polynomials on a mesh of ``[0, 1]``: the nodes of one interval, Lagrange matrices,
evaluation anywhere, and the adapted mesh that equidistributes an error estimate.

A profile is represented by its values at ``ncol + 1`` Gauss-Lobatto points of every mesh
interval (neighbouring intervals share their end point): ``ntst * ncol + 1`` points in all, the
last at time 1. Collocation points are the ``ncol`` Gauss-Legendre points of every interval.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.polynomial import legendre

__all__ = ["Basis", "adapted_mesh", "basis", "evaluate", "uniform_mesh"]


class Basis:
    """Nodes and matrices of one mesh interval, in the local variable ``s`` in ``[0, 1]``.

    Attributes
    ----------
    nodes : (ncol + 1,) Gauss-Lobatto points (representation), 0 and 1 included.
    weights : (ncol + 1,) their quadrature weights (sum 1).
    gauss, gauss_weights : (ncol,) Gauss-Legendre points (collocation) and weights (sum 1).
    values, slopes : (ncol, ncol + 1) the Lagrange basis and its ``s``-derivative at the
        collocation points.
    top : (ncol + 1,) the ``ncol``-th ``s``-derivative of each basis polynomial (a constant).
    butcher, butcher_weights : (ncol, ncol), (ncol,) the Gauss-Legendre Runge-Kutta tableau.
    coefficients : (ncol + 1, ncol + 1) monomial coefficients: ``l_k(s) = sum_d C[d, k] s^d``.
    """

    def __init__(self, ncol: int) -> None:
        m = int(ncol)
        self.ncol = m
        interior = legendre.legroots(legendre.legder([0] * m + [1]))
        x = np.concatenate([[-1.0], np.sort(interior.real), [1.0]])
        p_m = legendre.legval(x, [0] * m + [1])
        self.nodes = 0.5 * (x + 1.0)
        self.weights = 1.0 / (m * (m + 1) * p_m**2)  # 2/(m(m+1)P_m^2) on [-1, 1], halved
        g, gw = legendre.leggauss(m)
        self.gauss = 0.5 * (g + 1.0)
        self.gauss_weights = 0.5 * gw
        vander = np.vander(self.nodes, m + 1, increasing=True)  # V[k, d] = s_k^d
        self.coefficients = np.linalg.inv(vander)  # C[d, k]
        gauss_vander = np.vander(self.gauss, m, increasing=True)
        gauss_coef = np.linalg.inv(gauss_vander)  # Lagrange basis on the Gauss points
        powers = np.arange(1, m + 1)
        integrals = self.gauss[:, None] ** powers / powers  # int_0^c s^d ds
        self.butcher = integrals @ gauss_coef  # a[i, l] = int_0^{c_i} L_l
        self.butcher_weights = (1.0 / powers) @ gauss_coef  # b[l] = int_0^1 L_l
        self.values = self.matrix(self.gauss)
        self.slopes = self.matrix(self.gauss, derivative=1)
        self.top = self.matrix(np.zeros(1), derivative=m)[0]

    def matrix(self, s: np.ndarray, derivative: int = 0) -> np.ndarray:
        """``A[q, k]``: the ``derivative``-th derivative of basis polynomial ``k`` at ``s[q]``."""
        s = np.asarray(s, dtype=float)
        m = self.ncol
        powers = np.arange(m + 1)
        factor = np.ones(m + 1)
        for j in range(derivative):
            factor = factor * (powers - j)
        exponent = np.maximum(powers - derivative, 0)
        monomials = factor * s[:, None] ** exponent  # (q, d)
        return monomials @ self.coefficients


@cache
def basis(ncol: int) -> Basis:
    """The (cached) :class:`Basis` of ``ncol`` collocation points."""
    return Basis(ncol)


def uniform_mesh(ntst: int) -> np.ndarray:
    """``ntst + 1`` equally spaced mesh points from 0 to 1."""
    return np.linspace(0.0, 1.0, int(ntst) + 1)


def evaluate(
    mesh: np.ndarray, ncol: int, X: np.ndarray, t: np.ndarray, derivative: int = 0
) -> np.ndarray:
    """The piecewise polynomial with values ``X`` (``(ntst * ncol + 1, n)``) at normalized
    times ``t`` (taken modulo 1), or its ``derivative``-th derivative in ``t``."""
    b = basis(ncol)
    t = np.mod(np.asarray(t, dtype=float), 1.0)
    ntst = mesh.size - 1
    j = np.clip(np.searchsorted(mesh, t, side="right") - 1, 0, ntst - 1)
    h = np.diff(mesh)[j]
    s = (t - mesh[j]) / h
    A = b.matrix(s, derivative) / h[:, None] ** derivative  # (q, k)
    rows = j[:, None] * ncol + np.arange(ncol + 1)  # (q, k)
    return np.einsum("qk,qkn->qn", A, X[rows])


def adapted_mesh(
    mesh: np.ndarray, ncol: int, X: np.ndarray, ntst: int | None = None, floor: float = 0.05
) -> np.ndarray:
    """A new mesh of ``ntst`` intervals (default: as many as now) that equidistributes the
    local error estimate ``h^(ncol+1) |x^(ncol+1)|``.

    The ``ncol``-th derivative of the profile is constant on each interval; the ``ncol+1``-th is
    estimated from its jumps between neighbouring intervals (periodically), as in AUTO and de
    Boor's mesh selection. The density ``|x^(ncol+1)|^(1/(ncol+1))`` (largest over the states)
    gets a floor of ``floor`` times its mean so no interval grows without bound where the
    estimate vanishes.
    """
    b = basis(ncol)
    N = mesh.size - 1
    ntst = N if ntst is None else int(ntst)
    h = np.diff(mesh)
    rows = np.arange(N)[:, None] * ncol + np.arange(ncol + 1)
    top = np.einsum("k,jkn->jn", b.top, X[rows]) / h[:, None] ** ncol  # (N, n)
    jump = np.abs(top - np.roll(top, 1, axis=0)) / (0.5 * (h + np.roll(h, 1)))[:, None]
    higher = 0.5 * (jump + np.roll(jump, -1, axis=0))  # on each interval
    density = np.max(higher, axis=1) ** (1.0 / (ncol + 1))
    mean = float(np.sum(density * h))
    if not np.isfinite(mean) or mean <= 0.0:
        return uniform_mesh(ntst)
    density = np.maximum(density, floor * mean)
    cumulative = np.concatenate([[0.0], np.cumsum(density * h)])
    targets = np.linspace(0.0, cumulative[-1], ntst + 1)
    new = np.interp(targets, cumulative, mesh)
    new[0], new[-1] = 0.0, 1.0
    return new
