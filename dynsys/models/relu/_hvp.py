"""Hessian-vector products of the population loss without forming the Hessian (private).

The closed-form Hessian of :func:`._core.hessian_core` is a ``K x K`` array of ``d x d`` blocks,
each a multiple of the identity plus two rank-one terms (notation of :mod:`._kernel`:
``e_j = w_j/|w_j|``, ``o = [W; W*]`` with unit vectors ``u_m``, ``b = [a; -a*]``,
``c_jm = e_j . u_m``, ``theta_jm``, ``s_jm = sin theta_jm``, ``p_jm = u_m - c_jm e_j``):

- ``j != k``: ``H_jk = a_j a_k / (2 pi) [(pi - theta_jk) I + p_jk q_jk^T / s_jk + s_jk e_j e_k^T]``
  with ``q_jk = e_j - c_kj e_k`` (the derivative of Tian's ``G(w_j, w_k)`` in ``w_k``);
- ``H_jj = a_j / (2 pi |w_j|) [(sum_m beta_m s_jm) (I - e_j e_j^T)
  + sum_m beta_m p_jm p_jm^T / s_jm] + a_j^2 I / 2``, ``beta_m = b_m |o_m|``.

Applied to a vector ``v = (v_1, ..., v_K)`` every term needs only the inner products
``v_j . u_m`` and ``e_j . v_k``, i.e. the matrix products ``V U^T`` and ``E V^T``: a product costs
``O(K (K + K*) d)`` operations and memory, against ``O(K^2 d^2)`` for the dense Hessian. The
rank-one vectors ``p_jm`` are never formed: ``sum_m g_jm p_jm = g U - (sum_m g_jm c_jm) e_j``.
This is the exact directional derivative of the closed-form gradient (no complex step or dual
numbers, which are not valid through ``arccos`` and the ReLU kinks): the same formulas as the
dense Hessian, applied instead of assembled. The angles and sines are computed once per network
as in the dense Hessian (``s_jm = |p_jm|``, accurate near 0 and pi), in row blocks so that the
``(K, K + K*, d)`` temporary stays small.

With trained output weights the mixed and output blocks are applied the same way:
``d^2L/dw_i da_j = delta_ij r_i + a_i G(w_i, w_j)`` and ``d^2L/da_i da_j = k(w_i, w_j)``.
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from ._core import _residual_directions
from ._kernel import (
    TWO_PI,
    NotDifferentiableError,
    PairGeometry,
    h_angle,
    pair_geometry,
    plane_vectors,
    safe_ratio,
)

__all__ = ["HessianAction"]

_BLOCK_ELEMENTS = 1 << 22  # floats in one block of the (rows, K + K*, d) plane vectors


def _plane_sines(geo: PairGeometry) -> tuple[np.ndarray, np.ndarray]:
    """``s = |p|`` and ``theta = atan2(s, cos)`` of :func:`plane_vectors`, by blocks of rows."""
    m, n, d = geo.cos.shape[0], geo.cos.shape[1], geo.unit_a.shape[1]
    rows = max(1, _BLOCK_ELEMENTS // max(n * d, 1))
    s, theta = np.empty((m, n)), np.empty((m, n))
    for i in range(0, m, rows):
        part = slice(i, i + rows)
        sub = PairGeometry(
            geo.norm_a[part],
            geo.norm_b,
            geo.unit_a[part],
            geo.unit_b,
            geo.cos[part],
            geo.theta[part],
            geo.sin[part],
        )
        _, s[part], theta[part] = plane_vectors(sub)
    return s, theta


def _left(M: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``M @ V[p]`` for every ``p`` (``M (K, K)``, ``V (P, K, d)``) as one matrix product."""
    P, K, d = V.shape
    return (M @ np.swapaxes(V, 0, 1).reshape(K, P * d)).reshape(K, P, d).swapaxes(0, 1)


