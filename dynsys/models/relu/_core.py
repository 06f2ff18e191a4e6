"""Population loss, gradient and Hessian of the teacher-student ReLU network (private).

The ``*_core`` functions do no input checks: :func:`network` validates and broadcasts first, then
they run on ``W (..., K, d)``, ``W_star (..., K*, d)``, ``a (..., K)``, ``a_star (..., K*)`` with
one common batch shape. Student and teacher rows are stacked as ``units = [W; W_star]`` with
signed output weights ``b = [a; -a_star]``, so that ``g - g* = sum_m b_m relu(o_m . x)`` and

- ``L = 1/2 b^T K(units, units) b`` with the kernel ``K`` of :mod:`._relu_kernel`;
- ``grad_{w_j} L = a_j r_j``, ``r_j = sum_m b_m G(w_j, o_m)`` (Tian's Eq. 8; ``G(w, w) = w/2``);
- ``grad_{a_j} L = sum_m b_m k(w_j, o_m)``.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InputError
from ._kernel import TWO_PI, h_angle, pair_geometry, plane_vectors, safe_ratio

__all__ = [
    "as_rows",
    "by_chunks",
    "gradient_core",
    "hessian_core",
    "loss_core",
    "network",
    "weights",
]

_PAIRS_PER_CHUNK = 1 << 16  # unit pairs per chunk of networks: temporaries stay in cache


def by_chunks(core, W, W_star, a, a_star, *extra):
    """Apply ``core`` to chunks of a large batch of networks and join the results.

    Working on a few dozen networks at a time keeps the pairwise temporaries in cache; on a
    loaded machine this is about twice as fast as one call on 1,000 networks.
    """
    batch = W.shape[:-2]
    n = math.prod(batch)
    size = max(1, _PAIRS_PER_CHUNK // (W.shape[-2] * (W.shape[-2] + W_star.shape[-2])))
    if n <= size:
        return core(W, W_star, a, a_star, *extra)
    flat = [np.reshape(x, (n, *x.shape[len(batch) :])) for x in (W, W_star, a, a_star)]
    parts = [core(*(x[i : i + size] for x in flat), *extra) for i in range(0, n, size)]
    out = np.concatenate(parts)
    return out.reshape(*batch, *out.shape[1:])


def _others(W, W_star, a, a_star):
    return np.concatenate([W, W_star], axis=-2), np.concatenate([a, -a_star], axis=-1)


def loss_core(W, W_star, a, a_star) -> np.ndarray:
    """``L = 1/2 E[(g - g*)^2]``, shape ``(...)``."""
    units, b = _others(W, W_star, a, a_star)
    geo = pair_geometry(units, units, shared=units.shape[-2])
    kern = geo.norm_a[..., :, None] * geo.norm_b[..., None, :] * h_angle(geo.theta) / TWO_PI
    return 0.5 * (b[..., None, :] @ kern @ b[..., :, None])[..., 0, 0]


def _residual_directions(W, units, b, geo):
    """``r_j = sum_m b_m G(w_j, o_m)``, shape ``(..., K, d)``."""
    coef = b[..., None, :] * (np.pi - geo.theta)
    side = geo.sin @ (b * geo.norm_b)[..., None]  # (..., K, 1)
    return (coef @ units + side * geo.unit_a) / TWO_PI


def gradient_core(W, W_star, a, a_star, train_a: bool) -> np.ndarray:
    """The gradient in the state layout ``[W.ravel(), a]``, shape ``(..., K*d [+ K])``."""
    K, d = W.shape[-2:]
    units, b = _others(W, W_star, a, a_star)
    geo = pair_geometry(W, units, shared=K)
    r = _residual_directions(W, units, b, geo)
    grad_W = (a[..., None] * r).reshape(*W.shape[:-2], K * d)
    if not train_a:
        return grad_W
    kern = geo.norm_a[..., :, None] * geo.norm_b[..., None, :] * h_angle(geo.theta) / TWO_PI
    grad_a = (kern @ b[..., None])[..., 0]
    return np.concatenate([grad_W, grad_a], axis=-1)


def hessian_core(W, W_star, a, a_star, train_a: bool) -> np.ndarray:
    """The Hessian in the state layout, shape ``(..., n, n)``, ``n = K*d [+ K]``."""
    K, d = W.shape[-2:]
    batch = W.shape[:-2]
    units, b = _others(W, W_star, a, a_star)
    geo = pair_geometry(W, units, shared=K)
    p, s, theta = plane_vectors(geo)  # p[j, m] = e_m - cos e_j, |p| = sin
    eye = np.eye(d)
    e = geo.unit_a

    # off-diagonal blocks j != k: a_j a_k dG(w_j, w_k)/dw_k
    p_u = p[..., :, :K, :]
    p_v = np.swapaxes(p_u, -3, -2)  # p_v[j, k] = e_j - cos e_k
    s_uu = s[..., :, :K]
    blocks = (np.pi - theta[..., :, :K])[..., None, None] * eye
    blocks = blocks + np.einsum("...jk,...jkd,...jke->...jkde", safe_ratio(1.0, s_uu), p_u, p_v)
    blocks = blocks + s_uu[..., None, None] * np.einsum("...jd,...ke->...jkde", e, e)
    blocks *= (a[..., :, None] * a[..., None, :] / TWO_PI)[..., None, None]

    # diagonal blocks: a_j sum_m b_m dG(w_j, o_m)/dw_j + a_j^2 I / 2
    beta = b * geo.norm_b  # (..., M)
    along = np.einsum("...m,...jm->...j", beta, s)
    across = np.einsum("...jm,...jmd,...jme->...jde", beta[..., None, :] * safe_ratio(1.0, s), p, p)
    proj = eye - np.einsum("...jd,...je->...jde", e, e)
    scale = safe_ratio(a, TWO_PI * geo.norm_a)
    diag = scale[..., None, None] * (along[..., None, None] * proj + across)
    diag = diag + (0.5 * a * a)[..., None, None] * eye
    idx = np.arange(K)
    blocks[..., idx, idx, :, :] = diag

    H_WW = np.swapaxes(blocks, -3, -2).reshape(*batch, K * d, K * d)
    if not train_a:
        return H_WW

    # mixed block d2L / dw_i da_j = delta_ij r_i + a_i G(w_i, w_j); a block = K(W, W)
    r = _residual_directions(W, units, b, geo)
    th, sn = geo.theta[..., :, :K], geo.sin[..., :, :K]
    G = (
        (np.pi - th)[..., None] * W[..., None, :, :]
        + (geo.norm_b[..., None, :K] * sn)[..., None] * e[..., :, None, :]
    ) / TWO_PI  # G[i, j] = G(w_i, w_j), shape (..., K, K, d)
    mixed = a[..., :, None, None] * G
    mixed[..., idx, idx, :] += r
    mixed = np.swapaxes(mixed, -2, -1).reshape(*batch, K * d, K)
    kern = geo.norm_a[..., :, None] * geo.norm_b[..., None, :K] * h_angle(th) / TWO_PI
    top = np.concatenate([H_WW, mixed], axis=-1)
    bottom = np.concatenate([np.swapaxes(mixed, -2, -1), kern], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


# ---------------------------------------------------------------------------- input handling
def as_rows(X, label: str) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim < 2:
        raise InputError(
            f"`{label}` has shape {X.shape}; expected (..., units, d) with one hidden unit's "
            f"weight vector per row. For one unit write [{label}]."
        )
    return X


def weights(values, n: int, label: str) -> np.ndarray:
    if values is None:
        return np.ones(n)
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or values.shape[-1] != n:
        raise InputError(f"`{label}` has shape {values.shape}; expected (..., {n}), one per unit.")
    return values


def network(W, W_star, a, a_star):
    W, W_star = as_rows(W, "W"), as_rows(W_star, "W_star")
    if W.shape[-1] != W_star.shape[-1]:
        raise InputError(
            f"`W` has input dimension {W.shape[-1]} but `W_star` has {W_star.shape[-1]}; the "
            "student and the teacher must read the same inputs."
        )
    K, d = W.shape[-2:]
    K_star = W_star.shape[-2]
    a, a_star = weights(a, K, "a"), weights(a_star, K_star, "a_star")
    batch = np.broadcast_shapes(W.shape[:-2], W_star.shape[:-2], a.shape[:-1], a_star.shape[:-1])
    return (
        np.broadcast_to(W, (*batch, K, d)),
        np.broadcast_to(W_star, (*batch, K_star, d)),
        np.broadcast_to(a, (*batch, K)),
        np.broadcast_to(a_star, (*batch, K_star)),
    )
