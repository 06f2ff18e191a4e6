"""Certified end of gradient descent on the teacher-student ReLU loss.

Gradient descent ``x <- G(x) = x - eta grad L(x)`` on the population loss of
:mod:`dynsys.models.relu` (fixed output weights) has decided its outcome once the iterate lies in
a ball where ``G`` provably contracts to a strict minimum. :func:`certify_descent` builds such a
ball around a Newton-refined critical point ``c`` (:func:`refine_critical_point`).

Theorem
-------
Let ``B = B(c, r)`` and suppose that for every ``y`` in ``B`` the Hessian satisfies
``|I - eta H(y)| <= q < 1`` (i), and that ``eta |grad L(c)| <= (1 - q) r`` (ii). Then for
``y`` in ``B``, ``|G(y) - c| <= |G(y) - G(c)| + |G(c) - c| <= q r + (1 - q) r = r`` (mean value
theorem along the segment, which stays in ``B``): ``G`` maps ``B`` into itself and is a
``q``-contraction there. So ``B`` holds exactly one fixed point ``x*``, a critical point with
``|x* - c| <= eta |grad L(c)| / (1 - q)``, and every descent orbit entering ``B`` stays in ``B``
and converges to it, ``|x_k - x*| <= q^k |x_0 - x*|``. By (i) the spectrum of ``H(x*)`` lies in
``(0, 2/eta)``: ``x*`` is a strict local minimum, and the outcome of the run (its loss, spurious
or not) is that of ``x*``.

Checking (i)
------------
If ``mu <= lambda(H(c)) <= L`` and ``|H(y) - H(c)| <= D`` on ``B``, the spectrum of ``H(y)`` lies
in ``[mu - D, L + D]``, so (i) holds with ``q = max(1 - eta (mu - D), eta (L + D) - 1)``
whenever ``mu - D > 0`` and ``eta (L + D) < 2``. ``D = r M(r)`` with the Hessian's Lipschitz
constant ``M(r)`` over ``B`` of :mod:`._hessian_variation` (derived there).

Floating point: ``mu`` is proved by a Cholesky factorisation of ``H - s I`` run to completion,
which shows ``lambda_min(H) >= s - 2 gamma_{n+2} tr|H - s I|`` (Rump, BIT 46, 2006, with a factor
2 to spare; ``gamma_k = k u / (1 - k u)``, ``u`` the unit roundoff); ``L`` likewise from
``L' I - H``, or from the largest absolute row sum. The rounding of the closed-form Hessian
itself is covered by a first-order bound ``eps_H = 64 u n S`` (``S`` bounds the sum of the
magnitudes of the terms in one entry) and of the gradient by ``64 u S_g``: generous multiples of
a standard error analysis, not interval arithmetic.

The radius
----------
``(1 - q(r)) r`` is concave in ``r`` (``r M(r)`` is convex), so the radii satisfying (i) and
(ii) form an interval; :func:`certify_descent` returns its right end (the largest certified
ball) to a relative accuracy of about ``3e-5``, from below, found on a geometric grid refined by
linear grids. A radius near its left end (within a factor of about 2) bounds the distance of
the minimum to the center (every certified ball holds ``x*``): ``minimum_within``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from ...errors import InputError
from ._core import gradient_core, hessian_core, loss_core
from ._hessian_variation import HessianVariation
from ._kernel import TWO_PI

__all__ = ["DescentCertificate", "RefinedPoint", "certify_descent", "refine_critical_point"]

_U = np.finfo(float).eps / 2  # unit roundoff
_INVERSE_ITERATIONS = 8
_POWER_ITERATIONS = 12
_SHIFT_FACTORS = (0.99, 0.9, 0.5, 0.1)  # tries of the Cholesky shift below the estimate of mu
_GRID = 32  # radii per grid of the radius search
_REFINEMENTS = 3  # linear grids refining the bracket of the largest radius (to ~3e-5 of it)


class RefinedPoint(NamedTuple):
    """The result of :func:`refine_critical_point`."""

    point: np.ndarray  # (K, d), the iterate with the smallest gradient norm found
    gradient_norm: float  # Euclidean norm of grad L there (nan if it could not be evaluated)
    converged: bool  # gradient_norm <= tol
    iterations: int  # Newton steps taken


@dataclass(frozen=True, eq=False)
class DescentCertificate:
    """A ball in which gradient descent provably contracts to a strict minimum.

    ``valid`` is True when the ball ``|W - center| <= radius`` (Euclidean norm of the flattened
    ``K x d`` matrices) is certified *and* holds the network that was certified: descent from
    there converges to the unique minimum in the ball. Otherwise ``reason`` says why not; a
    certified ball that misses the network is still reported (``radius > 0``) and
    :meth:`contains` tells whether a later iterate has entered it.
    """

    center: np.ndarray  # (K, d) refined critical point
    radius: float  # certified radius, 0 when no ball could be certified
    contraction: float  # q: |x_{k+1} - x*| <= q |x_k - x*| in the ball (nan if none)
    mu_lower: float  # proved lower bound on the smallest eigenvalue of H(center)
    L_upper: float  # proved upper bound on the largest eigenvalue of H(center)
    hessian_lipschitz: float  # M(radius): |H(y) - H(y')| <= M |y - y'| in the ball
    hessian_variation: float  # D = M(radius) radius >= sup_ball |H(y) - H(center)|
    residual: float  # |grad L(center)|
    step: float  # the learning rate eta the ball is certified for
    minimum_within: float  # the smallest certified ball: |x* - center| <= minimum_within
    valid: bool
    reason: str = ""
    loss: float = field(default=math.nan)  # L(center)
    variation: HessianVariation | None = field(default=None, repr=False)

    def contraction_within(self, distance: float) -> float:
        """Return the contraction factor of descent on the sub-ball ``B(center, distance)``.

        The bound ``q`` of the module notes with ``D = distance M(distance)``; smaller than
        :attr:`contraction` (which holds on the whole ball) for ``distance < radius``. An orbit
        from a network at distance ``s`` from the center stays within
        ``s' = s + 2 minimum_within`` of it, so its distance to the minimum shrinks by at least
        ``contraction_within(s')`` per step. nan when no ball was certified or ``distance``
        exceeds the radius.

        Examples
        --------
        >>> cert = certify_descent(np.eye(3) + 1e-4, np.eye(3), step=0.1)
        >>> bool(cert.contraction_within(1e-4) < 0.992 < cert.contraction)
        True
        """
        if not (self.radius > 0 and self.variation is not None and 0 <= distance <= self.radius):
            return math.nan
        D = distance * float(self.variation.lipschitz(distance))
        return float(_contraction(self.mu_lower, self.L_upper, D, self.step))

    def contains(self, W) -> bool:
        """Return whether the network ``W`` (``(K, d)`` or flattened) lies in the certified ball.

        Always False when no ball was certified. A small relative margin covers the rounding of
        the distance.

        Examples
        --------
        >>> cert = certify_descent(np.eye(3) + 1e-4, np.eye(3), step=0.1)
        >>> cert.contains(np.eye(3)), cert.contains(2 * np.eye(3))
        (True, False)
        """
        if not self.radius > 0:
            return False
        W = np.asarray(W, dtype=float)
        if W.size != self.center.size:
            raise InputError(
                f"`W` has {W.size} entries; the certified networks have shape {self.center.shape}."
            )
        dist = float(np.linalg.norm(W.reshape(self.center.shape) - self.center))
        return dist <= self.radius * (1.0 - 1e-12)


# ---------------------------------------------------------------------------- inputs
def _inputs(W, teacher, a, b):
    W = np.asarray(W, dtype=float)
    teacher = np.asarray(teacher, dtype=float)
    if W.ndim == 1 and teacher.ndim == 2 and W.size and W.size % teacher.shape[1] == 0:
        W = W.reshape(-1, teacher.shape[1])  # a state in the layout of teacher_student
    if W.ndim != 2:
        raise InputError(
            f"`W` has shape {W.shape}; expected one student network (K, d), a hidden unit's "
            "weights per row, or its state (K*d,) in the layout of teacher_student."
        )
    if teacher.ndim != 2 or teacher.shape[1] != W.shape[1]:
        raise InputError(
            f"`teacher` has shape {teacher.shape}; expected (K*, {W.shape[1]}), rows in the "
            "same input dimension as `W`."
        )
    K, K_star = W.shape[0], teacher.shape[0]
    a = np.ones(K) if a is None else np.asarray(a, dtype=float)
    b = np.ones(K_star) if b is None else np.asarray(b, dtype=float)
    if a.shape != (K,):
        raise InputError(f"`a` has shape {a.shape}; expected ({K},), one per student unit.")
    if b.shape != (K_star,):
        raise InputError(f"`b` has shape {b.shape}; expected ({K_star},), one per teacher unit.")
    for name, x in (("W", W), ("teacher", teacher), ("a", a), ("b", b)):
        if not np.all(np.isfinite(x)):
            raise InputError(f"`{name}` contains NaN or infinite entries; give finite weights.")
    return W, teacher, a, b


def _tolerances(tol, max_iter) -> tuple[float, int]:
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(f"`tol` must be a positive number; got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 0:
        raise InputError(f"`max_iter` must be a nonnegative integer; got {max_iter!r}.")
    return tol, int(max_iter)


# ---------------------------------------------------------------------------- Newton
def _grad(W, teacher, a, b) -> np.ndarray:
    return gradient_core(W, teacher, a, b, False)


def _hess(W, teacher, a, b) -> np.ndarray:
    # symmetric to rounding; the factorisations read one triangle, whose mirror image is as
    # close to the exact Hessian as the computed entries are (eps_H)
    return hessian_core(W, teacher, a, b, False)


class _Solver:
    """Solves with one Hessian: Cholesky when it is positive definite, LU otherwise
    (:meth:`factor` returns None for a singular Hessian)."""

    def __init__(self, factor, cholesky: bool) -> None:
        self.factor, self.cholesky = factor, cholesky

    @classmethod
    def factor_of(cls, H: np.ndarray) -> _Solver | None:
        try:
            return cls(sla.cho_factor(H, check_finite=False), True)
        except np.linalg.LinAlgError:
            with warnings.catch_warnings():  # a singular matrix is reported as None
                warnings.simplefilter("ignore", sla.LinAlgWarning)
                factor = sla.lu_factor(H, check_finite=False)
            if not np.all(np.abs(np.diag(factor[0])) > 0):
                return None
            return cls(factor, False)

    def __call__(self, g: np.ndarray) -> np.ndarray:
        if self.cholesky:
            return sla.cho_solve(self.factor, g, check_finite=False)
        return sla.lu_solve(self.factor, g, check_finite=False)


def _newton(W, teacher, a, b, tol, max_iter) -> tuple[RefinedPoint, _Solver | None]:
    """Newton's method, reusing one Hessian factorisation while the gradient shrinks at least
    tenfold per step (near a nondegenerate critical point the chord steps converge fast and a
    Hessian costs far more than a solve) and refactorising otherwise. Returns the best point
    and the last factorisation (of a Hessian near it), if any."""
    shape = W.shape
    x = W
    if np.any(np.linalg.norm(x, axis=1) == 0):
        return RefinedPoint(x.copy(), math.nan, False, 0), None
    g = _grad(x, teacher, a, b).ravel()
    gn = float(np.linalg.norm(g))
    best = RefinedPoint(x.copy(), gn, gn <= tol, 0)
    solve, fresh, last = None, False, None
    for it in range(1, max_iter + 1):
        if best.converged:
            break
        if solve is None:
            H = _hess(x, teacher, a, b)
            if not np.all(np.isfinite(H)):
                break
            try:
                solve, fresh = _Solver.factor_of(H), True
            except ValueError:
                solve = None
            if solve is None:
                break  # singular Hessian: keep the best point so far
        x_new = x - solve(g).reshape(shape)
        if not np.all(np.isfinite(x_new)) or np.any(np.linalg.norm(x_new, axis=1) == 0):
            break
        g_new = _grad(x_new, teacher, a, b).ravel()
        gn_new = float(np.linalg.norm(g_new))
        if not gn_new < best.gradient_norm:
            if fresh:
                break  # a full Newton step without progress: rounding floor or divergence
            solve = None  # the old Hessian is stale: refactorise at x and retry
            continue
        if gn_new > 0.1 * best.gradient_norm:
            solve = None  # slow progress: refresh the Hessian for the next step
        else:
            fresh = False
        x, g = x_new, g_new
        best = RefinedPoint(x.copy(), gn_new, gn_new <= tol, it)
        last = solve
    return best, last


def refine_critical_point(W, teacher, a=None, b=None, *, tol: float = 1e-12, max_iter: int = 20):
    """Refine a network to a nearby critical point of the loss by Newton's method.

    Newton steps ``x <- x - H(x)^{-1} grad L(x)`` with the closed-form Hessian (a symmetric
    indefinite solve, so saddles are found as well as minima), stopped when
    ``|grad L| <= tol``, when a step does not reduce ``|grad L|``, or after ``max_iter`` steps.
    Numerical failure (a singular Hessian, a zero hidden unit) ends the iteration and is
    reported through ``converged``, never raised.

    Parameters
    ----------
    W : array_like, shape ``(K, d)`` or ``(K*d,)``
        The student's first layer (hidden units as rows) or its flattened state: the start.
    teacher : array_like, shape ``(K*, d)``
        The teacher's first layer.
    a, b : array_like, shapes ``(K,)`` and ``(K*,)``, optional
        Fixed output weights of student and teacher; ones by default.
    tol : float
        Target Euclidean norm of the gradient.
    max_iter : int
        Most Newton steps.

    Returns
    -------
    RefinedPoint
        ``(point, gradient_norm, converged, iterations)``: the iterate with the smallest
        gradient norm, that norm, whether it is ``<= tol``, and the steps taken.

    Raises
    ------
    InputError
        For shapes that do not match, or non-finite input.

    Examples
    --------
    >>> ref = refine_critical_point(np.eye(3) + 1e-3, np.eye(3))
    >>> ref.converged, bool(np.allclose(ref.point, np.eye(3)))
    (True, True)
    """
    W, teacher, a, b = _inputs(W, teacher, a, b)
    tol, max_iter = _tolerances(tol, max_iter)
    return _newton(W, teacher, a, b, tol, max_iter)[0]


# ---------------------------------------------------------------------------- spectrum
def _cholesky_ok(A: np.ndarray) -> bool:
    try:
        sla.cholesky(A, lower=False, check_finite=False, overwrite_a=True)
    except np.linalg.LinAlgError:
        return False
    return True


def _rump_margin(H: np.ndarray, shift: float) -> float:
    """What a completed Cholesky of ``H - shift I`` in floating point leaves unproved."""
    n = H.shape[0]
    gamma = (n + 2) * _U / (1 - (n + 2) * _U)
    return 2.0 * gamma * float(np.abs(np.diag(H) - shift).sum())


def _smallest_eigenvalue_estimate(H: np.ndarray, solve) -> float:
    """Inverse iteration with ``solve`` (a factorisation of ``H`` or of a Hessian near it); the
    Rayleigh quotient of ``H`` at the result is an upper bound on ``lambda_min(H)``."""
    x = np.cos(np.arange(H.shape[0]) * 0.7 + 0.1)
    for _ in range(_INVERSE_ITERATIONS):
        x = solve(x / np.linalg.norm(x))
    x /= np.linalg.norm(x)
    return float(x @ (H @ x))


def _proved_above(H: np.ndarray, estimate: float, eps_H: float) -> float:
    """The largest shift below ``estimate`` (of a few tried) at which ``H - shift I`` has a
    Cholesky factorisation, less the rounding margins; nan if none."""
    for factor in _SHIFT_FACTORS:
        shift = factor * estimate
        if _cholesky_ok(_shifted(H, -shift)):
            return shift - _rump_margin(H, shift) - eps_H
    return math.nan


def _shifted(H: np.ndarray, shift: float, sign: float = 1.0) -> np.ndarray:
    """``sign H + shift I`` as a new array."""
    out = H * sign
    out.flat[:: H.shape[0] + 1] += shift
    return out


def _lower_bound(H: np.ndarray, eps_H: float, nearby=None) -> tuple[float, str]:
    """A proved lower bound on ``lambda_min(H_exact)``, or nan and the reason.

    With ``nearby``, the Cholesky factorisation of a Hessian at a nearby point (the last Newton
    step's), the estimate comes from it and a single factorisation of ``H - shift I`` may
    suffice; otherwise ``H`` is factorised first (which also tells a saddle)."""
    if nearby is not None and nearby.cholesky:
        estimate = _smallest_eigenvalue_estimate(H, nearby)
        if estimate > 0:
            mu = _proved_above(H, estimate, eps_H)
            if mu > 0:
                return mu, ""
    try:
        factor = sla.cho_factor(H, check_finite=False)
    except np.linalg.LinAlgError:
        return math.nan, (
            "the Hessian at the refined point is not positive definite (its Cholesky "
            "factorisation fails): a saddle, a maximum or a degenerate critical point, to which "
            "descent does not contract"
        )
    estimate = _smallest_eigenvalue_estimate(
        H, lambda x: sla.cho_solve(factor, x, check_finite=False)
    )
    if not estimate > 0:
        return math.nan, "the smallest eigenvalue of the Hessian could not be estimated"
    mu = _proved_above(H, estimate, eps_H)
    if math.isnan(mu):  # the factorisation of H itself succeeded: mu >= -margin only
        mu = -_rump_margin(H, 0.0) - eps_H
    return mu, ""


def _upper_bound(H: np.ndarray, eps_H: float, tight: bool) -> float:
    """A proved upper bound on ``lambda_max(H_exact)``: the largest absolute row sum, or, with
    ``tight``, a Cholesky-verified bound from a power-iteration estimate (the smaller)."""
    n = H.shape[0]
    rows = float(np.abs(H).sum(axis=1).max()) * (1 + 2 * n * _U) + eps_H
    if not tight:
        return rows
    x = np.sin(np.arange(n) * 0.9 + 0.3)
    lam = 0.0
    for _ in range(_POWER_ITERATIONS):
        y = H @ x
        lam = float(np.linalg.norm(y) / np.linalg.norm(x))
        x = y / np.linalg.norm(y)
    for factor_ in (1.02, 1.1, 1.3):
        top = factor_ * lam
        if top < rows and _cholesky_ok(_shifted(H, top, sign=-1.0)):
            return min(rows, top + _rump_margin(-H, -top) + eps_H)
    return rows


def _rounding_scales(W, teacher, a, b) -> tuple[float, float]:
    """Sums of term magnitudes in one Hessian entry and one gradient entry (for rounding)."""
    norms = np.linalg.norm(W, axis=1)
    mass = float(np.abs(a) @ norms + np.abs(b) @ np.linalg.norm(teacher, axis=1))
    abs_a = np.abs(a)
    total = float(abs_a.sum() + np.abs(b).sum())
    # |A(u, v)| <= 2 |v| / |u|, |B| <= pi + 1, |G(u, v)| <= (pi + 1) |v|
    hess = float(np.max(abs_a * (2 * mass / norms + (np.pi + 1) * total) / TWO_PI + abs_a**2))
    grad = float(np.max(abs_a) * (np.pi + 1) * mass / TWO_PI)
    return hess, grad


# ---------------------------------------------------------------------------- radius
def _contraction(mu, L, D, step):
    return np.maximum(1.0 - step * (mu - D), step * (L + D) - 1.0)


def _certified_radii(variation: HessianVariation, mu, L, g_bound, step) -> tuple[float, float]:
    """Radii near the two ends of the interval ``{r : q(r) < 1, eta g <= (1 - q(r)) r}``, both
    in it: the first feasible point of a geometric grid (within a factor ~2 of the left end)
    and the right end refined on linear grids; ``(0, 0)`` if no grid point is feasible."""

    def feasible(r):
        D = r * variation.lipschitz(r)
        q = _contraction(mu, L, D, step)
        return (q < 1.0) & ((1.0 - q) * r - step * g_bound >= 0)

    r_cap = variation.min_norm
    grid = r_cap * np.geomspace(1e-10, 1.0 - 1e-9, _GRID)
    ok = np.nonzero(feasible(grid))[0]
    if ok.size == 0:
        return 0.0, 0.0
    smallest, largest = float(grid[ok[0]]), float(grid[ok[-1]])
    hi = float(grid[ok[-1] + 1]) if ok[-1] + 1 < grid.size else r_cap
    for _ in range(_REFINEMENTS):  # the right end is in [largest, hi)
        fine = np.linspace(largest, hi, _GRID)
        i = int(np.nonzero(feasible(fine))[0][-1])
        largest, hi = float(fine[i]), float(fine[i + 1]) if i + 1 < _GRID else hi
    return smallest, largest


# ---------------------------------------------------------------------------- certificate
def certify_descent(
    W,
    teacher,
    step: float,
    a=None,
    b=None,
    *,
    tol: float = 1e-12,
    max_iter: int = 20,
) -> DescentCertificate:
    """Certify that gradient descent from ``W`` converges to a strict local minimum.

    Refines ``W`` to a critical point ``c`` by Newton's method (:func:`refine_critical_point`),
    proves bounds ``mu <= lambda(H(c)) <= L`` by Cholesky factorisations, and returns the
    largest ball around ``c`` on which the descent map ``x -> x - step grad L(x)`` contracts
    (theorem and bound in the module notes). When ``valid``, every descent orbit from ``W``
    (or from any network in the ball) converges to the unique minimum ``x*`` in the ball, and
    ``0 <= L(center) - L(x*) <= residual^2 / (2 (mu_lower - hessian_variation))`` (the loss is
    strongly convex on the ball): the run's outcome, spurious or not, is decided.

    Parameters
    ----------
    W : array_like, shape ``(K, d)`` or ``(K*d,)``
        The current student network (hidden units as rows), or its flattened state.
    teacher : array_like, shape ``(K*, d)``
        The teacher's first layer.
    step : float
        The learning rate ``eta`` of gradient descent (positive).
    a, b : array_like, shapes ``(K,)`` and ``(K*,)``, optional
        Fixed output weights of student and teacher; ones by default.
    tol, max_iter
        Passed to the Newton refinement.

    Returns
    -------
    DescentCertificate
        ``valid`` with the ball, the contraction factor and the bounds used, or not valid with
        the reason (Newton did not converge, the Hessian is not positive definite, the gradient
        is too large for any ball, or ``W`` lies outside the certified ball).

    Raises
    ------
    InputError
        For shapes that do not match, non-finite input or ``step <= 0``.

    Notes
    -----
    The cost is two closed-form Hessians (one for Newton's method, which reuses its
    factorisation while it converges fast, one at the center), two Cholesky factorisations of
    ``n x n`` matrices (``n = K d``), a few triangular solves and ``O(K (K + K*))`` work per
    radius tried: at ``K = d = 20`` a Hessian takes about 2 ms, a factorisation 1 ms. BLAS runs
    single-threaded here, which is faster for these sizes and leaves the other cores to other
    runs. In a descent loop, certify when the gradient has shrunk by a constant factor since
    the last attempt, and keep a valid certificate: :meth:`DescentCertificate.contains` is
    cheap.

    Examples
    --------
    >>> T = np.eye(3)
    >>> cert = certify_descent(T + 1e-4, T, step=0.1)
    >>> cert.valid, bool(np.allclose(cert.center, T)), cert.radius > 1e-3
    (True, True, True)
    >>> cert.contraction < 1
    True
    """
    W, teacher, a, b = _inputs(W, teacher, a, b)
    step = float(step)
    if not (np.isfinite(step) and step > 0):
        raise InputError(f"`step` must be a positive learning rate; got {step!r}.")
    tol, max_iter = _tolerances(tol, max_iter)
    with _single_threaded_blas():
        return _certify(W, teacher, a, b, step, tol, max_iter)


def _certify(W, teacher, a, b, step, tol, max_iter) -> DescentCertificate:
    ref, nearby = _newton(W, teacher, a, b, tol, max_iter)
    c = ref.point

    def refuse(reason, **values):
        nan = math.nan
        base = {"radius": 0.0, "contraction": nan, "mu_lower": nan, "L_upper": nan}
        base |= {"minimum_within": nan}
        base |= {"hessian_lipschitz": nan, "hessian_variation": nan}
        base |= values
        return DescentCertificate(
            center=c, residual=ref.gradient_norm, step=step, valid=False, reason=reason, **base
        )

    if not ref.converged:
        return refuse(
            f"Newton's method did not reach |grad L| <= {tol:g} from W (best "
            f"{ref.gradient_norm:.3g} after {ref.iterations} steps): no critical point found nearby"
        )
    hess_scale, grad_scale = _rounding_scales(c, teacher, a, b)
    n = c.size
    eps_H = 64 * _U * n * hess_scale
    H = _hess(c, teacher, a, b)
    if not np.all(np.isfinite(H)):
        return refuse("the Hessian at the refined point is not finite")
    mu, why = _lower_bound(H, eps_H, nearby)
    mu = float(mu)
    if why:
        return refuse(why)
    if not mu > 0:
        return refuse(
            f"the smallest Hessian eigenvalue is not proved positive (bound {mu:.3g}): a "
            "degenerate minimum, to which descent does not contract at a certified rate",
            mu_lower=mu,
        )
    L = _upper_bound(H, eps_H, tight=False)
    if step * (L + mu) > 2.0:  # the row-sum bound would decide q: prove a tighter one
        L = _upper_bound(H, eps_H, tight=True)
    L = float(L)
    variation = HessianVariation(c, teacher, a, b, hessian=H, hessian_error=eps_H)
    g_bound = ref.gradient_norm + 64 * _U * math.sqrt(n) * grad_scale
    smallest, radius = _certified_radii(variation, mu, L, g_bound, step)
    if not radius > 0:
        if step * L >= 2.0:
            why = f"the learning rate is too large for this minimum: eta L = {step * L:.3g} >= 2"
        else:
            why = (
                f"no ball satisfies the contraction conditions (mu >= {mu:.3g}, residual "
                f"{ref.gradient_norm:.3g})"
            )
        return refuse(why, mu_lower=mu, L_upper=L)
    M = float(variation.lipschitz(radius))
    D = radius * M
    cert = DescentCertificate(
        center=c,
        radius=radius,
        contraction=float(_contraction(mu, L, D, step)),
        mu_lower=mu,
        L_upper=L,
        hessian_lipschitz=M,
        hessian_variation=D,
        residual=ref.gradient_norm,
        minimum_within=smallest,
        step=step,
        valid=True,
        reason="",
        loss=float(_loss(c, teacher, a, b)),
        variation=variation,
    )
    if not cert.contains(W):
        dist = float(np.linalg.norm(W - c))
        return replace(
            cert,
            valid=False,
            reason=f"W lies outside the certified ball (distance {dist:.3g} to its center, radius "
            f"{radius:.3g}): descent has not yet decided",
        )
    return cert


def _loss(W, teacher, a, b) -> float:
    return float(loss_core(W, teacher, a, b))


_CONTROLLER = []


def _single_threaded_blas():
    """A context limiting BLAS to one thread (the controller is built once)."""
    from threadpoolctl import ThreadpoolController

    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