class HessianAction:
    """The Hessian of the population loss of one network, as a map ``v -> H v``.

    Everything that depends on the network alone (norms, unit vectors, angles) is computed on
    construction; each call then costs ``O(K (K + K*) d)`` per vector.

    Parameters
    ----------
    W : ndarray, shape ``(K, d)``
        The student's first layer (no zero rows: the loss is not differentiable there).
    W_star : ndarray, shape ``(K*, d)``
        The teacher's first layer.
    a, a_star : ndarray, shapes ``(K,)`` and ``(K*,)``
        Output weights of student and teacher.
    train_a : bool
        Whether the state (and so the vectors) carry the output weights ``a`` after ``W``.

    Examples
    --------
    >>> act = HessianAction(2 * np.eye(2), np.eye(2), np.ones(2), np.ones(2), False)
    >>> act.n, act(np.eye(4)).shape
    (4, (4, 4))
    """

    def __init__(self, W, W_star, a, a_star, train_a: bool) -> None:
        W = np.asarray(W, dtype=float)
        W_star = np.asarray(W_star, dtype=float)
        a, a_star = np.asarray(a, dtype=float), np.asarray(a_star, dtype=float)
        K, d = W.shape
        zero = np.flatnonzero(np.all(W == 0.0, axis=-1))
        if zero.size:
            raise NotDifferentiableError(
                f"the Hessian is undefined: hidden unit(s) {(zero + 1).tolist()} have zero weight "
                "vectors, where the loss is not differentiable. Move those units off zero."
            )
        self.K, self.d, self.train_a = K, d, bool(train_a)
        self.n = K * d + (K if train_a else 0)
        units = np.concatenate([W, W_star])
        b = np.concatenate([a, -a_star])
        geo = pair_geometry(W, units, shared=K)
        s, theta = _plane_sines(geo)
        self._E, self._U, self._c = geo.unit_a, geo.unit_b, geo.cos
        # off-diagonal student-student blocks: a_j a_k / (2 pi) (zero on the diagonal)
        kappa = np.outer(a, a) / TWO_PI
        np.fill_diagonal(kappa, 0.0)
        s_uu, theta_uu = s[:, :K], theta[:, :K]
        self._off_identity = kappa * (np.pi - theta_uu)
        self._off_rank = kappa * safe_ratio(1.0, s_uu)
        self._off_outer = kappa * s_uu
        self._c_uu_T = geo.cos[:, :K].T.copy()  # c_kj at [j, k]
        # diagonal blocks
        beta = b * geo.norm_b
        self._along = s @ beta  # (K,)
        self._gamma = beta[None, :] * safe_ratio(1.0, s)  # (K, M)
        self._scale = a / (TWO_PI * geo.norm_a)
        self._self = 0.5 * a * a
        if train_a:
            th, sn = geo.theta[:, :K], geo.sin[:, :K]
            self._a, self._W = a, W
            self._r = _residual_directions(W, units, b, geo)  # (K, d)
            self._mix_identity = (np.pi - th) / TWO_PI  # [i, j]
            self._mix_side = geo.norm_b[None, :K] * sn / TWO_PI  # [i, j] = |w_j| s_ij / 2 pi
            self._kern = np.outer(geo.norm_a, geo.norm_a) * h_angle(th) / TWO_PI

    def __call__(self, v) -> np.ndarray:
        """Apply the Hessian to vectors ``v`` of shape ``(..., n)``; returns ``(..., n)``."""
        v = np.asarray(v, dtype=float)
        if v.ndim == 0 or v.shape[-1] != self.n:
            raise InputError(
                f"`v` has shape {v.shape}; expected (..., {self.n}) vectors in the state layout."
            )
        batch = v.shape[:-1]
        K, d = self.K, self.d
        flat = v.reshape(-1, self.n)
        V = flat[:, : K * d].reshape(-1, K, d)
        out = self._apply_WW(V)
        if not self.train_a:
            return out.reshape(*batch, self.n)
        u = flat[:, K * d :]
        out_W, out_a = self._apply_mixed(V, u)
        out = np.concatenate([(out + out_W).reshape(-1, K * d), out_a], axis=-1)
        return out.reshape(*batch, self.n)

    def _apply_WW(self, V: np.ndarray) -> np.ndarray:
        E, U, c, K = self._E, self._U, self._c, self.K
        P = V.shape[0]
        rows = V.reshape(P * K, self.d)  # 2-D products run as one matrix product each
        ev = np.einsum("pkd,kd->pk", V, E)  # e_k . v_k
        # off-diagonal blocks
        F = np.swapaxes((rows @ E.T).reshape(P, K, K), -1, -2)  # F[p, j, k] = e_j . v_k
        g = self._off_rank * (F - self._c_uu_T * ev[:, None, :])  # (q_jk . v_k) / s_jk
        out = _left(self._off_identity, V) + (g.reshape(P * K, K) @ E).reshape(V.shape)
        out += ((ev @ self._off_outer.T) - (g * c[:, :K]).sum(-1))[..., None] * E
        # diagonal blocks
        A = (rows @ U.T).reshape(P, K, -1)  # A[p, j, m] = v_j . u_m
        gt = self._gamma * (A - c * ev[..., None])
        inner = (gt.reshape(P * K, -1) @ U).reshape(V.shape)
        inner -= ((gt * c).sum(-1) + self._along * ev)[..., None] * E
        out += self._scale[:, None] * (inner + self._along[:, None] * V) + self._self[:, None] * V
        return out

    def _apply_mixed(self, V: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, W, E, r = self._a, self._W, self._E, self._r
        # H_Wa u: r_i u_i + a_i sum_j G(w_i, w_j) u_j
        Gu = (self._mix_identity * u[:, None, :]) @ W + (self._mix_side @ u[..., None]) * E
        out_W = r * u[..., None] + a[:, None] * Gu
        # H_aW v + k(W, W) u: r_j . v_j + sum_i a_i G(w_i, w_j) . v_i
        B = V @ W.T  # B[p, i, j] = v_i . w_j
        ev = np.einsum("pkd,kd->pk", V, E)
        GV = self._mix_identity * B + self._mix_side * ev[..., None]  # [p, i, j]
        out_a = np.einsum("pkd,kd->pk", V, r) + np.einsum("i,pij->pj", a, GV)
        out_a += u @ self._kern.T
        return out_W, out_a
