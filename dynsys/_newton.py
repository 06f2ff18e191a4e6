"""Batched damped Newton iteration with an Armijo line search and optional deflation.

Every item of a batch iterates on its own: its own step length, its own convergence test, its own
status. Finished items leave the active set, so the work shrinks as the batch converges.

Deflation (Farrell, Birkisson and Funke 2015) multiplies the residual by
``M(x) = prod_i (|x - r_i|^-p + shift)`` over known roots ``r_i``; ``M f`` has the same roots as
``f`` except the known ones, which it pushes away. Its Newton step is the undeflated step ``d``
rescaled by ``tau = 1 / (1 - grad(log M) . d)``, so the linear solve is the same as without
deflation.

References
----------
P. E. Farrell, A. Birkisson and S. W. Funke, SIAM J. Sci. Comput. 37, A2026 (2015).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._options import Options, integer, number
from ._status import Status

__all__ = [
    "NewtonOptions",
    "NewtonRun",
    "dense_solver",
    "newton_batch",
    "safe_norm",
    "solver_for",
    "sparse_solver",
]

_MAX_JACOBIAN_ELEMENTS = 8_000_000  # floats of Jacobians held at once (64 MB)

Residual = Callable[[np.ndarray], np.ndarray]
StepSolver = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class NewtonOptions(Options):
    """Settings of the batched damped Newton iteration (fixed points, refinement of end points,
    and the corrector of continuation).

    Parameters
    ----------
    tol : float
        Convergence: the Euclidean norm of ``f`` at most ``tol`` ...
    step_tol : float
        ... and a Newton step at most ``step_tol * (1 + |x|)``. An item that ends at ``max_iter``
        with ``|f| <= tol`` also counts as converged (slow convergence at a degenerate root).
    max_iter : int
        Maximum number of Newton iterations per seed.
    armijo : float
        Sufficient-decrease constant ``c`` in ``(0, 1/2)``: a step ``lam * dx`` is accepted when
        ``|f(x + lam dx)|^2 <= (1 - 2 c lam) |f(x)|^2``.
    backtrack : float
        Factor in ``(0, 1)`` by which the step shrinks after a rejected trial.
    max_backtracks : int
        Rejected trials allowed before the seed is given up (status SINGULAR_JACOBIAN: no
        decrease along the Newton direction means a near-singular Jacobian).
    damping : float
        First trial step length in ``(0, 1]``; 1 is the full Newton step.
    max_step : float
        Upper bound on the Euclidean length of a step (``inf`` for none).
    deflation_power, deflation_shift : float
        ``p > 0`` and ``shift >= 0`` of the deflation operator
        ``M(x) = prod_i (|x - r_i|^-p + shift)``.

    Raises
    ------
    dynsys.errors.OptionError
        If a value is out of its range.

    Examples
    --------
    >>> NewtonOptions(tol=1e-12).max_iter
    50
    """

    tol: float = number(1e-10, "residual |f(x)|_2 at which an item has converged")
    step_tol: float = number(
        1e-12, "... with a Newton step at most step_tol * (1 + |x|)", at_least=0.0
    )
    max_iter: int = integer(50, "Newton iterations per item")
    armijo: float = number(1e-4, "sufficient-decrease constant of the line search", below=0.5)
    backtrack: float = number(0.5, "factor by which a rejected step shrinks", below=1.0)
    max_backtracks: int = integer(30, "rejected trials before an item is given up", at_least=0)
    damping: float = number(1.0, "first trial step length (1: the full Newton step)", at_most=1.0)
    max_step: float = number(np.inf, "largest Euclidean length of a step", allow_inf=True)
    deflation_power: float = number(2.0, "power p of the deflation operator")
    deflation_shift: float = number(1.0, "shift of the deflation operator", at_least=0.0)


@dataclass(frozen=True)
class NewtonRun:
    """Outcome of a batched Newton run: final iterates and per-item results."""

    x: np.ndarray  # (m, n) final iterates
    residual: np.ndarray  # (m,) Euclidean norm of f at x
    status: np.ndarray  # (m,) Status codes
    n_iter: np.ndarray  # (m,) Newton iterations taken


_FIELDS = tuple(field.name for field in fields(NewtonRun))


_RCOND = 1e-10  # singular values below this fraction of the largest are treated as zero


def _truncated_svd_step(J: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm Newton steps ``-J^+ f`` through a truncated SVD, for a batch ``(m, n, n)``.

    Directions whose singular values fall below ``_RCOND`` times the largest get no step. This
    keeps Newton from running off along the null directions of a Jacobian that is singular on a
    whole manifold of equilibria, or on an invariant set (for example parallel hidden units of a
    ReLU network, where only the sum of their norms matters): the step then stays orthogonal to
    the null space, so a start on a symmetric subspace stays on it. Items with non-finite
    Jacobians get NaN steps. Returns the steps and a mask of items whose Jacobian was truncated.

    The equations are first scaled row by row by powers of two (``J dx = -f`` and ``D J dx = -D f``
    have the same solutions), so that a badly scaled system, one equation of size 1e300 beside
    others of size 1, does not make every other direction look null.
    """
    dx = np.full_like(fx, np.nan)
    truncated = np.zeros(len(fx), dtype=bool)
    finite = np.all(np.isfinite(J), axis=(-2, -1)) & np.all(np.isfinite(fx), axis=-1)
    if not finite.any():
        return dx, truncated
    J, fx = J[finite], fx[finite]
    row = np.max(np.abs(J), axis=-1)
    exponent = np.where(row > 0, np.frexp(np.where(row > 0, row, 1.0))[1], 0)
    J = np.ldexp(J, -exponent[..., None])
    fx = np.ldexp(fx, -exponent)
    U, s, Vt = np.linalg.svd(J)
    keep = s > _RCOND * s[..., :1]
    inverse = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    coeff = np.einsum("...ji,...j->...i", U, fx) * inverse
    dx[finite] = -np.einsum("...ki,...k->...i", Vt, coeff)
    truncated[finite] = ~keep.all(axis=-1)
    return dx, truncated


