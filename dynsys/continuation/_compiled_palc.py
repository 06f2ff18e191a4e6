"""The compiled pseudo-arclength loop of :mod:`dynsys.continuation._compiled` (numba; imported on
first use). Module-level functions, so that numba's on-disk cache serves every process.

:func:`palc_run` is :func:`dynsys.continuation._palc.run` for an equilibrium problem whose model
declares its field, Jacobian and parameter derivative in compiled code, with the same arithmetic:
the bordered matrices are factored and solved by the LAPACK routine the Python path calls
(``dgesv``: ``dgetrf`` then ``dgetrs``, from scipy's LAPACK), dot products go through BLAS
``ddot`` as numpy's do, and every other operation is the Python path's, in its order. The
points, tangents, iteration counts and determinant signs are therefore those of the Python path.
The loop leaves to Python what ends a run (the last point on a parameter bound, the point that
closes a loop) and everything after it: monitoring, special points, the Dataset.

:func:`palc_point` is one trial point of the location of a special point (Newton, then the
tangent and determinant of :func:`dynsys.continuation._palc.evaluate`), :func:`palc_evaluate` the
tangent and determinant alone, with the same arithmetic.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import types
from numba.extending import overload
from numba.np import linalg as _nb_linalg

from .._first_class import function_at
from ._compiled_types import F1, F2, FIELD_SIGNATURE, JACOBIAN_SIGNATURE, PARAM_DERIVATIVE_SIGNATURE

# Why a compiled run stopped (the Python side maps these to dynsys.Status).
MAX_POINTS = 0
STEP_UNDERFLOW = 1
STATE_BOUND = 2
PARAM_BOUND = 3  # the last candidate crossed p_min or p_max: Python puts the end on the bound
CLOSED_LOOP = 4  # Python closes the loop with the start point
FULL = 5  # the output arrays are full: Python stores the points and calls again to go on

_F_INT = _nb_linalg.F_INT_nptype
# The model's functions reach the kernels as the addresses of their compiled code (int64): an
# address costs nothing to pass, a first-class function argument ~3 us a call to unbox.
_FIELD = function_at(FIELD_SIGNATURE)
_JACOBIAN = function_at(JACOBIAN_SIGNATURE)
_PARAM_DERIVATIVE = function_at(PARAM_DERIVATIVE_SIGNATURE)


def _gesv(a, ipiv, b):  # pragma: no cover - replaced by the overload in compiled code
    raise NotImplementedError


@overload(_gesv)
def _gesv_overload(a, ipiv, b):
    """``dgesv`` on ``a`` (square, column-major: ``a[j, i]`` holds entry ``(i, j)``), in place:
    ``a`` becomes its LU factors, ``ipiv`` the 1-based pivots, ``b`` the solution. Returns LAPACK's
    ``info`` (> 0: an exactly zero pivot; ``b`` is then not solved)."""
    _nb_linalg.ensure_lapack()
    xgesv = _nb_linalg._LAPACK().numba_xgesv(types.float64)
    kind = ord(_nb_linalg.get_blas_kind(types.float64, "solve"))

    def impl(a, ipiv, b):
        m = a.shape[0]
        return xgesv(kind, m, 1, a.ctypes, m, ipiv.ctypes, b.ctypes, m)

    return impl


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _abs_max(v, count: int, initial: float) -> float:
    """``max(initial, max |v[:count]|)``, NaN if any of them is NaN (``np.abs(v).max()`` with
    ``initial = |v[0]|``)."""
    out = initial
    for i in range(count):
        a = abs(v[i])
        if math.isnan(a):
            return a
        out = max(out, a)
    return out


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _norm(v) -> float:
    """``float(np.linalg.norm(v))`` for a real vector: ``sqrt(v . v)`` (BLAS ``ddot``)."""
    return math.sqrt(np.dot(v, v))


@numba.njit(inline="always")
def _split(u, x, params, k) -> None:
    """The unknowns ``u`` into the state ``x`` and the continued parameter ``params[k]``."""
    n = x.shape[0]
    for i in range(n):
        x[i] = u[i]
    params[k] = u[n]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _bordered(jacobian, dparam, params, k, u, border, x, fp, J, A) -> bool:
    """``[J, f_p; border^T]`` at ``u`` into ``A`` (column-major) and ``J``; False when an entry is
    not finite (the Python path's Factorization refuses such a matrix)."""
    n = x.shape[0]
    _split(u, x, params, k)
    jacobian(x, params, J)
    dparam(x, params, k, fp)
    finite = True
    for i in range(n):
        for j in range(n):
            A[j, i] = J[i, j]
        A[n, i] = fp[i]
    for j in range(n + 1):
        A[j, n] = border[j]
    for j in range(n + 1):
        for i in range(n + 1):
            if not math.isfinite(A[j, i]):
                finite = False
    return finite


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _factor_solve(A, ipiv, b) -> bool:
    """LU of ``A`` and ``A^-1 b`` into ``b``; False at an exactly zero pivot."""
    info = _gesv(A, ipiv, b)
    if info != 0:
        return False
    for i in range(A.shape[0]):  # noqa: SIM110 - compiled
        if A[i, i] == 0.0:
            return False
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _newton(field, jacobian, dparam, params, k, u, row, target, tol, max_iter, x, r, fp, J, A,
            ipiv, b) -> int:  # fmt: skip
    """:func:`dynsys.continuation._palc.newton` in place on ``u``: the iterations it took, or
    -1 when it failed."""
    n = x.shape[0]
    previous = math.inf
    for it in range(1, max_iter + 1):
        _split(u, x, params, k)
        field(x, params, r)
        for i in range(n):
            if not math.isfinite(r[i]):
                return -1
        nonzero = False
        for i in range(n):
            b[i] = r[i]
            if r[i] != 0.0:
                nonzero = True
        b[n] = np.dot(row, u) - target
        if b[n] != 0.0:
            nonzero = True
        if not nonzero:  # an exact solution: nothing to do
            return it - 1
        if not _bordered(jacobian, dparam, params, k, u, row, x, fp, J, A):
            return -1
        if not _factor_solve(A, ipiv, b):
            return -1
        for i in range(n + 1):
            u[i] = u[i] - b[i]
        size = _abs_max(b, b.shape[0], abs(b[0]))
        if not math.isfinite(size):
            return -1
        if size <= tol * (1.0 + _abs_max(u, u.shape[0], abs(u[0]))):
            return it
        if it >= 3 and size > previous:
            return -1
        previous = size
    return -1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _evaluate(jacobian, dparam, params, k, u, border, t, diag, x, fp, J, A, ipiv) -> int:
    """:func:`dynsys.continuation._palc.evaluate` without the monitoring: the unit tangent into
    ``t``, the LU diagonal into ``diag`` (the Python side takes its logarithm), and the sign of
    the bordered determinant, returned (0: singular)."""
    n = x.shape[0]
    if not _bordered(jacobian, dparam, params, k, u, border, x, fp, J, A):
        return 0
    for i in range(n):
        t[i] = 0.0
    t[n] = 1.0
    if not _factor_solve(A, ipiv, t):
        return 0
    norm = _norm(t)
    if not math.isfinite(norm) or norm == 0.0:
        return 0
    for i in range(n + 1):
        t[i] = t[i] / norm
    sign = 1
    swaps = 0
    for i in range(n + 1):
        diag[i] = A[i, i]
        if A[i, i] < 0.0:
            sign = -sign
        if ipiv[i] != i + 1:
            swaps += 1
    if swaps % 2:
        sign = -sign
    return sign


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _segment_distance(point, a, b, work) -> float:
    """:func:`dynsys.continuation._palc._segment_distance`."""
    m = point.shape[0]
    seg = np.empty(m)
    for i in range(m):
        seg[i] = b[i] - a[i]
    length2 = np.dot(seg, seg)
    for i in range(m):
        work[i] = point[i] - a[i]
    theta = 0.0 if length2 == 0.0 else min(max(np.dot(work, seg) / length2, 0.0), 1.0)
    for i in range(m):
        work[i] = a[i] + theta * seg[i] - point[i]
    return _norm(work)


_I1 = types.Array(types.int64, 1, "C")
_SIGNATURE = types.void(
    types.int64, types.int64, types.int64, F1, types.int64, F1, F1, types.int64,
    types.float64, types.float64, types.int64, types.float64, types.float64,
    types.float64, types.float64, types.int64, types.float64, types.int64, types.int64,
    types.float64,
    F2, F2, _I1, _I1, F2, types.Array(types.float64, 3, "C"), F1, _I1, F1,
)  # fmt: skip


@numba.njit(_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def palc_run(field_at, jacobian_at, dparam_at, params, k, u0, t0, done, ds_min, ds_max,
             max_points, p_min, p_max, x_max, tol, max_iter, min_cos, grow_below, shrink_above,
             growth, U, T, iters, signs, diags, jacs, beyond, stats, state):  # fmt: skip
    """Continue a run as :func:`dynsys.continuation._palc.run` does, until a stop condition or
    until the output arrays are full. ``field_at``, ``jacobian_at`` and ``dparam_at`` are the
    addresses of the model's compiled functions (:func:`dynsys._first_class.address`).

    The run started at ``(u0, t0)`` and has ``done`` points so far, the last one ``U[0]`` with
    unit tangent ``T[0]``; ``state`` holds the step ``ds`` and the arclength travelled, and
    receives their values at the end. New point ``i`` (from 1) gets ``U[i]``, its unit tangent
    ``T[i]``, corrector iterations ``iters[i]``, determinant sign ``signs[i]``, LU diagonal
    ``diags[i]`` and state Jacobian ``jacs[i]``. ``stats`` receives the number of points in the
    arrays (``U[0]`` included), the corrector iterations and rejected steps of this call, and the
    stop code (``PARAM_BOUND``: ``beyond`` is the candidate past the bound, ``stats[4]`` +1 for
    p_max, -1 for p_min; ``FULL``: call again from the last point).
    """
    field = _FIELD(field_at)
    jacobian = _JACOBIAN(jacobian_at)
    dparam = _PARAM_DERIVATIVE(dparam_at)
    m = u0.shape[0]
    n = m - 1
    x = np.empty(n)
    r = np.empty(n)
    fp = np.empty(n)
    J = np.empty((n, n))
    A = np.empty((m, m))
    ipiv = np.empty(m, dtype=_F_INT)
    b = np.empty(m)
    u = np.empty(m)
    u_pred = np.empty(m)
    t = np.empty(m)
    diag = np.empty(m)
    work = np.empty(m)
    step = np.empty(m)
    ds = state[0]
    travelled = state[1]
    cap = U.shape[0]
    count = 1
    n_newton = 0
    n_rejected = 0
    stop = MAX_POINTS
    iterations = 0
    sign = 0
    stats[4] = 0
    while done + count - 1 < max_points:
        if count == cap:
            stop = FULL
            break
        prev = count - 1
        accepted = False
        while True:
            for i in range(m):
                u_pred[i] = U[prev, i] + ds * T[prev, i]
                u[i] = u_pred[i]
            target = np.dot(T[prev], u_pred)
            iterations = _newton(field, jacobian, dparam, params, k, u, T[prev], target, tol,
                                 max_iter, x, r, fp, J, A, ipiv, b)  # fmt: skip
            if iterations >= 0:  # _jumped: a correction longer than half the step
                slack = 100.0 * tol * (1.0 + _abs_max(u, u.shape[0], abs(u[0])))
                for i in range(m):
                    work[i] = u[i] - u_pred[i]
                if _norm(work) > 0.5 * ds + slack:
                    iterations = -1
            if iterations >= 0:
                n_newton += iterations
                sign = _evaluate(jacobian, dparam, params, k, u, T[prev], t, diag, x, fp, J, A,
                                 ipiv)  # fmt: skip
                if sign != 0 and np.dot(t, T[prev]) >= min_cos:
                    accepted = True
                    break
            n_rejected += 1
            ds *= 0.5
            if ds < ds_min:
                break
        if not accepted:
            stop = STEP_UNDERFLOW
            break
        if _abs_max(u, n, 0.0) > x_max:
            stop = STATE_BOUND
            break
        if u[n] > p_max or u[n] < p_min:
            for i in range(m):
                beyond[i] = u[i]
            stats[4] = 1 if u[n] > p_max else -1
            stop = PARAM_BOUND
            break
        for i in range(m):
            step[i] = u[i] - U[prev, i]
        seg = _norm(step)
        travelled += seg
        if (
            done + count - 1 >= 3
            and travelled > 4.0 * seg
            and np.dot(step, t0) > 0
            and _segment_distance(u0, U[prev], u, work) <= 0.25 * seg
        ):
            stop = CLOSED_LOOP
            break
        for i in range(m):
            U[count, i] = u[i]
            T[count, i] = t[i]
            diags[count, i] = diag[i]
        for i in range(n):
            for j in range(n):
                jacs[count, i, j] = J[i, j]
        iters[count] = iterations
        signs[count] = sign
        count += 1
        if iterations < grow_below:
            ds = min(ds * growth, ds_max)
        elif iterations > shrink_above:
            ds = max(ds * 0.5, ds_min)
    stats[0] = count
    stats[1] = n_newton
    stats[2] = n_rejected
    stats[3] = stop
    state[0] = ds
    state[1] = travelled


_POINT_SIGNATURE = types.int64(
    types.int64, types.int64, types.int64, F1, types.int64, F1, F1, types.float64, types.float64,
    types.int64, F1, F1, F1, F2, _I1,
)  # fmt: skip


@numba.njit(_POINT_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def palc_point(field_at, jacobian_at, dparam_at, params, k, u, row, target, tol, max_iter, border,
               t, diag, J, sign):  # fmt: skip
    """:func:`dynsys.continuation._palc.newton` on ``G(u) = 0``, ``row . u = target`` from ``u``
    (in place), then at the solution what :func:`dynsys.continuation._palc.evaluate` bordered by
    ``border`` computes: the unit tangent into ``t``, the LU diagonal into ``diag``, the state
    Jacobian into ``J`` and the determinant sign into ``sign[0]`` (0: the bordered matrix is
    singular). Returns Newton's iterations, or -1 when it failed (the outputs are then not set).
    """
    field = _FIELD(field_at)
    jacobian = _JACOBIAN(jacobian_at)
    dparam = _PARAM_DERIVATIVE(dparam_at)
    m = u.shape[0]
    n = m - 1
    x = np.empty(n)
    r = np.empty(n)
    fp = np.empty(n)
    A = np.empty((m, m))
    ipiv = np.empty(m, dtype=_F_INT)
    b = np.empty(m)
    iterations = _newton(field, jacobian, dparam, params, k, u, row, target, tol, max_iter, x, r,
                         fp, J, A, ipiv, b)  # fmt: skip
    if iterations >= 0:
        sign[0] = _evaluate(jacobian, dparam, params, k, u, border, t, diag, x, fp, J, A, ipiv)
    return iterations


_EVALUATE_SIGNATURE = types.int64(
    types.int64, types.int64, F1, types.int64, F1, F1, F1, F1, F2,
)  # fmt: skip


@numba.njit(_EVALUATE_SIGNATURE, cache=True, nogil=True, error_model="numpy")
def palc_evaluate(jacobian_at, dparam_at, params, k, u, border, t, diag, J):
    """What :func:`dynsys.continuation._palc.evaluate` computes at ``u`` bordered by ``border``:
    the unit tangent into ``t``, the LU diagonal into ``diag``, the state Jacobian into ``J``;
    returns the determinant sign (0: the bordered matrix is singular)."""
    jacobian = _JACOBIAN(jacobian_at)
    dparam = _PARAM_DERIVATIVE(dparam_at)
    m = u.shape[0]
    n = m - 1
    x = np.empty(n)
    fp = np.empty(n)
    A = np.empty((m, m))
    ipiv = np.empty(m, dtype=_F_INT)
    return _evaluate(jacobian, dparam, params, k, u, border, t, diag, x, fp, J, A, ipiv)
