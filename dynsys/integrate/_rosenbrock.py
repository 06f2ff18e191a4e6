"""A linearly implicit, L-stable Rosenbrock 2(3) pair that steps a whole batch of stiff orbits.

The pair is the modified Rosenbrock triple of MATLAB's ``ode23s``: L. F. Shampine and M. W.
Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18(1), 1-22 (1997), section 4.1, here for
autonomous systems (the ``df/dt`` term vanishes). With ``d = 1/(2 + sqrt 2)``,
``e32 = 6 + sqrt 2``, ``J = f'(y)`` and ``W = I - h d J``::

    F0 = f(y)                     k1 = W^-1 F0
    F1 = f(y + h k1 / 2)          k2 = W^-1 (F1 - k1) + k1
    y_new = y + h k2              (2nd order, L-stable: R(z) -> 0 as z -> -inf)
    F2 = f(y_new)                 k3 = W^-1 (F2 - e32 (k2 - F1) - 2 (k1 - F0))
    error estimate  h (k1 - 2 k2 + k3) / 6   (the 3rd-order solution minus y_new)

``F2`` is the ``F0`` of the next step (first same as last): two calls of the field and one of the
Jacobian per step. Each orbit has its own step size, error control and stop tests (the loop of
:func:`._stepping.adaptive_flow`, shared with the explicit pairs); steps land on save times (no
continuous extension). On singularly perturbed problems (fast variables slaved to slow ones) the
estimate of the fast variables is O(h^2), not O(h^3) (order reduction, as in ode23s), so the
step count grows like ``rtol^(-1/2)`` there while the global error stays about ``rtol``: the
method suits moderate tolerances (``rtol`` 1e-3 to 1e-6).

Linear algebra: ``W`` is a stack ``(m, n, n)``, factored once per attempt by an LU decomposition
with partial pivoting written with elementwise array operations over the stack (``n - 1``
elimination passes), and the factors serve the three solves. Measured (factor + three solves,
1,000 / 10,000 stacked ``W = I - h d J`` with stiff ``J``) against LAPACK through numpy, as a
batched ``inv`` plus three products or three batched ``solve`` calls: n = 2: 0.11 / 0.7 ms
against 0.17-0.26 / 1.6-2.5 ms; n = 3: 0.31 / 2.6 ms against 0.37-0.39 / 3.4-3.5 ms; n = 6-12:
1.2-2x slower than ``solve``; n = 30: 2.5-3x slower. Residuals equal LAPACK's ``solve``
(~1e-16 relative); the explicit inverse is 2-30x less accurate (not backward stable). The
elementwise LU is used because (1) a row's result depends on that row only, bit for bit, by
construction (the batch-independence of ``_rk.py``; LAPACK happens to behave so here but does
not promise it); (2) a singular ``W`` turns only its own row non-finite, where numpy's batched
routines raise ``LinAlgError`` for the whole stack; (3) it is fastest for the small systems that
basin maps integrate by the million. Large stiff systems (n >~ 10) pay up to 3x in this part.
"""

from __future__ import annotations

import numpy as np

from ._batch import BatchRecord
from ._stepping import adaptive_flow, rms

__all__ = ["lu_factor", "lu_solve", "rosenbrock_flow"]

_D = 1.0 / (2.0 + np.sqrt(2.0))
_E32 = 6.0 + np.sqrt(2.0)


def lu_factor(a: np.ndarray) -> np.ndarray:
    """LU decomposition with partial pivoting of each matrix of the stack ``a (m, n, n)``, in place.

    Afterwards ``a`` holds ``U`` on and above the diagonal and the unit lower ``L`` below it; the
    returned ``perm (m, n)`` indexes the flattened right-hand sides: ``P b = b.ravel()[perm]``
    for ``b (m, n)``, with ``P A = L U``. Only elementwise operations: each matrix's factors
    depend on that matrix alone. A zero pivot (a singular matrix) yields inf or NaN in that
    matrix only.

    Examples
    --------
    >>> a = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    >>> perm = lu_factor(a)
    >>> perm.tolist(), a.round(6).tolist()
    ([[1, 0]], [[[3.0, 4.0], [0.333333, 0.666667]]])
    """
    m, n, _ = a.shape
    rows = np.arange(m)
    perm = np.broadcast_to(rows[:, None] * n, (m, n)) + np.arange(n)
    for k in range(n - 1):
        pivot = k + np.argmax(np.abs(a[:, k:, k]), axis=1)
        top = a[:, k].copy()  # swap rows k and pivot (a no-op where they coincide)
        a[:, k] = a[rows, pivot]
        a[rows, pivot] = top
        top = perm[:, k].copy()
        perm[:, k] = perm[rows, pivot]
        perm[rows, pivot] = top
        lower = a[:, k + 1 :, k] / a[:, k, k, None]
        a[:, k + 1 :, k] = lower
        a[:, k + 1 :, k + 1 :] -= lower[:, :, None] * a[:, None, k, k + 1 :]
    return perm


