"""Symmetric reductions of the teacher-student ReLU network: Tian's Theorem 7 system.

Teacher: ``K`` units forming the identity (orthonormal basis ``e_1..e_K`` of ``R^K``, ``d = K``);
student: ``K`` units; all second-layer weights 1; input ``N(0, I)``. The subspace

    ``w_j = x e_j + y sum_{i != j} e_i``,  i.e.  ``W = (x - y) I + y 1 1^T``,

is the fixed-point subspace of the permutations that act on units and inputs together
(``W -> P W P^T``), which preserve the loss and so the gradient flow: it is invariant, and the flow
on it is a 2-D system. Its coefficients are analytic in ``K``, which may therefore be a real
parameter ``K > 1`` (see the Notes of :func:`theorem7`).

Which flow is exposed: :func:`theorem7` is the *restricted flow*, the coordinates of the full flow
``W' = -grad L(W)`` in the basis ``(I, 1 1^T - I)`` of the subspace, i.e. the gradient flow of the
loss on the subspace (:func:`theorem7_loss`) in the metric ``diag(K, K (K - 1))`` that the
embedding induces. Its derivation and its domain for real ``K`` are in the Notes of
:func:`theorem7`.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Theorem 7, Fig. 8).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..symmetry import LinearEmbedding, LyapunovSystem
from ..system import model

__all__ = ["theorem7", "theorem7_embedding", "theorem7_loss", "theorem7_saddle"]

_TWO_PI = 2.0 * np.pi


def _safe_div(num, den):
    """``num / den``, 0 where ``den == 0`` (used only where the true limit multiplies a zero)."""
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _nonnegative(value, scale):
    """``value`` clipped at 0 where it is negative only by rounding (``>= -64 eps scale``); NaN
    where it is truly negative (outside the real domain, possible for ``K < 2``)."""
    rounding = 64.0 * np.finfo(float).eps * scale
    return np.where(value >= -rounding, np.maximum(value, 0.0), np.nan)


def _angles(x, y, K):
    """Building blocks: ``r^2``, ``t = r sin theta_1``, ``q = r sin theta_2``, the pair angle data
    ``N = r^2 sin phi``, ``D = r^2 cos phi``, ``p``, and the angles."""
    r2 = x * x + (K - 1.0) * y * y
    scale = x * x + (np.abs(K) + 3.0) * y * y
    t = np.sqrt(K - 1.0) * np.abs(y)
    q = np.sqrt(_nonnegative(x * x + (K - 2.0) * y * y, scale))
    p = _nonnegative(x * x + 2.0 * x * y + (2.0 * K - 3.0) * y * y, scale)
    N = np.abs(x - y) * np.sqrt(p)
    D = 2.0 * x * y + (K - 2.0) * y * y
    return r2, t, q, p, N, D, np.arctan2(t, x), np.arctan2(q, y), np.arctan2(N, D)


def _field_and_tangent(x, y, K, dx, dy, dK):
    """``(2 pi G_x, 2 pi G_y)`` and their derivatives along the tangent ``(dx, dy, dK)``
    (forward mode, by hand)."""
    r2, t, q, p, N, D, _, th2, phi = _angles(x, y, K)
    u, du = x - y, dx - dy
    sphi = N / r2
    dr2 = 2.0 * x * dx + 2.0 * (K - 1.0) * y * dy + y * y * dK
    sqk = np.sqrt(K - 1.0)
    dt = np.sign(y) * sqk * dy + _safe_div(np.abs(y) * dK, 2.0 * sqk)
    dq = _safe_div(2.0 * x * dx + 2.0 * (K - 2.0) * y * dy + y * y * dK, 2.0 * q)
    dp = 2.0 * (x + y) * dx + 2.0 * (x + (2.0 * K - 3.0) * y) * dy + 2.0 * y * y * dK
    dN = np.sign(u) * du * np.sqrt(p) + np.abs(u) * _safe_div(dp, 2.0 * np.sqrt(p))
    dD = 2.0 * y * dx + (2.0 * x + 2.0 * (K - 2.0) * y) * dy + y * y * dK
    dth1 = (x * dt - t * dx) / r2
    dth2 = (y * dq - q * dy) / r2
    dphi = (D * dN - N * dD) / (r2 * r2)  # N^2 + D^2 = r^4
    dsphi = dN / r2 - N * dr2 / (r2 * r2)

    def ratio(a, b, da, db):  # a b / r^2 and its derivative
        return a * b / r2, (da * b + a * db) / r2 - a * b * dr2 / (r2 * r2)

    _, ds1c1 = ratio(t, x, dt, dx)
    s2c1, ds2c1 = ratio(q, x, dq, dx)
    s1c2, ds1c2 = ratio(t, y, dt, dy)
    s2c2, ds2c2 = ratio(q, y, dq, dy)
    pi = np.pi
    km1 = K - 1.0
    pair_x = u * phi + x * (sphi - phi)
    d_pair_x = du * phi + u * dphi + dx * (sphi - phi) + x * (dsphi - dphi)
    pair_y = -u * phi + km1 * y * (sphi - phi)
    gy = pi * (x + km1 * y - 1.0) + pair_y + th2 - s1c2 - km1 * s2c2
    # gx = gy + (gx - gy), the difference written so that it is exactly zero where x == y (u = 0):
    # gx - gy = u (phi + (K-1) sin phi - (t + (K-1) q) / r^2) + (theta_1 - theta_2), and
    # theta_1 - theta_2 = atan2(t y - x q, x y + t q) with t y - x q = -u (y (x + y) / (t + q) + q)
    # (t^2 - q^2 = y^2 - x^2). So x' == y' bit for bit on the diagonal, which the flow keeps.
    dth = np.arctan2(-u * (_safe_div(y * (x + y), t + q) + q), x * y + t * q)
    gx = gy + u * (phi + km1 * sphi - (t + km1 * q) / r2) + dth
    dgx = (
        pi * dx
        + pi * (dK * y + km1 * dy)
        + dK * pair_x
        + km1 * d_pair_x
        + dth1
        - ds1c1
        - dK * s2c1
        - km1 * ds2c1
    )
    d_pair_y = -du * phi - u * dphi + (dK * y + km1 * dy) * (sphi - phi) + km1 * y * (dsphi - dphi)
    dgy = pi * (dx + dK * y + km1 * dy) + d_pair_y + dth2 - ds1c2 - dK * s2c2 - km1 * ds2c2
    return (gx, gy), (dgx, dgy)


def _xyk(state, p):
    state = np.asarray(state, dtype=float)
    x, y = state[..., 0], state[..., 1]
    K = np.asarray(p["K"], dtype=float)
    return x, y, K


def _field(state, p):
    x, y, K = _xyk(state, p)
    zero = np.zeros_like(x + y)
    (gx, gy), _ = _field_and_tangent(x, y, K, zero, zero, zero)
    return -np.stack(np.broadcast_arrays(gx, gy), axis=-1) / _TWO_PI


def _jac(state, p):
    x, y, K = _xyk(state, p)
    zero, one = np.zeros_like(x + y), np.ones_like(x + y)
    _, (gxx, gyx) = _field_and_tangent(x, y, K, one, zero, zero)
    _, (gxy, gyy) = _field_and_tangent(x, y, K, zero, one, zero)
    rows = np.stack([np.stack([gxx, gxy], -1), np.stack([gyx, gyy], -1)], -2)
    return -rows / _TWO_PI


def _dfdp(state, p, name):
    x, y, K = _xyk(state, p)
    zero, one = np.zeros_like(x + y), np.ones_like(x + y)
    _, (gxk, gyk) = _field_and_tangent(x, y, K, zero, zero, one)
    return -np.stack([gxk, gyk], axis=-1) / _TWO_PI


def theorem7_loss(state, K: float) -> np.ndarray:
    """The population loss ``L = E[(g - g*)^2] / 2`` on Tian's Theorem 7 subspace.

    ``L = K (r^2 + 1) / 4 + K (K-1) (r^2 h(phi) + 1) / (4 pi)
    - K r (h(theta_1) + (K-1) h(theta_2)) / (2 pi)``, ``h(t) = sin t + (pi - t) cos t``, with
    the notation of the module docstring; zero exactly at the teacher ``(1, 0)``.

    Parameters
    ----------
    state : array_like, shape (..., 2)
        Points ``(x, y)``.
    K : float
        Number of units (real, ``> 1``; see "Real K" in the module docstring).

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``; NaN outside the real domain when ``K < 2``.

    Examples
    --------
    >>> round(float(theorem7_loss([1.0, 0.0], 3)), 15)
    0.0
    """
    x, y, K = _xyk(state, {"K": K})
    r2, t, q, _, N, D, th1, th2, phi = _angles(x, y, K)
    pi = np.pi
    self_term = K * (r2 + 1.0) / 4.0 + K * (K - 1.0) * (N + (pi - phi) * D + 1.0) / (4.0 * pi)
    cross = K * (t + (pi - th1) * x + (K - 1.0) * (q + (pi - th2) * y)) / (2.0 * pi)
    return self_term - cross


def theorem7_saddle(K) -> np.ndarray | float:
    """Tian's symmetric saddle ``x = y = (sqrt(K - 1) - arccos(1/sqrt(K)) + pi) / (pi K)``.

    Defined for real ``K > 1`` (scalar or array); NaN for ``K < 1``.

    Examples
    --------
    >>> round(theorem7_saddle(2), 12)  # 3/8 + 1/(2 pi)
    0.534154943092
    """
    K = np.asarray(K, dtype=float)
    value = (np.sqrt(K - 1.0) - np.arccos(1.0 / np.sqrt(K)) + np.pi) / (np.pi * K)
    return float(value) if value.ndim == 0 else value


def theorem7_embedding(K: int) -> LinearEmbedding:
    """The subspace ``W = x I + y (1 1^T - I)`` of the full ``K``-unit state (``W`` flattened,
    ``d = K``): a :class:`~dynsys.symmetry.LinearEmbedding` with columns ``vec(I)`` and
    ``vec(1 1^T - I)`` (orthogonal, not normalised; metric ``diag(K, K (K-1))``).

    Examples
    --------
    >>> theorem7_embedding(2).lift([0.9, 0.1]).reshape(2, 2).tolist()
    [[0.9, 0.1], [0.1, 0.9]]
    """
    if isinstance(K, bool) or not isinstance(K, int | np.integer) or K < 2:
        raise InputError(f"`K` must be an integer >= 2 to build the full state; got {K!r}.")
    eye = np.eye(K)
    return LinearEmbedding(np.stack([eye.ravel(), (1.0 - eye).ravel()], axis=-1))


@model
def theorem7(K: float = 2.0) -> LyapunovSystem:
    """Tian's Theorem 7 flow on the symmetric subspace, a 2-D system with ``K`` a real parameter.

    States ``x, y`` (``w_j = x e_j + y sum_{i != j} e_i``), parameter ``K``. The vector field is
    the restricted flow of the full gradient flow (see the module docstring: the gradient flow of
    :func:`theorem7_loss` in the metric ``diag(K, K (K-1))``); Jacobian and ``d/dK`` are
    analytic. ``potential(state)`` is the loss, a Lyapunov function. Equilibria: the teacher
    ``(1, 0)`` (a sink) and the saddle ``x = y =`` :func:`theorem7_saddle` ``(K)``, which attracts
    the diagonal ``x = y`` (eigenvalue ``-K/2``) and repels across it; from
    ``1 >= x0 > y0 >= 0`` the flow reaches the teacher.

    Parameters
    ----------
    K : float
        Number of hidden units, a real number ``> 1``: the field is analytic in ``K``, and
        non-integer values interpolate between the networks of integer size (see "Real K" in
        the module docstring; for ``1 < K < 2`` the field is real only in cones around the
        diagonal and the ``x`` axis, and NaN elsewhere).

    Returns
    -------
    LyapunovSystem
        Named ``"theorem7"`` (also its name in ``dynsys.models.MODELS``).

    Raises
    ------
    ValueError
        If ``K`` is not a finite number ``> 1``.

    Notes
    -----
    This is the *restricted flow*: ``x'`` is the ``e_1``-component and ``y'`` the
    ``e_2``-component of ``w_1'`` under the full gradient flow ``W' = -grad L(W)`` (the
    coordinates of the full flow in the basis ``(I, 1 1^T - I)`` of the subspace). With
    ``L(x, y; K)`` the loss on the subspace (:func:`theorem7_loss`), ``dL/dx = K G_x`` and
    ``dL/dy = K (K - 1) G_y``, so

        ``x' = -(1/K) dL/dx``,  ``y' = -(1/(K (K - 1))) dL/dy``:

    the gradient flow of ``L`` in the metric ``diag(K, K (K - 1))`` that the embedding induces, not
    in the Euclidean metric of ``(x, y)``. It has the same orbits and equilibria as the full flow
    started on the subspace, and ``L`` is a Lyapunov function (``potential``). The Jacobian's
    eigenvalues are real and its unstable index is the Morse index of ``L`` on the subspace.

    Derivation (``r^2 = x^2 + (K-1) y^2 = |w_j|^2``; angles ``theta_1 = angle(w_1, e_1)``, ``theta_2
    = angle(w_1, e_2)``, ``phi = angle(w_1, w_2)``): with Tian's Theorem 1, ``grad_{w_1} L = sum_j
    E[F(e, w_j)] - sum_l E[F(e, e_l)]``, ``e = w_1 / r``, and ``E[F(e, v)] = ((pi - theta) v + |v|
    sin(theta) e) / (2 pi)``::

        2 pi G_x = pi (x - 1) + (K-1) pi y + (K-1) [(x - y) phi + x (sin phi - phi)]
                     + (theta_1 - sin theta_1 cos theta_1) - (K-1) sin theta_2 cos theta_1
        2 pi G_y = pi (x + (K-1) y - 1) - (x - y) phi + (K-1) y (sin phi - phi)
                     + theta_2 - sin theta_1 cos theta_2 - (K-1) sin theta_2 cos theta_2

    and ``(x', y') = -(G_x, G_y)``. The grouping keeps the field and its Jacobian exact where two
    units coincide (``x = y``, ``phi = 0``: the angle has a kink there but enters only through terms
    that vanish to second order). ``G_x`` is evaluated as ``G_y`` plus ``G_x - G_y`` written with
    a factor ``x - y`` (``theta_1 - theta_2`` as one ``atan2``), so that on the diagonal ``x = y``
    (all units equal) ``x' == y'`` bit for bit: orbits started there stay there exactly, as in
    exact arithmetic, instead of drifting off the saddle along its unstable direction. The origin
    (all units zero) is where the loss is not
    differentiable: the field evaluates to NaN there.

    Real K. For an integer ``K`` every quantity above is a polynomial in ``(x, y, K)`` or a square
    root or angle of such polynomials: ``r^2 = x^2 + (K-1) y^2``, ``t = sqrt(K-1) |y|``,
    ``q^2 = r^2 sin^2 theta_2 = x^2 + (K-2) y^2``, ``w_1 . w_2 = D = 2 x y + (K-2) y^2`` and
    ``r^4 - D^2 = (x - y)^2 p`` with ``p = x^2 + 2 x y + (2K-3) y^2``; the ``K - 1`` other units
    (and the ``K - 1`` other teacher directions) contribute ``K - 1`` equal terms, a factor
    polynomial in ``K``. The same expressions therefore define the field for real ``K``, analytic
    in ``K`` wherever ``r^2``, ``q^2`` and ``p`` are positive. For ``K >= 2`` they are, except at
    the origin (``q^2`` and ``p`` are sums of squares), so the field is defined on the whole
    punctured plane. For ``1 < K < 2`` the real domain is smaller: ``q^2 >= 0`` needs
    ``|y| <= |x| / sqrt(2 - K)``, and ``p < 0`` for ``x/y`` strictly between the roots
    ``-1 +- sqrt(4 - 2K)``. It contains the diagonal ``x = y`` (the saddle, where
    ``q^2 = (K-1) y^2`` and ``p = 2K y^2``) and the axis ``y = 0`` (the teacher ``(1, 0)``) with
    cones around them; outside it no real geometry underlies the formulas, and field, Jacobian and
    loss are NaN (batch algorithms report such items as non-finite). ``K = 1`` is the boundary:
    ``r^2`` loses its ``y`` term and ``sqrt(K - 1)`` is not differentiable.

    Examples
    --------
    >>> system = theorem7(K=5.0)
    >>> s = theorem7_saddle(5.0)
    >>> [bool(np.abs(system.f(z)).max() < 1e-14) for z in ([s, s], [1.0, 0.0])]
    [True, True]
    >>> np.linalg.eigvals(system.jac([s, s])).round(4).tolist()  # a saddle
    [1.5492, -2.5]
    >>> s = theorem7_saddle(1.5)  # real K between 1 and 2
    >>> sorted(np.linalg.eigvals(theorem7(1.5).jac([s, s])).round(4).tolist())
    [-0.75, 0.4921]
    """
    K = float(K)
    if not np.isfinite(K) or K <= 1.0:
        raise InputError(
            f"`K` must be a finite number > 1 (the field needs sqrt(K - 1)); got {K!r}."
        )
    return LyapunovSystem(
        _field,
        ["x", "y"],
        {"K": K},
        jac=_jac,
        dfdp=lambda state, p, name: _dfdp(state, p, name),
        lyapunov=lambda state, p: theorem7_loss(state, p["K"]),
        name="theorem7",
        probe=[0.7, 0.2],
    )
