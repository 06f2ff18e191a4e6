"""Gaussian expectations of products of ReLUs, and their first and second derivatives (private).

For ``x ~ N(0, I_d)`` and vectors ``u, v`` at angle ``theta`` (``e_u = u/|u|``):

- ``E[relu(u.x)] = |u| / sqrt(2 pi)``;
- the kernel ``k(u, v) = E[relu(u.x) relu(v.x)] = |u||v| h(theta) / (2 pi)``,
  ``h(theta) = sin(theta) + (pi - theta) cos(theta)``;
- its derivative in the first argument, Tian's population gating function (Theorem 1, N = 1):
  ``G(u, v) = dk/du = [(pi - theta) v + |v| sin(theta) e_u] / (2 pi)``;
- second derivatives, with ``P_u = I - e_u e_u^T`` and ``n_u`` the unit vector orthogonal to
  ``e_u`` in the plane of ``u, v`` on the side of ``v`` (``n_v`` likewise):
  ``dG/du = |v| sin(theta) (n_u n_u^T + P_u) / (2 pi |u|)`` and
  ``dG/dv = [(pi - theta) I + sin(theta) (n_u n_v^T + e_u e_v^T)] / (2 pi)``.

Both second derivatives stay bounded at ``theta = 0`` and ``theta = pi`` (the terms carrying
``n_u`` are written as ``p_u p_v^T / sin(theta)`` with ``p_u = e_v - cos(theta) e_u``, whose norm
is ``sin(theta)``); the kernel is twice, not three times, differentiable there. Everything is
singular at ``u = 0``, where ``e_u`` is undefined.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...errors import DynsysError

__all__ = [
    "TWO_PI",
    "NotDifferentiableError",
    "PairGeometry",
    "h_angle",
    "pair_geometry",
    "plane_vectors",
    "safe_ratio",
]

TWO_PI = 2.0 * np.pi


class NotDifferentiableError(DynsysError, ValueError):
    """The loss is evaluated where it is not differentiable (a hidden unit with zero weights)."""


def h_angle(theta: np.ndarray) -> np.ndarray:
    """``h(theta) = sin(theta) + (pi - theta) cos(theta)``: ``pi`` at 0, 0 at ``pi``."""
    return np.sin(theta) + (np.pi - theta) * np.cos(theta)


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den != 0``, and 0 where ``den == 0``."""
    den = np.asarray(den, dtype=float)
    nonzero = den != 0.0
    return np.divide(num, np.where(nonzero, den, 1.0)) * nonzero


class PairGeometry(NamedTuple):
    """Norms, unit vectors and angles between the rows of ``A (..., m, d)`` and ``B (..., n, d)``.

    Rows of zero norm get a zero unit vector and ``cos = 0`` with every other row (the kernel and
    its first-argument derivative with respect to the *other* row vanish there anyway).
    """

    norm_a: np.ndarray  # (..., m)
    norm_b: np.ndarray  # (..., n)
    unit_a: np.ndarray  # (..., m, d)
    unit_b: np.ndarray  # (..., n, d)
    cos: np.ndarray  # (..., m, n)
    theta: np.ndarray  # (..., m, n)
    sin: np.ndarray  # (..., m, n)


def pair_geometry(A: np.ndarray, B: np.ndarray, *, shared: int = 0) -> PairGeometry:
    """Pairwise geometry of the rows of ``A`` and ``B``.

    ``shared`` says that the first ``shared`` rows of ``B`` are the rows of ``A`` (same order): the
    angle of a row with itself is then set to exactly 0 rather than computed (``arccos`` of a
    rounded ``1`` would give ``1e-8``).
    """
    norm_a = np.sqrt(np.einsum("...d,...d->...", A, A))
    norm_b = np.sqrt(np.einsum("...d,...d->...", B, B))
    inv_a, inv_b = safe_ratio(1.0, norm_a), safe_ratio(1.0, norm_b)
    unit_a = A * inv_a[..., None]
    unit_b = B * inv_b[..., None]
    cos = unit_a @ np.swapaxes(unit_b, -1, -2)
    np.clip(cos, -1.0, 1.0, out=cos)
    if shared:
        idx = np.arange(shared)
        cos[..., idx, idx] = np.where(norm_a[..., :shared] > 0, 1.0, 0.0)
    theta = np.arccos(cos)
    sin = np.sqrt(np.maximum(1.0 - cos * cos, 0.0))
    return PairGeometry(norm_a, norm_b, unit_a, unit_b, cos, theta, sin)


def plane_vectors(geo: PairGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``p_ab = e_b - cos e_a`` for every pair, its norm (``sin theta``, computed accurately near 0
    and ``pi``) and the matching angle ``theta = atan2(|p|, cos)``; shapes ``(..., m, n, d)``,
    ``(..., m, n)``, ``(..., m, n)``."""
    p = geo.unit_b[..., None, :, :] - geo.cos[..., None] * geo.unit_a[..., :, None, :]
    s = np.linalg.norm(p, axis=-1)
    return p, s, np.arctan2(s, geo.cos)
