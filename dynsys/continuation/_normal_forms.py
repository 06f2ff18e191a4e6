"""Derivatives of the Jacobian along directions, and the normal-form coefficients built on them:
the fold quadratic coefficient and the first Lyapunov coefficient of a Hopf point.

Multilinear forms are directional derivatives of the Jacobian by fourth-order central
differences (five Jacobian evaluations per direction): ``B(a, w) = (d/de) J(x + e a) w`` and
``C(a, a, w) = (d/de)^2 J(x + e a) w``.

References
----------
Yu. A. Kuznetsov, Elements of Applied Bifurcation Theory, 3rd ed., Springer (2004), sections 3.5
(first Lyapunov coefficient, eq. (3.20)) and 5.4.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ._linalg import Factorization, SingularMatrixError, dense_null_vectors

__all__ = ["fold_coefficient", "fold_null_vectors", "jacobian_derivatives", "lyapunov_coefficient"]

_REL_STEP = 2e-3  # near eps**(1/6): balances truncation and rounding in the second derivative


def jacobian_derivatives(
    jac: Callable[[np.ndarray], object], x: np.ndarray, d: np.ndarray, *, second: bool = False
):
    """First (and second) derivative of ``J(x + e d)`` in ``e`` at 0, dense or sparse (from
    ``jac.stencil(x, d, h, second)`` where ``jac`` has one: the same values)."""
    size = float(np.linalg.norm(d))
    if size == 0.0:
        zero = jac(x) * 0.0
        return (zero, zero) if second else zero
    h = _REL_STEP * max(1.0, float(np.max(np.abs(x)))) / size
    stencil = getattr(jac, "stencil", None)  # the same values in one compiled call
    found = None if stencil is None else stencil(x, d, h, second)
    if found is not None:
        return found
    Jm2, Jm1, Jp1, Jp2 = (jac(x + k * h * d) for k in (-2.0, -1.0, 1.0, 2.0))
    first = (Jm2 - 8.0 * Jm1 + 8.0 * Jp1 - Jp2) / (12.0 * h)
    if not second:
        return first
    J0 = jac(x)
    return first, (-Jm2 + 16.0 * Jm1 - 30.0 * J0 + 16.0 * Jp1 - Jp2) / (12.0 * h * h)


def fold_null_vectors(J, guess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right and left null vectors ``q``, ``p`` of a singular ``J`` (unit ``q``, ``p . q = 1``).

    Dense: from the SVD. Sparse: from the bordered system ``[J b; c^T 0]`` with
    ``b = c = guess`` (an approximate null vector, e.g. the state part of the branch tangent).
    """
    if sp.issparse(J):
        n = J.shape[0]
        b = guess / np.linalg.norm(guess)
        B = sp.bmat(
            [[J, sp.csc_matrix(b[:, None])], [sp.csc_matrix(b[None, :]), None]], format="csc"
        )
        factor = Factorization(B)
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        q = factor.solve(rhs)[:n]
        p = factor.solve(rhs, transpose=True)[:n]
    else:
        right, left = dense_null_vectors(np.asarray(J, dtype=float))
        q, p = right[0], left[0]
        if q @ guess < 0:
            q = -q
    q = q / np.linalg.norm(q)
    return q, p / (p @ q)


def fold_coefficient(J, jac, x: np.ndarray, fp: np.ndarray, guess: np.ndarray) -> float:
    """Quadratic coefficient ``a = 1/2 p . B(q, q)`` of a fold.

    ``q``, ``p`` are the right and left null vectors of ``J`` (``|q| = 1``, ``p . q = 1``), with
    ``q`` oriented so that ``p . f_p > 0``. On the centre manifold ``y`` the flow is then
    ``y' = (p . f_p) (param - param*) + a y^2``: for ``a > 0`` the two equilibria exist below the
    fold value, for ``a < 0`` above it.
    """
    try:
        q, p = fold_null_vectors(J, guess)
    except SingularMatrixError:
        return float("nan")
    if p @ fp < 0:
        q, p = -q, -p
    return float(0.5 * p @ (jacobian_derivatives(jac, x, q) @ q))


def lyapunov_coefficient(J: np.ndarray, jac, x: np.ndarray, omega: float) -> float:
    """First Lyapunov coefficient ``l1`` at a Hopf point (Kuznetsov's formula, dense ``J``).

    With ``A q = i omega q``, ``A^T p = -i omega p``, ``|q| = 1``, ``<p, q> = 1``::

        l1 = Re[<p, C(q,q,qb)> - 2 <p, B(q, A^-1 B(q,qb))> + <p, B(qb, (2 i omega - A)^-1 B(q,q))>]
             / (2 omega)

    Negative: supercritical (a stable cycle is born); positive: subcritical.
    """
    A = np.asarray(J, dtype=float)
    values, left, right = sla.eig(A, left=True, right=True)
    i = int(np.argmin(np.abs(values - 1j * omega)))
    q = right[:, i] / np.linalg.norm(right[:, i])
    c = left[:, i].conj() @ q
    if abs(c) == 0:
        return float("nan")
    p = left[:, i] / np.conj(c)
    a, b = q.real.copy(), q.imag.copy()
    D1a, D2a = jacobian_derivatives(jac, x, a, second=True)
    D1b, D2b = jacobian_derivatives(jac, x, b, second=True)

    def B_q(v):  # B(q, v), complex v
        return D1a @ v + 1j * (D1b @ v)

    def B_qbar(v):  # B(conj q, v)
        return D1a @ v - 1j * (D1b @ v)

    C_qqqbar = (D2a + D2b) @ q
    try:
        h11 = np.linalg.solve(A, B_q(q.conj()).real)
        h20 = np.linalg.solve(2j * omega * np.eye(A.shape[0]) - A, B_q(q))
    except np.linalg.LinAlgError:
        return float("nan")
    total = p.conj() @ (C_qqqbar - 2.0 * B_q(h11) + B_qbar(h20))
    return float(total.real / (2.0 * omega))
