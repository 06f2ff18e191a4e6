"""The teacher-student ReLU network: loss, gradient, Hessian and the gradient system (see
:mod:`dynsys.models.relu` for the model, the state layout and the non-differentiable set)."""

from __future__ import annotations

import importlib.util

import numpy as np

from ...errors import InputError
from ...system import GradientSystem, model
from ._core import (
    as_rows,
    by_chunks,
    gradient_core,
    hessian_core,
    loss_core,
    network,
    weights,
)
from ._fixed import FixedTeacherGradient
from ._hvp import HessianAction
from ._init import (
    distance_to_teacher,
    orthonormal_teacher,
    pack_state,
    random_teacher,
    small_ball_init,
    state_names,
    two_unit_teacher,
    unpack_state,
    xavier_init,
)
from ._kernel import TWO_PI, NotDifferentiableError, h_angle, pair_geometry
from ._mc import MonteCarloEstimate, monte_carlo
from ._tail import TeacherDescentTail

__all__ = [
    "MonteCarloEstimate",
    "NotDifferentiableError",
    "TeacherStudentSystem",
    "distance_to_teacher",
    "gradient",
    "hessian",
    "hessian_vector_product",
    "loss",
    "monte_carlo",
    "orthonormal_teacher",
    "pack_state",
    "population_gating",
    "random_teacher",
    "relu_kernel",
    "singular_mask",
    "small_ball_init",
    "state_names",
    "teacher_student",
    "two_unit_teacher",
    "unpack_state",
    "xavier_init",
]

_ON_SINGULAR = ("raise", "nan")
_DENSE_CHECK_MAX_N = 2000  # larger systems skip the dense Hessian check on construction


# ---------------------------------------------------------------------------- kernel
def relu_kernel(U, V) -> np.ndarray:
    """Return ``E[relu(u.x) relu(v.x)]`` for every row ``u`` of ``U`` and ``v`` of ``V``.

    Parameters
    ----------
    U, V : array_like, shapes ``(..., m, d)`` and ``(..., n, d)``
        Weight vectors as rows; leading shapes broadcast.

    Returns
    -------
    ndarray, shape ``(..., m, n)``
        ``|u||v| h(theta) / (2 pi)`` with ``theta`` the angle between ``u`` and ``v`` (0 if
        either is zero).

    Examples
    --------
    >>> round(float(relu_kernel([[1.0, 0.0]], [[1.0, 0.0]])[0, 0]), 12)  # E[relu(x)^2] = 1/2
    0.5
    >>> round(float(relu_kernel([[1.0, 0.0]], [[-1.0, 0.0]])[0, 0]), 12)
    0.0
    """
    U, V = as_rows(U, "U"), as_rows(V, "V")
    if U.shape[-1] != V.shape[-1]:
        raise InputError(f"`U` has rows of length {U.shape[-1]} but `V` of {V.shape[-1]}.")
    geo = pair_geometry(U, V)
    return geo.norm_a[..., :, None] * geo.norm_b[..., None, :] * h_angle(geo.theta) / TWO_PI


def population_gating(e, w) -> np.ndarray:
    """Return Tian's population gating ``E[F(e, w)] = E[x 1(e.x > 0) relu(w.x)]`` (one sample).

    Theorem 1 of Tian (2017) with N = 1:
    ``E[F(e, w)] = [(pi - theta) w + |w| sin(theta) e] / (2 pi)``, ``theta`` the angle between
    ``e`` and ``w``. ``e`` is normalised here, so any nonzero vector may be given.

    Parameters
    ----------
    e, w : array_like, shape ``(..., d)``
        Gate direction (nonzero) and weight vector; leading shapes broadcast.

    Returns
    -------
    ndarray, shape ``(..., d)``

    Raises
    ------
    NotDifferentiableError
        If some ``e`` is zero (the gate has no direction).

    Examples
    --------
    >>> population_gating([1.0, 0.0], [2.0, 0.0]).round(12).tolist()  # theta = 0: w / 2
    [1.0, 0.0]
    """
    e, w = np.broadcast_arrays(np.asarray(e, dtype=float), np.asarray(w, dtype=float))
    if e.ndim == 0:
        raise InputError("`e` and `w` must be vectors of shape (..., d).")
    if np.any(np.linalg.norm(e, axis=-1) == 0):
        raise NotDifferentiableError("`e` must be nonzero: the gate 1(e.x > 0) needs a direction.")
    geo = pair_geometry(e[..., None, :], w[..., None, :])
    theta, sin = geo.theta[..., 0, 0], geo.sin[..., 0, 0]
    return (
        (np.pi - theta)[..., None] * w
        + (geo.norm_b[..., 0] * sin)[..., None] * geo.unit_a[..., 0, :]
    ) / TWO_PI


