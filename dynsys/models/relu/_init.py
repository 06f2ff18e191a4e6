"""State layout, teachers, initial states and matching up to permutation for teacher-student
networks.

Initialisations return flat states in the layout of :func:`dynsys.models.relu.teacher_student`
(``W`` row by row, then ``a`` when trained), ready to be used as seeds of batch algorithms.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ...errors import InputError
from ._core import as_rows

__all__ = [
    "distance_to_teacher",
    "orthonormal_teacher",
    "pack_state",
    "random_teacher",
    "small_ball_init",
    "state_names",
    "two_unit_teacher",
    "unpack_state",
    "xavier_init",
]


def _count(value, label: str) -> int:
    n = int(value)
    if n != value or n < 1:
        raise InputError(f"`{label}` must be a positive integer; got {value!r}.")
    return n


def _size_shape(size) -> tuple[int, ...]:
    if size is None:
        return ()
    return (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)


def orthonormal_teacher(K: int, d: int | None = None, *, rng=None) -> np.ndarray:
    """Return a teacher whose ``K`` hidden units are orthonormal vectors in ``R^d``.

    Parameters
    ----------
    K : int
        Number of hidden units.
    d : int, optional
        Input dimension, ``K`` by default; needs ``d >= K``.
    rng : numpy.random.Generator or int, optional
        Without it, the first ``K`` standard basis vectors (the identity for ``d = K``, Tian's
        setting for Theorem 7); with it, a uniformly random orthonormal frame.

    Returns
    -------
    ndarray, shape ``(K, d)``

    Examples
    --------
    >>> orthonormal_teacher(2, 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    >>> W = orthonormal_teacher(3, 5, rng=0)
    >>> bool(np.allclose(W @ W.T, np.eye(3)))
    True
    """
    K = _count(K, "K")
    d = K if d is None else _count(d, "d")
    if d < K:
        raise InputError(f"`d` = {d} < `K` = {K}: at most d orthonormal vectors exist in R^d.")
    if rng is None:
        return np.eye(K, d)
    gauss = np.random.default_rng(rng).standard_normal((d, K))
    Q, R = np.linalg.qr(gauss)
    return (Q * np.sign(np.diag(R))).T  # sign fix makes the frame uniformly distributed


def random_teacher(K: int, d: int, *, rng, unit_norm: bool = False) -> np.ndarray:
    """Return a teacher with Gaussian hidden units ``N(0, I_d / d)`` (norm about 1).

    Parameters
    ----------
    K, d : int
        Number of hidden units and input dimension.
    rng : numpy.random.Generator or int
        Source of randomness.
    unit_norm : bool
        Rescale every unit to norm 1 (directions uniform on the sphere).

    Returns
    -------
    ndarray, shape ``(K, d)``

    Examples
    --------
    >>> W = random_teacher(4, 3, rng=1, unit_norm=True)
    >>> np.linalg.norm(W, axis=1).round(12).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    K, d = _count(K, "K"), _count(d, "d")
    W = np.random.default_rng(rng).standard_normal((K, d)) / np.sqrt(d)
    return W / np.linalg.norm(W, axis=1, keepdims=True) if unit_norm else W


def two_unit_teacher(angle: float, d: int = 2, *, norms=(1.0, 1.0)) -> np.ndarray:
    """Return a two-unit teacher ``[n1 e_1, n2 (cos(angle) e_1 + sin(angle) e_2)]``.

    Parameters
    ----------
    angle : float
        Angle between the two units, in ``[0, pi]``.
    d : int
        Input dimension (at least 2).
    norms : pair of float
        Norms of the two units.

    Returns
    -------
    ndarray, shape ``(2, d)``

    Examples
    --------
    >>> two_unit_teacher(np.pi / 2).round(12).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    angle = float(angle)
    if not 0.0 <= angle <= np.pi:
        raise InputError(f"`angle` must lie in [0, pi]; got {angle!r}.")
    d = _count(d, "d")
    if d < 2:
        raise InputError(f"`d` must be at least 2 for two directions; got {d}.")
    n1, n2 = (float(v) for v in norms)
    W = np.zeros((2, d))
    W[0, 0] = n1
    W[1, 0], W[1, 1] = n2 * np.cos(angle), n2 * np.sin(angle)
    return W


def xavier_init(K: int, d: int, *, rng, size=None) -> np.ndarray:
    """Return Glorot (Xavier) normal initial states: entries ``N(0, 2 / (d + K))``.

    Parameters
    ----------
    K, d : int
        Number of hidden units and input dimension (fan-out and fan-in of the first layer).
    rng : numpy.random.Generator or int
        Source of randomness.
    size : int or tuple of int, optional
        Batch shape; one state when omitted.

    Returns
    -------
    ndarray, shape ``(*size, K*d)``

    Examples
    --------
    >>> xavier_init(3, 4, rng=0, size=5).shape
    (5, 12)
    """
    K, d = _count(K, "K"), _count(d, "d")
    std = np.sqrt(2.0 / (d + K))
    return std * np.random.default_rng(rng).standard_normal((*_size_shape(size), K * d))


def small_ball_init(K: int, d: int, *, radius: float, rng, size=None) -> np.ndarray:
    """Return initial states whose hidden units are uniform in the ball ``|w_j| <= radius``.

    Each unit is drawn independently and uniformly from the ``d``-dimensional ball (for ``K = 1``
    the setting of Tian's Theorem 6).

    Parameters
    ----------
    K, d : int
        Number of hidden units and input dimension.
    radius : float
        Radius of the ball (positive).
    rng : numpy.random.Generator or int
        Source of randomness.
    size : int or tuple of int, optional
        Batch shape; one state when omitted.

    Returns
    -------
    ndarray, shape ``(*size, K*d)``

    Examples
    --------
    >>> x = small_ball_init(2, 3, radius=1e-3, rng=0, size=100)
    >>> bool(np.all(np.linalg.norm(x.reshape(100, 2, 3), axis=-1) <= 1e-3))
    True
    """
    K, d = _count(K, "K"), _count(d, "d")
    radius = float(radius)
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"`radius` must be a positive number; got {radius!r}.")
    rng = np.random.default_rng(rng)
    shape = (*_size_shape(size), K)
    direction = rng.standard_normal((*shape, d))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    length = radius * rng.random(shape) ** (1.0 / d)
    return (direction * length[..., None]).reshape(*shape[:-1], K * d)


def distance_to_teacher(W, W_star):
    """Return the distance from students to the teacher up to a permutation of hidden units.

    Minimises ``sqrt(sum_j |w_j - w*_pi(j)|^2)`` over permutations ``pi`` by Hungarian matching
    (``scipy.optimize.linear_sum_assignment``). When ``K != K*`` the smaller network is padded with
    zero units, so an unmatched unit counts with its norm.

    Parameters
    ----------
    W : array_like, shape ``(..., K, d)``
        Student first layers (reshape flat states with ``unpack_state``).
    W_star : array_like, shape ``(K*, d)``
        The teacher's first layer.

    Returns
    -------
    distance : ndarray, shape ``(...)``
        The smallest distance.
    permutation : ndarray of int, shape ``(..., K)``
        ``W[..., j, :]`` is matched with ``W_star[permutation[..., j], :]``; -1 for a student unit
        matched with no teacher unit.

    Examples
    --------
    >>> W_star = np.eye(3)
    >>> dist, perm = distance_to_teacher(W_star[[2, 0, 1]], W_star)
    >>> float(dist), perm.tolist()
    (0.0, [2, 0, 1])
    """
    W, W_star = as_rows(W, "W"), as_rows(W_star, "W_star")
    if W_star.ndim != 2 or W.shape[-1] != W_star.shape[-1]:
        raise InputError(
            f"`W_star` must have shape (K*, {W.shape[-1]}) to match `W` {W.shape}; got "
            f"{W_star.shape}."
        )
    K, d = W.shape[-2:]
    K_star = W_star.shape[0]
    n = max(K, K_star)
    batch = W.shape[:-2]
    students = np.zeros((*batch, n, d))
    students[..., :K, :] = W
    teacher = np.zeros((n, d))
    teacher[:K_star] = W_star
    diff = students[..., :, None, :] - teacher
    cost = np.einsum("...ijd,...ijd->...ij", diff, diff).reshape(-1, n, n)
    perms = np.empty((cost.shape[0], n), dtype=np.int64)
    for item, c in enumerate(cost):  # one assignment problem per network
        rows, cols = linear_sum_assignment(c)
        perms[item, rows] = cols
    perms = perms.reshape(*batch, n)
    matched = np.take_along_axis(cost.reshape(*batch, n, n), perms[..., None], axis=-1)[..., 0]
    distance = np.sqrt(matched.sum(axis=-1))
    perm = perms[..., :K]
    return distance, np.where(perm < K_star, perm, -1)


# ---------------------------------------------------------------------------- state layout
def state_names(K: int, d: int, *, train_a: bool = False) -> list[str]:
    """Return the state names ``w1_1 .. wK_d`` (then ``a1 .. aK`` with ``train_a``).

    Examples
    --------
    >>> state_names(2, 2, train_a=True)
    ['w1_1', 'w1_2', 'w2_1', 'w2_2', 'a1', 'a2']
    """
    names = [f"w{j}_{i}" for j in range(1, K + 1) for i in range(1, d + 1)]
    return names + ([f"a{j}" for j in range(1, K + 1)] if train_a else [])


def pack_state(W, a=None) -> np.ndarray:
    """Flatten ``W (..., K, d)`` (and append ``a (..., K)``) into states ``(..., n)``.

    Examples
    --------
    >>> pack_state(np.eye(2), [3.0, 4.0]).tolist()
    [1.0, 0.0, 0.0, 1.0, 3.0, 4.0]
    """
    W = as_rows(W, "W")
    flat = W.reshape(*W.shape[:-2], -1)
    if a is None:
        return flat
    a = np.asarray(a, dtype=float)
    if a.ndim == 0 or a.shape[-1] != W.shape[-2]:
        raise InputError(f"`a` has shape {a.shape}; expected (..., {W.shape[-2]}).")
    batch = np.broadcast_shapes(flat.shape[:-1], a.shape[:-1])
    return np.concatenate(
        [
            np.broadcast_to(flat, (*batch, flat.shape[-1])),
            np.broadcast_to(a, (*batch, a.shape[-1])),
        ],
        axis=-1,
    )


def unpack_state(states, K: int, d: int, *, train_a: bool = False):
    """Split states ``(..., n)`` into ``W (..., K, d)`` and ``a (..., K)`` (``None`` if fixed).

    Examples
    --------
    >>> W, a = unpack_state([1.0, 2.0, 3.0, 4.0], 2, 2)
    >>> W.tolist(), a
    ([[1.0, 2.0], [3.0, 4.0]], None)
    """
    x = np.asarray(states, dtype=float)
    n = K * d + (K if train_a else 0)
    if x.ndim == 0 or x.shape[-1] != n:
        raise InputError(
            f"`states` has shape {x.shape}; expected (..., {n}) for K={K}, d={d}, "
            f"train_a={train_a}."
        )
    W = x[..., : K * d].reshape(*x.shape[:-1], K, d)
    return W, (x[..., K * d :] if train_a else None)