def dense_solver(jacobian: Callable[[np.ndarray], np.ndarray]) -> StepSolver:
    """Newton steps ``J dx = -f`` for a batch with dense Jacobians ``(m, n, n)``.

    Steps are the minimum-norm solutions from a truncated SVD (see :func:`_truncated_svd_step`);
    items whose Jacobian is numerically singular are flagged.
    """

    def solve(x: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _truncated_svd_step(np.asarray(jacobian(x), dtype=float), fx)

    return solve


def sparse_solver(jacobian: Callable[[np.ndarray], sp.spmatrix]) -> StepSolver:
    """Newton steps for Jacobians stored as ``scipy.sparse`` matrices, one item at a time.

    A singular matrix falls back to the least-squares step of ``scipy.sparse.linalg.lsqr``.
    """

    def solve(x: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx = np.empty_like(fx)
        singular = np.zeros(len(x), dtype=bool)
        for i in range(len(x)):
            J = sp.csc_matrix(jacobian(x[i]))
            with warnings.catch_warnings():
                warnings.simplefilter("error", spla.MatrixRankWarning)
                try:
                    dx[i] = spla.spsolve(J, -fx[i])
                    continue
                except (spla.MatrixRankWarning, RuntimeError):
                    pass
            dx[i] = spla.lsqr(J, -fx[i])[0]
            singular[i] = True
        return dx, singular

    return solve


def safe_norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis without overflow: vectors of entries near 1e300 have a
    finite norm (``np.linalg.norm`` squares them first and gives inf).

    Examples
    --------
    >>> safe_norm(np.array([[3e300, 4e300], [0.0, 0.0]])).tolist()
    [5e+300, 0.0]
    """
    v = np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        scale = np.max(np.abs(v), axis=-1, initial=0.0)
        safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        norm = safe * np.sqrt(np.sum((v / safe[..., None]) ** 2, axis=-1))
    return np.where(np.isfinite(scale), np.where(scale > 0, norm, 0.0), scale)


def solver_for(system, params) -> StepSolver:
    """The step solver for ``system``'s Jacobian at parameters ``params``: batched dense SVD,
    or one sparse factorisation per item when the system's Jacobian is sparse."""
    if system.jacobian_is_sparse:
        return sparse_solver(lambda x: system.jac(x, params))
    return dense_solver(lambda x: system.jac_dense(x, params))


class _Deflation:
    """``log M`` and ``grad log M`` for ``M(x) = prod_i (|x - r_i|^-p + shift)``."""

    def __init__(self, roots: np.ndarray, power: float, shift: float) -> None:
        self.roots = roots
        self.power = power
        self.shift = shift

    def _distances(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        diff = x[:, None, :] - self.roots[None, :, :]  # (m, k, n)
        return diff, np.linalg.norm(diff, axis=-1)

    def log_m(self, x: np.ndarray) -> np.ndarray:
        _, dist = self._distances(x)
        with np.errstate(divide="ignore", over="ignore"):
            terms = -self.power * np.log(dist) + np.log1p(self.shift * dist**self.power)
        return terms.sum(axis=-1)

    def grad_log_m(self, x: np.ndarray) -> np.ndarray:
        diff, dist = self._distances(x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            weight = -self.power / (dist**2 * (1.0 + self.shift * dist**self.power))
        return np.einsum("mk,mkn->mn", weight, diff)


def newton_batch(
    residual: Residual,
    solve: StepSolver,
    x0: np.ndarray,
    options,
    *,
    deflate: np.ndarray | None = None,
) -> NewtonRun:
    """Run damped Newton on ``residual`` from every row of ``x0`` (shape ``(m, n)``).

    ``options`` is a :class:`NewtonOptions`. With ``deflate`` (known roots,
    shape ``(k, n)``) the iteration runs on the deflated residual. An item converges when
    ``|f| <= tol`` and the Newton step is below ``step_tol * (1 + |x|)`` (or at ``max_iter`` with
    ``|f| <= tol``: slow, linear convergence at a degenerate root). Failures are statuses:
    NONFINITE (NaN or inf in f or in the step), SINGULAR_JACOBIAN (an exactly singular Jacobian
    that gives no step, or a line search that finds no decrease: the Jacobian is near singular
    there), MAX_ITER. Floating-point warnings (overflow in trial steps) are silenced: failures
    are statuses. Large batches run in chunks that bound the memory of the Jacobians.
    """
    x0 = np.asarray(x0, dtype=float)
    m, n = x0.shape
    chunk = max(1, _MAX_JACOBIAN_ELEMENTS // (n * n))
    runs = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for start in range(0, m, chunk):
            runs.append(_iterate(residual, solve, x0[start : start + chunk], options, deflate))
    if len(runs) == 1:
        return runs[0]
    return NewtonRun(*(np.concatenate([getattr(r, name) for r in runs]) for name in _FIELDS))


def _iterate(residual, solve, x0, options, deflate) -> NewtonRun:
    # Invariants: `active` holds the items still iterating, in increasing order; for every item
    # `fx` and `norm` are f and |f| at the current `x`, so a finished item keeps the values at
    # its final iterate. One pass: solve J dx = -f for all active items (one batched solve),
    # retire those that converged or cannot go on, cap the step, then a backtracking line search
    # on the merit |f|^2 (|M f|^2 when deflated) moves each remaining item on its own.
    x = np.array(x0, dtype=float, copy=True)
    m = x.shape[0]
    deflation = None
    if deflate is not None and len(deflate):
        deflation = _Deflation(
            np.asarray(deflate, dtype=float), options.deflation_power, options.deflation_shift
        )
    status = np.full(m, Status.RUNNING, dtype=np.int8)
    n_iter = np.zeros(m, dtype=np.int64)
    last_singular = np.zeros(m, dtype=bool)
    fx = np.asarray(residual(x), dtype=float)
    norm = safe_norm(fx)
    status[~np.isfinite(norm)] = Status.NONFINITE
    active = np.flatnonzero(status == Status.RUNNING)

    def log_merit(xa: np.ndarray, na: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            out = 2.0 * np.log(na)
        if deflation is not None:
            out = out + 2.0 * deflation.log_m(xa)
        return out

    for _ in range(options.max_iter):
        if active.size == 0:
            break
        xa, fa, na = x[active], fx[active], norm[active]
        exact = na == 0.0
        dx = np.zeros_like(xa)
        singular = np.zeros(active.size, dtype=bool)
        if not exact.all():
            dx[~exact], singular[~exact] = solve(xa[~exact], fa[~exact])
        last_singular[active] = singular
        step = safe_norm(dx)
        small = step <= options.step_tol * (1.0 + safe_norm(xa))
        finished = exact | ((na <= options.tol) & small)
        status[active[finished]] = Status.CONVERGED
        stuck = ~finished & singular & (step == 0.0)
        status[active[stuck]] = Status.SINGULAR_JACOBIAN
        if deflation is not None:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                tau = 1.0 / (1.0 - np.einsum("mn,mn->m", deflation.grad_log_m(xa), dx))
                dx = dx * tau[:, None]
            step = safe_norm(dx)
        broken = ~finished & ~stuck & ~np.isfinite(step)
        status[active[broken]] = Status.NONFINITE
        keep = ~(finished | stuck | broken)
        n_iter[active] += 1
        active, xa, fa, na, dx, step, regular = (
            active[keep],
            xa[keep],
            fa[keep],
            na[keep],
            dx[keep],
            step[keep],
            ~singular[keep],
        )
        if active.size == 0:
            break
        too_long = step > options.max_step
        dx[too_long] *= (options.max_step / step[too_long])[:, None]
        simplified = None if deflation is not None else (lambda x, f: solve(x, f)[0])
        x_new, f_new, n_new, ok = _line_search(
            residual, log_merit, xa, na, dx, options, simplified, regular
        )
        x[active[ok]], fx[active[ok]], norm[active[ok]] = x_new[ok], f_new[ok], n_new[ok]
        status[active[~ok]] = Status.SINGULAR_JACOBIAN
        active = active[ok]
    running = status == Status.RUNNING
    status[running & (norm <= options.tol)] = Status.CONVERGED
    status[running & (norm > options.tol) & last_singular] = Status.SINGULAR_JACOBIAN
    status[status == Status.RUNNING] = Status.MAX_ITER
    return NewtonRun(x=x, residual=norm, status=status, n_iter=n_iter)


def _line_search(residual, log_merit, xa, na, dx, options, simplified=None, regular=None):
    """Armijo backtracking on the merit ``|f|^2`` (``|M f|^2`` when deflated), per item.

    Items already within ``tol`` take the first finite trial. A trial that fails the Armijo
    test may still pass the affine-invariant natural monotonicity test of Deuflhard: the
    simplified Newton correction ``simplified(x, f(trial))`` (Jacobian at ``x``) no longer than
    ``(1 - lam / 4)`` times the step. On a stiff or strongly curved system the full Newton step
    can raise ``|f|`` and still be the right step, and backtracking on ``|f|`` alone would crawl.
    It costs one more linear solve, only for such items, and applies only where the Jacobian is
    ``regular``: next to a manifold of roots the truncated correction ignores the null
    directions and would accept long jumps. Returns the accepted states, their residuals and
    norms, and a mask of items whose search succeeded.

    References
    ----------
    P. Deuflhard, Newton Methods for Nonlinear Problems, Springer (2004), section 3.3.
    """
    k = len(xa)
    lam = np.full(k, options.damping)
    x_new = xa.copy()
    f_new = np.zeros_like(xa)
    n_new = np.zeros(k)
    ok = np.zeros(k, dtype=bool)
    near = na <= options.tol
    phi0 = log_merit(xa, na)
    pending = np.arange(k)
    for _ in range(options.max_backtracks + 1):
        trial = xa[pending] + lam[pending, None] * dx[pending]
        f_trial = np.asarray(residual(trial), dtype=float)
        n_trial = safe_norm(f_trial)
        phi = log_merit(trial, n_trial)
        decrease = phi <= phi0[pending] + np.log1p(-2.0 * options.armijo * lam[pending])
        good = np.isfinite(n_trial) & np.all(np.isfinite(trial), axis=-1)
        if simplified is not None:
            allowed = np.ones(len(pending), dtype=bool) if regular is None else regular[pending]
            check = np.flatnonzero(good & ~decrease & ~near[pending] & allowed)
            if check.size:
                rows = pending[check]
                correction = safe_norm(simplified(xa[rows], f_trial[check]))
                theta = correction / np.maximum(safe_norm(dx[rows]), np.finfo(float).tiny)
                decrease[check] = theta <= 1.0 - lam[rows] / 4.0
        good &= near[pending] | decrease
        idx = pending[good]
        x_new[idx], f_new[idx], n_new[idx], ok[idx] = (
            trial[good],
            f_trial[good],
            n_trial[good],
            True,
        )
        pending = pending[~good]
        if pending.size == 0:
            break
        lam[pending] *= options.backtrack
    return x_new, f_new, n_new, ok