# ---------------------------------------------------------------------------- loss and derivatives
def loss(W, W_star, a=None, a_star=None) -> np.ndarray:
    """Return the population loss ``L = 1/2 E[(g(x) - g*(x))^2]`` of student networks.

    Parameters
    ----------
    W : array_like, shape ``(..., K, d)``
        Student first layers (hidden units as rows); leading axes are a batch of networks.
    W_star : array_like, shape ``(..., K*, d)``
        Teacher first layer(s).
    a, a_star : array_like, shapes ``(..., K)`` and ``(..., K*)``, optional
        Second-layer weights of student and teacher; all ones by default.

    Returns
    -------
    ndarray, shape ``(...)``
        Defined everywhere, including where a hidden unit is zero.

    Examples
    --------
    >>> W_star = np.eye(3)
    >>> float(abs(loss(W_star[[2, 0, 1]], W_star))) < 1e-14  # a permuted teacher
    True
    >>> round(float(loss(np.zeros((3, 3)), W_star)), 12)  # 1/2 E[g*^2] = (K + K(K-1)/pi) / 4
    1.227464829276
    """
    W, W_star, a, a_star = network(W, W_star, a, a_star)
    return by_chunks(loss_core, W, W_star, a, a_star)


def gradient(W, W_star, a=None, a_star=None, *, train_a: bool = False, on_singular="raise"):
    """Return the gradient of the population loss in the state layout.

    ``grad_{w_j} L = a_j [sum_k a_k G(w_j, w_k) - sum_l a*_l G(w_j, w*_l)]`` with Tian's
    ``G(w, v) = [(pi - theta) v + |v| sin(theta) w/|w|] / (2 pi)`` (``G(w, w) = w/2``), and with
    ``train_a`` also ``dL/da_j = sum_k a_k k(w_j, w_k) - sum_l a*_l k(w_j, w*_l)``.

    Parameters
    ----------
    W, W_star, a, a_star
        As for :func:`loss`.
    train_a : bool
        Append the derivatives with respect to ``a``.
    on_singular : {"raise", "nan"}
        What to do for networks with a zero hidden unit (see the module notes).

    Returns
    -------
    ndarray, shape ``(..., K*d)`` or ``(..., K*d + K)``
        Reshape the first ``K*d`` entries to ``(..., K, d)`` for the matrix form.

    Raises
    ------
    NotDifferentiableError
        If a network has a zero hidden unit and ``on_singular="raise"``.

    Examples
    --------
    >>> W_star = np.eye(2)
    >>> gradient(W_star, W_star).round(12).tolist()  # zero at the teacher
    [0.0, 0.0, 0.0, 0.0]
    >>> gradient(2 * W_star, W_star).reshape(2, 2).round(6).tolist()  # 1/2 + 1/(2 pi), 1/4
    [[0.659155, 0.25], [0.25, 0.659155]]
    """
    W, W_star, a, a_star = network(W, W_star, a, a_star)
    _check_on_singular(on_singular)
    out = by_chunks(gradient_core, W, W_star, a, a_star, bool(train_a))
    return _handle_singular(out, W, on_singular, trailing=1, what="gradient")


