"""How much the Hessian of the teacher-student loss can change over a ball (private).

Kernel and blocks
-----------------
With ``phi(u, v) = E[relu(u.x) relu(v.x)] = [|u||v| sin(theta) + (pi - theta) u.v] / (2 pi)``,
``e_u = u/|u|``, ``c = cos(theta)``, ``s = sin(theta)``, ``P = I - e_u e_u^T``, ``z = P v``
(``|z| = |v| s``) and ``n_u = z/|z|`` (the unit vector orthogonal to ``u`` in the plane of
``u, v``, towards ``v``; ``n_v`` likewise):

- ``d phi/du = [(pi - theta) v + |v| s e_u] / (2 pi)``;
- ``d2 phi/du2 = A(u, v) / (2 pi)``, ``A = (|z| P + z z^T/|z|) / |u| = |v| M / |u|``,
  ``M = s (P + n_u n_u^T)`` (``A = 0`` when ``z = 0``);
- ``d2 phi/du dv = B(u, v) / (2 pi)``, ``B = (pi - theta) I + R``,
  ``R = e_v n_v^T + e_u n_u^T = (e_v p_v^T + e_u p_u^T) / s`` with ``p_u = e_v - c e_u``,
  ``p_v = e_u - c e_v`` (``|p_u| = |p_v| = s``), computed as ``p_u p_v^T / s + s e_u e_v^T``
  (equal; no rounding error amplified by ``1/s``). ``R`` is ``s`` times the reflection of the
  plane that swaps ``e_u`` and ``e_v``, so ``|R| <= s`` and ``B`` is continuous at 0 and ``pi``.

``L = 1/2 sum_il a_i a_l phi(w_i, w_l) - sum_im a_i b_m phi(w_i, t_m) + const``, hence the
Hessian blocks ``H_ii = a_i^2 I/2 + sum_{l != i} a_i a_l A(w_i, w_l)/(2 pi)
- sum_m a_i b_m A(w_i, t_m)/(2 pi)`` and ``H_il = a_i a_l B(w_i, w_l)/(2 pi)`` (``i != l``).

Derivatives of the blocks
-------------------------
*A in v.* ``f(z) = |z| P + z z^T/|z|`` has ``df = alpha (P + e e^T) + beta (m e^T + e m^T)`` for
``dz = alpha e + beta m`` (``e = z/|z|``, ``m`` a unit vector orthogonal to ``e`` and ``u``):
eigenvalues ``alpha`` and ``alpha +- sqrt(alpha^2 + beta^2)``, so ``|df| <= 2 |dz|`` and, as
``|dz| = |P dv| <= |dv|``, ``|d_v A| <= 2 |dv| / |u|``.

*A in u.* ``A = |v| M(e_u) / |u|``. A tangent move ``de_u = alpha n_u + beta m`` (``m`` orthogonal
to ``e_u, n_u``) gives, in the basis ``(e_u, n_u, m)``,
``dM = -alpha X - beta Y``, ``X = [[0, 2s, 0], [2s, 2c, 0], [0, 0, c]]`` (and ``c`` times the
identity on the rest), ``Y = [[0, 0, s], [0, 0, c], [s, c, 0]]``. ``|Y| = 1`` (it is
``w e_3^T + e_3 w^T`` with ``|w| = 1``) and ``|X| = max(|c|, |c| + sqrt(4 - 3c^2)) <= 4/sqrt(3)``,
so ``|dM| <= sqrt(16/3 + 1) |de_u|``. With ``de_u = P du / |u|``, ``|M| <= 2s`` and the radial
part ``d(1/|u|) = -e_u.du / |u|^2``: ``|d_u A| <= C_A |v| |du| / |u|^2``,
``C_A = sqrt(19/3 + 4) = sqrt(31/3)``.

*B.* ``B`` is symmetric in ``u, v`` and depends on the directions only. A tangent move
``de_u = alpha n_u + beta m`` changes ``theta`` by ``-alpha`` and gives
``dB = alpha (P + n_u n_u^T) + beta (n_u m^T + m n_u^T)``: on ``span(n_u, m)`` the matrix
``[[2 alpha, beta], [beta, alpha]]``, whose eigenvalues ``(3 alpha +- sqrt(alpha^2 + 4 beta^2))/2``
are at most ``2 |de_u|`` in modulus; so ``|dB| <= C_B (|du|/|u| + |dv|/|v|)``, ``C_B = 2``.

These derivatives exist wherever ``s > 0``; ``A`` and ``B`` are Lipschitz across ``s = 0``
(``f`` is 2-Lipschitz in ``z``, ``|R| <= s``), so along any segment the bounds integrate.

The bound on a ball
-------------------
Let ``y, y'`` lie in the ball ``B(W, r)`` (state space, Euclidean norm), ``delta_i`` the change of
unit ``i`` (``sum |delta_i|^2 = |y - y'|^2``). On the segment ``rho_i <= |w_i| <= V_i`` with
``rho_i = |W_i| - r``, ``V_i = |W_i| + r``. Integrating the derivatives along the segment, the
block changes satisfy ``|dH_il| <= N_il`` with
``N_ii = p_i |delta_i| + sum_{l != i} q_il |delta_l|``, ``N_il = g_il (|delta_i|/rho_i +
|delta_l|/rho_l)``, where ``p_i = C_A |a_i| (sum_{l != i} |a_l| V_l + sum_m |b_m||t_m|) /
(2 pi rho_i^2)``, ``q_il = 2 |a_i a_l| / (2 pi rho_i)``, ``g_il = C_B |a_i a_l| / (2 pi)``.
The norm of a block matrix is at most the norm of the matrix of block norms, and the latter is
monotone in nonnegative entries; splitting ``N`` into its two diagonal parts and
``D_sigma G + G D_sigma`` (``sigma_i = |delta_i|/rho_i``, ``|D_sigma G| <= |D_sigma G|_F``):

``|H(y) - H(y')| <= M(r) |y - y'|``,
``M(r) = max_i p_i + max_i |q_i.| + 2 max_i |g_i.| / rho_i``

(``|q_i.|`` the Euclidean norm of row ``i``). No factor ``sqrt(K)`` is lost: each unit's
displacement is weighted by its own share of ``|y - y'|``.

A sharper ``p_i``: the residual on a hyperplane
------------------------------------------------
``p_i`` adds ``2K - 1`` kernels by the triangle inequality, although near a minimum their
``u``-derivatives largely cancel (at the teacher all but one). With ``S_i = sum_o c_o A(w_i, o)
/ (2 pi)`` over the other units ``o`` (``c_o = a_l`` for students, ``-b_m`` for the teacher),
``H_ii = a_i^2 I/2 + a_i S_i``, and ``d2 phi/du2 = E[delta(u.x) relu(v.x) x x^T]`` gives
``S(u) = T(e_u) / (sqrt(2 pi) |u|)``, ``T(e) = E[R(y) y y^T]`` over ``y ~ N(0, I - e e^T)``,
``R(y) = sum_o c_o relu(o.y)`` (the residual without unit ``i``). A radial move changes ``S`` by
``-S (e_u.du)/|u|``. A rotation of ``e_u`` by angle ``epsilon`` towards a unit ``e`` (generator
``Omega = e e_u^T - e_u e^T``; ``y -> Q y`` maps the hyperplanes) gives
``dT/d epsilon = Omega T + T Omega^T - E[(e.y) g(y) y y^T]``, ``g(y) = sum_o c_o (o.e_u)
1(o.y > 0)``; the first two terms have norm ``|T e| <= |T|``, the last at most
``sqrt(15) |g|_2`` (Hoelder, ``E z^6 = 15``). Hence
``|d_u H_ii| <= |a_i| |du| sqrt(A_i^2 + B_i^2)``, ``A_i = S_i^+ / rho_i``,
``B_i = A_i + sqrt(15) g_i^+ / (sqrt(2 pi) rho_i^2)``, with bounds over the ball:
``S_i^+ = |S_i(W)| + r L_i`` (``L_i`` the crude Lipschitz constant of ``S_i`` above) and
``g_i^+ >= |g|_2``, from its exact value at the center (``|g|_2^2 = sum_oo' c_o c_o' (o.e)(o'.e)
(pi - angle(P o, P o'))/(2 pi)``, ``P = I - e e^T``) plus the change: rotating back by ``Q``
(angle ``phi_i <= arcsin(r/|W_i|)``) each ``o`` moves by at most
``Delta_o = r [o a student] + phi_i (|o| + r [o a student])``; its coefficient by ``Delta_o``
and its indicator, whose L2 norm is at most ``1/sqrt(2)``, by
``sqrt(angle/pi) <= sqrt(arcsin(Delta_o/|P o|)/pi)`` (1 when ``Delta_o >= |P o|``). Units
``o`` nearly parallel to ``w_i`` (``|P o| <= 1e-6 |o|``) are left out of the exact part and
bounded by ``|c_o| (|o.e| + Delta_o)/sqrt(2)``. The smaller of the two ``p_i`` is used.
"""

