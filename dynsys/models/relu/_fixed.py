"""The population gradient for one fixed teacher and fixed output weights, tuned for descent loops
(private).

Training runs call the gradient of the same network thousands of times, often for a handful of
states once most runs have stopped; the general :func:`._relu_core.gradient_core` then spends most
of its time on broadcasting and bookkeeping. Here everything that depends on the teacher and the
output weights alone is computed once, the teacher block of the pairwise geometry is one 2-D
matrix product over the whole batch, and the work is done in a few array operations. The formula
is the same (Tian's Eq. 8 with ``G(w, w) = w/2``):

``grad_{w_j} L = a_j / (2 pi) [sum_m b_m (pi - theta_jm) o_m + (sum_m b_m |o_m| sin theta_jm) e_j]``

with ``o = [W; W*]``, ``b = [a; -a*]``.
"""

from __future__ import annotations

import numpy as np

from ._kernel import TWO_PI

__all__ = ["FixedTeacherGradient"]

_NETWORKS_PER_CHUNK_PAIRS = 1 << 16  # unit pairs per chunk: temporaries stay in cache


class FixedTeacherGradient:
    """``grad_W L`` for states ``x (..., K*d)`` of a student with fixed output weights ``a``
    learning from the fixed teacher ``(W_star, a_star)``.

    Calling it returns the gradient ``(..., K*d)``, or None when some state has a zero hidden unit
    (the caller then takes the general path, which flags those states).

    Examples
    --------
    >>> g = FixedTeacherGradient(np.eye(2), np.ones(2), np.ones(2))
    >>> g(np.eye(2).ravel()).tolist()  # the teacher is a critical point
    [0.0, 0.0, 0.0, 0.0]
    >>> g(np.zeros(4)) is None
    True
    """

    def __init__(self, W_star: np.ndarray, a: np.ndarray, a_star: np.ndarray) -> None:
        W_star = np.asarray(W_star, dtype=float)
        self.K, self.d = len(a), W_star.shape[1]
        self.K_star = W_star.shape[0]
        norm_t = np.linalg.norm(W_star, axis=1)
        inv_t = np.divide(1.0, norm_t, out=np.zeros_like(norm_t), where=norm_t > 0)
        self.teacher = W_star  # (K*, d)
        self.teacher_units_T = (W_star * inv_t[:, None]).T.copy()  # (d, K*)
        self.a = np.asarray(a, dtype=float)
        self.b_teacher = -np.asarray(a_star, dtype=float)  # (K*,)
        self.beta_teacher = self.b_teacher * norm_t  # b_m |o_m| over teacher rows
        self.chunk = max(1, _NETWORKS_PER_CHUNK_PAIRS // (self.K * (self.K + self.K_star)))

    def __call__(self, x: np.ndarray) -> np.ndarray | None:
        x = np.asarray(x, dtype=float)
        batch = x.shape[:-1]
        W = x.reshape(-1, self.K, self.d)
        out = np.empty_like(W)
        for start in range(0, len(W), self.chunk):
            part = W[start : start + self.chunk]
            if not self._gradient(part, out[start : start + self.chunk]):
                return None
        return out.reshape(*batch, self.K * self.d)

    def _gradient(self, W: np.ndarray, out: np.ndarray) -> bool:
        B, K, d = W.shape
        norm = np.sqrt(np.einsum("bkd,bkd->bk", W, W))
        if not np.all(norm > 0):
            return False
        U = W / norm[..., None]
        # cosines with the other students and with the teacher's units
        cos_s = U @ np.swapaxes(U, 1, 2)  # (B, K, K)
        cos_t = (U.reshape(B * K, d) @ self.teacher_units_T).reshape(B, K, self.K_star)
        np.clip(cos_s, -1.0, 1.0, out=cos_s)
        np.clip(cos_t, -1.0, 1.0, out=cos_t)
        idx = np.arange(K)
        cos_s[:, idx, idx] = 1.0
        sin_s = np.sqrt(np.maximum(1.0 - cos_s * cos_s, 0.0))
        sin_t = np.sqrt(np.maximum(1.0 - cos_t * cos_t, 0.0))
        pull_s = (np.pi - np.arccos(cos_s)) * self.a  # b_m (pi - theta_jm), students
        pull_t = (np.pi - np.arccos(cos_t)) * self.b_teacher  # and teacher rows
        r = pull_s @ W
        r += (pull_t.reshape(B * K, self.K_star) @ self.teacher).reshape(B, K, d)
        side = (sin_s @ (self.a * norm)[..., None])[..., 0]
        side += sin_t @ self.beta_teacher
        r += side[..., None] * U
        np.multiply(r, (self.a / TWO_PI)[:, None], out=out)
        return True