def hessian(W, W_star, a=None, a_star=None, *, train_a: bool = False, on_singular="raise"):
    """Return the Hessian of the population loss in the state layout.

    Closed form (differentiating Tian's Eq. 8 once more); bounded where units are parallel or
    anti-parallel (the loss is twice, not three times, differentiable there).

    Parameters
    ----------
    W, W_star, a, a_star, train_a, on_singular
        As for :func:`gradient`.

    Returns
    -------
    ndarray, shape ``(..., n, n)``, ``n = K*d`` or ``K*d + K``
        Symmetric.

    Raises
    ------
    NotDifferentiableError
        If a network has a zero hidden unit and ``on_singular="raise"``.

    Examples
    --------
    >>> H = hessian(np.eye(2), np.eye(2))  # at the teacher: positive definite
    >>> bool(np.all(np.linalg.eigvalsh(H) > 0))
    True
    """
    W, W_star, a, a_star = network(W, W_star, a, a_star)
    _check_on_singular(on_singular)
    out = by_chunks(hessian_core, W, W_star, a, a_star, bool(train_a))
    return _handle_singular(out, W, on_singular, trailing=2, what="Hessian")


def hessian_vector_product(W, W_star, v, a=None, a_star=None, *, train_a: bool = False):
    """Return ``H v``, the Hessian of the population loss of one network applied to vectors.

    The Hessian is never formed: the closed form of :func:`hessian` is applied block by block
    through the products ``V U^T`` and ``E V^T`` (``O(K (K + K*) d)`` operations per vector
    against ``O(K^2 d^2)`` for the dense Hessian); it equals ``hessian(...) @ v`` to rounding.
    For many products at one network, build the map once with
    ``teacher_student(...).hessian_action(x)``.

    Parameters
    ----------
    W : array_like, shape ``(K, d)``
        One student's first layer.
    W_star, a, a_star, train_a
        As for :func:`hessian` (one network, no batch).
    v : array_like, shape ``(..., n)``, ``n = K*d`` or ``K*d + K``
        Vectors in the state layout; leading axes are a batch of vectors.

    Returns
    -------
    ndarray, shape ``(..., n)``

    Raises
    ------
    NotDifferentiableError
        If a hidden unit of ``W`` is zero.

    Examples
    --------
    >>> W, W_star = np.array([[1.0, 0.3], [-0.2, 0.9]]), np.eye(2)
    >>> v = np.array([1.0, -1.0, 0.5, 2.0])
    >>> bool(np.allclose(hessian_vector_product(W, W_star, v), hessian(W, W_star) @ v))
    True
    """
    W, W_star, a, a_star = network(W, W_star, a, a_star)
    if W.ndim != 2:
        raise InputError(
            f"`W` has shape {W.shape}: hessian_vector_product takes one network (K, d); batch "
            "the vectors instead (v of shape (..., n)), or loop over networks."
        )
    return HessianAction(W, W_star, a, a_star, bool(train_a))(v)


def singular_mask(states, *, K: int, d: int) -> np.ndarray:
    """Return which states have a zero hidden unit (where the loss is not differentiable).

    Parameters
    ----------
    states : array_like, shape ``(..., K*d [+ K])``
        States in the layout of :func:`teacher_student`.
    K, d : int
        Number of hidden units and input dimension.

    Returns
    -------
    ndarray of bool, shape ``(...)``
        True where some ``w_j`` is exactly zero: mark these ``Status.NOT_DIFFERENTIABLE``.

    Examples
    --------
    >>> singular_mask([[1.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0]], K=2, d=2).tolist()
    [True, False]
    """
    x = np.asarray(states, dtype=float)
    if x.ndim == 0 or x.shape[-1] not in (K * d, K * d + K):
        raise InputError(
            f"`states` has shape {x.shape}; expected (..., {K * d}) or (..., {K * d + K}) "
            f"for K={K} units in d={d} dimensions."
        )
    W = x[..., : K * d].reshape(*x.shape[:-1], K, d)
    return np.any(np.all(W == 0.0, axis=-1), axis=-1)