from __future__ import annotations

import math

import numpy as np

from ._core import hessian_core
from ._kernel import TWO_PI

__all__ = ["C_A", "C_AV", "C_B", "HessianVariation", "kernel_hessian_blocks"]

C_A = math.sqrt(31.0 / 3.0)  # |d_u A| <= C_A |v| |du| / |u|^2
C_AV = 2.0  # |d_v A| <= C_AV |dv| / |u|
C_B = 2.0  # |dB| <= C_B (|du|/|u| + |dv|/|v|)
_ROUNDING = 1.0 + 1e-9  # covers the rounding of the few sums below
_NEAR = 1e-6  # |P o| <= _NEAR |o|: o counts as parallel to the unit (no exact part)
_SQRT15 = math.sqrt(15.0)
_SQRT2PI = math.sqrt(TWO_PI)


def kernel_hessian_blocks(u, v) -> tuple[np.ndarray, np.ndarray]:
    """Return ``d2 phi/du2`` and ``d2 phi/du dv`` of ``phi(u, v) = E[relu(u.x) relu(v.x)]``.

    ``A(u, v)/(2 pi)`` and ``B(u, v)/(2 pi)`` of the module notes, for one pair of vectors.

    Parameters
    ----------
    u, v : array_like, shape ``(d,)``
        Nonzero vectors.

    Returns
    -------
    (ndarray, ndarray), shapes ``(d, d)``

    Examples
    --------
    >>> Huu, Huv = kernel_hessian_blocks([1.0, 0.0], [0.0, 2.0])
    >>> (Huu * 2 * np.pi).round(12).tolist()  # |v| (P + n n^T)/|u|: 2 * 2 e2 e2^T
    [[0.0, 0.0], [0.0, 4.0]]
    >>> (Huv * 2 * np.pi).round(12).tolist()  # (pi/2) I + e_v e_u^T + e_u e_v^T
    [[1.570796326795, 1.0], [1.0, 1.570796326795]]
    """
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    eu, ev = u / nu, v / nv
    c = float(np.clip(eu @ ev, -1.0, 1.0))
    pu, pv = ev - c * eu, eu - c * ev
    s = float(np.linalg.norm(pu))
    theta = math.atan2(s, c)
    eye = np.eye(u.size)
    P = eye - np.outer(eu, eu)
    z = P @ v
    zn = float(np.linalg.norm(z))
    A = (zn * P + np.outer(z, z) / zn) / nu if zn > 0 else np.zeros_like(eye)
    # R = e_v n_v^T + e_u n_u^T written as p_u p_v^T / s + s e_u e_v^T: no O(1)/s rounding
    R = np.outer(pu, pv) / s + s * np.outer(eu, ev) if s > 0 else np.zeros_like(eye)
    return A / TWO_PI, ((np.pi - theta) * eye + R) / TWO_PI