def lu_solve(lu: np.ndarray, perm: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``A x = b`` for every row of ``b (m, n)`` with the factors of :func:`lu_factor`.

    Examples
    --------
    >>> A = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    >>> lu = A.copy()
    >>> lu_solve(lu, lu_factor(lu), np.array([[5.0, 6.0]])).round(12).tolist()
    [[-4.0, 4.5]]
    """
    n = b.shape[1]
    x = np.take(b, perm)  # flat indices: P b
    for j in range(n - 1):  # forward substitution, unit lower triangle, column by column
        x[:, j + 1 :] -= lu[:, j + 1 :, j] * x[:, j, None]
    for j in range(n - 1, -1, -1):  # back substitution
        x[:, j] /= lu[:, j, j]
        if j:
            x[:, :j] -= lu[:, :j, j] * x[:, j, None]
    return x


def rosenbrock_flow(
    field,
    jac,
    x0: np.ndarray,
    record: BatchRecord,
    *,
    rtol: float,
    atol: float,
    **loop,
) -> None:
    """Integrate ``x' = field(x)`` (Jacobian ``jac(x) -> (m, n, n)``) from every row of ``x0``
    until each orbit stops; fill ``record``.

    ``loop``: the stopping rules, step bounds and save times of :func:`._stepping.adaptive_flow`.
    A row whose Jacobian is not finite stops at once as ``nonfinite`` (no step size can help);
    a singular or non-finite ``W`` fails the attempt like a non-finite trial (the step shrinks,
    ``W -> I``; an orbit whose step would fall below the floor that way is ``nonfinite``).
    """
    stepper = _Rosenbrock23(field, jac, rtol, atol)
    adaptive_flow(field, x0, stepper, record, rtol=rtol, atol=atol, **loop)


class _Rosenbrock23:
    """Step attempts of the ode23s pair; keeps each row's Jacobian at its current state."""

    error_order = 2  # y_new is 2nd order: local error O(h^3), step factor 0.9 err^(-1/3)
    beta = 0.0  # plain I control
    interpolate = None

    def __init__(self, field, jac, rtol: float, atol: float) -> None:
        self.field, self.jac, self.rtol, self.atol = field, jac, rtol, atol
        self.J: np.ndarray | None = None
        self.fresh: np.ndarray | None = None
        self.finite: np.ndarray | None = None

    # Invariants, row by row (the rows of the loop in adaptive_flow): where fresh[i], J[i] is the
    # Jacobian at the row's current state y[i] and finite[i] says whether it is finite. An
    # accepted step moves y and makes J stale; a rejected one keeps y, so the retry reuses J (one
    # Jacobian per step, as in ode23s). W and its LU factors live for one attempt only (they
    # depend on h). keep() drops finished rows together with the loop's own arrays.

    def attempt(self, y, v, h):
        m, n = y.shape
        if self.J is None:
            self.J = np.empty((m, n, n))
            self.fresh = np.zeros(m, dtype=bool)
            self.finite = np.ones(m, dtype=bool)
        stale = np.flatnonzero(~self.fresh)
        if stale.size == m:
            self.J[...] = self.jac(y)
        elif stale.size:
            self.J[stale] = self.jac(y[stale])
        if stale.size:
            self.finite[stale] = np.isfinite(self.J[stale]).all(axis=(1, 2))
            self.fresh[stale] = True

        lu = self.J * -(h * _D)[:, None, None]  # W = I - h d J
        diagonal = np.arange(n)
        lu[:, diagonal, diagonal] += 1.0
        perm = lu_factor(lu)
        hc = h[:, None]
        k1 = lu_solve(lu, perm, v)
        f1 = self.field(y + (0.5 * hc) * k1)
        k2 = lu_solve(lu, perm, f1 - k1)
        k2 += k1
        y_new = y + hc * k2
        f2 = self.field(y_new)
        k3 = lu_solve(lu, perm, f2 - _E32 * (k2 - f1) - 2.0 * (k1 - v))

        scale = np.maximum(np.abs(y), np.abs(y_new))
        scale *= self.rtol
        scale += self.atol
        err = k1 - 2.0 * k2
        err += k3
        err /= 6.0 * scale
        err_norm = h * rms(err)
        hopeless = None
        if not self.finite.all():
            hopeless = ~self.finite
            err_norm[hopeless] = np.nan
        return y_new, f2, err_norm, (), hopeless

    def advance(self, accept) -> None:
        self.fresh &= ~accept

    def keep(self, k) -> None:
        self.J, self.fresh, self.finite = self.J[k], self.fresh[k], self.finite[k]