# ---------------------------------------------------------------------------- the system
@model
def teacher_student(
    W_star,
    *,
    K: int | None = None,
    a=None,
    a_star=None,
    train_a: bool = False,
    name: str = "relu_teacher_student",
    compiled: bool = True,
) -> GradientSystem:
    """Return the gradient flow of a student network learning from a ReLU teacher.

    Parameters
    ----------
    W_star : array_like, shape ``(K*, d)``
        The teacher's first layer (hidden units as rows).
    K : int, optional
        Number of student hidden units; ``K*`` by default.
    a : array_like, shape ``(K,)``, optional
        Fixed student output weights (ones by default). Not allowed with ``train_a``.
    a_star : array_like, shape ``(K*,)``, optional
        Teacher output weights (ones by default).
    train_a : bool
        Make ``a`` part of the state (layout ``[W.ravel(), a]``).
    name : str
        Name stamped on results.
    compiled : bool
        With fixed output weights, let gradient descent finish the last runs of a batch in a
        compiled loop (when numba is installed); the results are the same either way.

    Returns
    -------
    GradientSystem
        Potential :func:`loss`, analytic gradient and Hessian; no parameters. At a state with a
        zero hidden unit the gradient and Hessian are NaN (see :func:`singular_mask`). With
        fixed output weights, ``flow(method="gradient_descent")`` finishes the last few runs of
        a batch in a compiled loop with the same stopping rules (its ``descent_kernel``, when
        numba is installed).

    Raises
    ------
    ValueError
        If shapes do not match, or ``a`` is given with ``train_a=True``.

    Examples
    --------
    >>> system = teacher_student(np.eye(2))
    >>> system.n, system.state_names[:2]
    (4, ('w1_1', 'w1_2'))
    >>> float(np.abs(system.f(np.eye(2).ravel())).max()) < 1e-14  # the teacher is critical
    True
    """
    W_star = as_rows(W_star, "W_star")
    if W_star.ndim != 2:
        raise InputError(f"`W_star` must be one teacher of shape (K*, d); got {W_star.shape}.")
    K_star, d = W_star.shape
    K = K_star if K is None else int(K)
    if K < 1:
        raise InputError(f"`K` must be a positive number of hidden units; got {K}.")
    if train_a and a is not None:
        raise InputError(
            "`a` is part of the state when train_a=True; drop `a=` and put the initial output "
            "weights in the state (see pack_state)."
        )
    a_fixed = weights(a, K, "a")
    a_star = weights(a_star, K_star, "a_star")
    n_W = K * d

    def split(x):
        batch = x.shape[:-1]
        W = x[..., :n_W].reshape(*batch, K, d)
        a_now = x[..., n_W:] if train_a else np.broadcast_to(a_fixed, (*batch, K))
        return (
            W,
            np.broadcast_to(W_star, (*batch, K_star, d)),
            a_now,
            np.broadcast_to(a_star, (*batch, K_star)),
        )

    def V(x, p):
        return by_chunks(loss_core, *split(x))

    fixed = None if train_a else FixedTeacherGradient(W_star, a_fixed, a_star)

    def grad(x, p):
        if fixed is not None:
            out = fixed(x)  # None when a state has a zero hidden unit: the general path flags it
            if out is not None:
                return out
        W, Ws, a_now, a_s = split(x)
        out = by_chunks(gradient_core, W, Ws, a_now, a_s, train_a)
        return _handle_singular(out, W, "nan", 1, "")

    def hess(x, p):
        W, Ws, a_now, a_s = split(x)
        out = by_chunks(hessian_core, W, Ws, a_now, a_s, train_a)
        return _handle_singular(out, W, "nan", 2, "")

    probe_W = np.random.default_rng(20170001).standard_normal((K, d)) / np.sqrt(d)
    probe = pack_state(probe_W, np.linspace(0.8, 1.2, K) if train_a else None)
    compiled = compiled and not train_a and importlib.util.find_spec("numba") is not None

    def action(x):
        x = np.asarray(x, dtype=float)
        if x.shape != (n_W + (K if train_a else 0),):
            raise InputError(
                f"`x` has shape {x.shape}; hessian_action takes one state of shape "
                f"({n_W + (K if train_a else 0)},)."
            )
        a_now = x[n_W:] if train_a else a_fixed
        return HessianAction(x[:n_W].reshape(K, d), W_star, a_now, a_star, train_a)

    return TeacherStudentSystem(
        V,
        state_names(K, d, train_a=train_a),
        grad=grad,
        hess=hess,
        name=name,
        probe=probe,
        # gradient descent finishes its last runs in a compiled loop
        descent_kernel=TeacherDescentTail(fixed) if compiled else None,
        action=action,
    )