class HessianVariation:
    """Lipschitz constant of the Hessian over balls around one student network.

    Built once from the center ``W`` (``K x d``), the teacher ``T`` (``K* x d``) and the output
    weights (and the Hessian at ``W`` with a bound on its rounding error, when at hand);
    :meth:`lipschitz` then costs ``O(K (K + K*))`` per radius.

    Examples
    --------
    >>> var = HessianVariation(np.eye(2), np.eye(2), np.ones(2), np.ones(2))
    >>> bool(var.lipschitz(0.1) < var.lipschitz(0.2))
    True
    >>> float(var.lipschitz(1.0))  # the ball reaches a zero unit: no bound
    inf
    """

    def __init__(
        self,
        W: np.ndarray,
        teacher: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        *,
        hessian: np.ndarray | None = None,
        hessian_error: float = 0.0,
    ):
        W, teacher = np.asarray(W, dtype=float), np.asarray(teacher, dtype=float)
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        norms = np.linalg.norm(W, axis=1)
        abs_a, abs_b = np.abs(a), np.abs(b)
        self.norms = norms
        self.min_norm = float(norms.min())
        # p_i = C_A |a_i| (sum_{l != i} |a_l| (|W_l| + r) + sum_m |b_m||t_m|) / (2 pi rho_i^2)
        weighted = abs_a * norms
        teacher_mass = float(abs_b @ np.linalg.norm(teacher, axis=1))
        self.p_const = abs_a * (weighted.sum() - weighted + teacher_mass) * (C_A / TWO_PI)
        self.p_slope = abs_a * (abs_a.sum() - abs_a) * (C_A / TWO_PI)
        # |q_i.| rho_i and |g_i.|: |a_i| sqrt(sum_{l != i} a_l^2) times a constant
        others = abs_a * np.sqrt(np.maximum((abs_a**2).sum() - abs_a**2, 0.0))
        self.q_row = others * (C_AV / TWO_PI)
        self.g_row = others * (C_B / TWO_PI)
        self.abs_a = abs_a
        self._residual_form(W, teacher, a, b, hessian, hessian_error)

    def _residual_form(self, W, teacher, a, b, hessian, hessian_error) -> None:
        """What the sharper ``p_i`` needs at the center (module notes)."""
        K, d = W.shape
        units = np.vstack([W, teacher])  # the others o, (M, d); unit i itself gets c_o = 0
        coef = np.concatenate([a, -b])
        own = np.zeros((K, len(units)), dtype=bool)
        own[np.arange(K), np.arange(K)] = True
        self.student = np.concatenate([np.ones(K), np.zeros(len(teacher))])
        self.unit_norm = np.linalg.norm(units, axis=1)  # (M,)
        E = W / self.norms[:, None]
        along = E @ units.T  # (K, M): o . e_i
        proj = units[None, :, :] - along[..., None] * E[:, None, :]
        self.proj_norm = np.linalg.norm(proj, axis=-1)  # |P_i o|
        self.abs_c = np.where(own, 0.0, np.abs(coef))  # (K, M)
        self.abs_along = np.abs(along)
        self.near = self.proj_norm <= _NEAR * self.unit_norm
        # |g|_2 at the center over the units not parallel to w_i
        w = np.where(own | self.near, 0.0, coef * along)
        unit = proj / np.where(self.proj_norm > 0, self.proj_norm, 1.0)[..., None]
        cos = np.clip(unit @ np.swapaxes(unit, -1, -2), -1.0, 1.0)
        kern = (np.pi - np.arccos(cos)) / TWO_PI
        self.g0 = np.sqrt(np.maximum(np.einsum("km,kmn,kn->k", w, kern, w), 0.0)) * _ROUNDING
        self.g0 += 1e-12 * np.abs(w).sum(axis=1)  # rounding of the quadratic form
        # |S_i| at the center, from the diagonal Hessian blocks
        if hessian is None:
            hessian = hessian_core(W, teacher, a, b, False)
        blocks = np.asarray(hessian).reshape(K, d, K, d)[np.arange(K), :, np.arange(K), :]
        blocks = blocks - (0.5 * a**2)[:, None, None] * np.eye(d)
        block_norm = np.abs(np.linalg.eigvalsh(0.5 * (blocks + np.swapaxes(blocks, 1, 2))))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.S0 = (block_norm.max(axis=1) + hessian_error) / np.abs(a)
        # crude Lipschitz constant of S_i: C_A sum_o |c_o| V_o / rho^2 + C_AV sum_l |a_l| / rho
        self.S_const = (self.abs_c * self.unit_norm).sum(axis=1) * (C_A / TWO_PI)
        self.S_slope = (self.abs_c * self.student).sum(axis=1) * (C_A / TWO_PI)
        self.S_move = (self.abs_c * self.student).sum(axis=1) * (C_AV / TWO_PI)

    def _sharp_p(self, r: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """The residual-form bound on ``|d_u H_ii| / |du|``, shape ``(n, K)``."""
        S_bar = self.S0 + r * ((self.S_const + self.S_slope * r) / rho**2 + self.S_move / rho)
        phi = np.arcsin(np.minimum(1.0, r / self.norms))  # (n, K)
        r3 = r[..., None]
        moved = r3 * self.student + phi[..., None] * (self.unit_norm + r3 * self.student)
        safe = np.where(self.proj_norm > 0, self.proj_norm, 1.0)
        ratio = moved / safe
        swing = np.where(ratio < 1.0, np.arcsin(np.minimum(ratio, 1.0)), np.pi)
        far = self.abs_c * (moved / math.sqrt(2.0) + self.abs_along * np.sqrt(swing / np.pi))
        close = self.abs_c * (self.abs_along + moved) / math.sqrt(2.0)
        g_bar = self.g0 + np.where(self.near, close, far).sum(axis=-1)
        A = S_bar / rho
        B = A + _SQRT15 * g_bar / (_SQRT2PI * rho**2)
        return self.abs_a * np.sqrt(A * A + B * B)

    def own_rates(self, radius):
        """Return ``p_i(r)``: ``|H_ii(y) - H_ii(y')| <= p_i |w_i - w_i'|`` when only unit ``i``
        moves within the ball (the smaller of the two bounds of the module notes).

        Vectorised over ``radius`` (shape ``(..., K)``); meaningful for ``r < min_i |W_i|``.
        """
        r = np.asarray(radius, dtype=float)[..., None]
        rho = self.norms - r
        rho = np.where(rho > 0, rho, np.nan)
        crude = (self.p_const + self.p_slope * r) / rho**2
        with np.errstate(invalid="ignore"):
            sharp = self._sharp_p(r, rho)
        return np.where(np.isfinite(sharp), np.minimum(crude, sharp), crude)

    def lipschitz(self, radius):
        """Return ``M(r)``: ``|H(y) - H(y')| <= M(r) |y - y'|`` for ``y, y'`` in the ball.

        Vectorised over ``radius``; ``inf`` where the ball reaches a zero hidden unit
        (``r >= min_i |W_i|``).
        """
        r = np.asarray(radius, dtype=float)[..., None]
        rho = self.norms - r
        ok = np.all(rho > 0, axis=-1)
        rho = np.where(rho > 0, rho, 1.0)
        p = self.own_rates(np.where(ok, r[..., 0], 0.0))
        q = self.q_row / rho
        g = self.g_row / rho
        M = (p.max(axis=-1) + q.max(axis=-1) + 2.0 * g.max(axis=-1)) * _ROUNDING
        return np.where(ok, M, np.inf)