class TeacherStudentSystem(GradientSystem):
    """The :class:`~dynsys.system.GradientSystem` of :func:`teacher_student`, which also applies
    its Hessian to vectors without forming it (:meth:`hessian_action`)."""

    def __init__(self, *args, action, **kwargs) -> None:
        self._action = action
        super().__init__(*args, **kwargs)

    def _check_jacobian(self, x, batch, fx, check_values: bool) -> None:
        # the dense check forms the Hessian at the probe, one state and a batch of four (3.2 GB
        # at 10^4 parameters); above _DENSE_CHECK_MAX_N the closed form is checked matrix-free
        # instead: its action along fixed directions against finite differences of the field
        if self.n <= _DENSE_CHECK_MAX_N:
            super()._check_jacobian(x, batch, fx, check_values)
        elif check_values:
            action = self._action(x)
            self._check_directional(lambda v: -action(v), x, fx, "(applied matrix-free)")

    def hessian_action(self, x, params=None) -> HessianAction:
        """Return the map ``v -> Hess V(x) v`` at one state ``x`` (``(n,)``).

        The closed-form Hessian applied block by block (see :func:`hessian_vector_product`);
        what depends on ``x`` alone is computed once, so build it once per state. The model has
        no parameters: ``params`` is accepted for the common signature and ignored.

        Raises
        ------
        NotDifferentiableError
            If a hidden unit of ``x`` is zero.

        Examples
        --------
        >>> system = teacher_student(np.eye(2))
        >>> act = system.hessian_action(2 * np.eye(2).ravel())
        >>> bool(np.allclose(act(np.eye(4)), system.hessian(2 * np.eye(2).ravel())))
        True
        """
        return self._action(x)


def _check_on_singular(on_singular) -> None:
    if on_singular not in _ON_SINGULAR:
        raise InputError(f"`on_singular` must be one of {_ON_SINGULAR}; got {on_singular!r}.")


def _handle_singular(out, W, on_singular, trailing: int, what: str):
    zero_units = np.all(W == 0.0, axis=-1)  # (..., K)
    bad = np.any(zero_units, axis=-1)
    if not np.any(bad):
        return out
    if on_singular == "raise":
        items = [tuple(int(i) for i in idx) for idx in zip(*np.nonzero(bad), strict=True)]
        units = sorted({int(j) + 1 for j in np.nonzero(zero_units)[-1]})
        where = f" at batch item(s) {items[:5]}{' ...' if len(items) > 5 else ''}" if items else ""
        raise NotDifferentiableError(
            f"the {what} is undefined{where}: hidden unit(s) {units} have zero weight vectors, "
            "where the loss is not differentiable. Move those units off zero (e.g. a tiny random "
            "perturbation), or pass on_singular='nan' and flag the items with singular_mask()."
        )
    out = np.array(out, dtype=float, copy=True)
    out[bad] = np.nan
    return out
