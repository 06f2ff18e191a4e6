"""The one-hidden-layer CNN of Du et al. (2017) with non-overlapping Gaussian patches.

The input ``Z`` holds ``k`` independent patches ``Z_j ~ N(0, I_p)``; the network is
``f(Z) = sum_j a_j relu(w . Z_j)`` (one shared filter ``w`` of size ``p``, output weights
``a`` of size ``k``), and the teacher ``f*`` has ``(w*, a*)``. The loss
``L = 1/2 E[(f - f*)^2]`` has a closed form: within a patch
``E[relu(u.z) relu(v.z)] = |u||v| h(theta) / (2 pi)``, across patches the factors are independent,
``E[relu(u.z)] E[relu(v.z')] = |u||v| / (2 pi)``, so with ``theta`` the angle of ``w`` and ``w*``::

    L = 1/(4 pi) [ |w|^2 ((pi - 1)|a|^2 + (1.a)^2)
                   - 2 |w||w*| ((h(theta) - 1) a.a* + (1.a)(1.a*))
                   + |w*|^2 ((pi - 1)|a*|^2 + (1.a*)^2) ].

Parameterisations (state layouts)
---------------------------------
- plain, ``weight_norm=False``: the state is ``[w, a]`` (names ``w1..wp, a1..ak``);
- weight-normalised, ``weight_norm=True`` (what the paper analyses): the state is ``[v, a]``
  (names ``v1..vp, a1..ak``) and the filter is the unit vector ``w = v/|v|``. The network is
  positively homogeneous in ``w``, so the scale lives in ``a``; the loss does not depend on
  ``|v|`` (the Hessian has a zero eigenvalue along ``v``). The teacher's filter may have any
  norm; the global minimum is ``v ~ w*``, ``a = |w*| a*``.

The spurious local minimum
--------------------------
At the filter opposite to the teacher's (``theta = pi``, ``h = 0``) the gradient in ``v`` vanishes
for every ``a``, and minimising the (quadratic) loss over ``a`` gives
``a_s = |w*| ((pi - 1) I + 1 1^T)^{-1} (1 1^T - I) a*``. Near ``theta = pi``,
``h(pi - eps) = eps^3 / 3 + O(eps^5)``, so the loss grows like ``-|w*| (a_s . a*) eps^3 / (6 pi)``
when the filter turns away: ``(v, a) = (-w*/|w*|, a_s)`` is a strict local minimum exactly when
``a_s . a* < 0`` (true for generic ``a*`` with ``k >= 3``; false for ``a* = ones``). Its Hessian is
positive definite in ``a`` and zero in ``v`` (the growth in the angle is cubic, not quadratic), and
its loss is positive. :func:`spurious_minimum` returns it.

Singular states: ``w = 0`` (plain) or ``v = 0`` (weight-normalised), where the loss is not
differentiable; handled as in :mod:`dynsys.models.relu` (``on_singular``, NaN in the system).

References
----------
S. S. Du, J. D. Lee, Y. Tian, B. Poczos, A. Singh, Gradient descent learns one-hidden-layer CNN:
don't be afraid of spurious local minima, ICML 2018 (arXiv:1712.00779).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..system import GradientSystem, model
from .relu._kernel import (
    TWO_PI,
    NotDifferentiableError,
    h_angle,
    pair_geometry,
    plane_vectors,
    safe_ratio,
)
from .relu._mc import conv_monte_carlo as monte_carlo

__all__ = [
    "conv_teacher_student",
    "gradient",
    "hessian",
    "loss",
    "monte_carlo",
    "random_start",
    "singular_mask",
    "spurious_minimum",
]


# ---------------------------------------------------------------------------- closed forms
def _inputs(w, a, w_star, a_star):
    w, a = np.asarray(w, dtype=float), np.asarray(a, dtype=float)
    w_star, a_star = np.asarray(w_star, dtype=float), np.asarray(a_star, dtype=float)
    for label, x in (("w", w), ("a", a), ("w_star", w_star), ("a_star", a_star)):
        if x.ndim == 0:
            raise InputError(f"`{label}` must be a vector (..., size); got a scalar.")
    if w.shape[-1] != w_star.shape[-1] or a.shape[-1] != a_star.shape[-1]:
        raise InputError(
            f"student (filter {w.shape[-1]}, {a.shape[-1]} patches) and teacher (filter "
            f"{w_star.shape[-1]}, {a_star.shape[-1]} patches) must have the same sizes."
        )
    if np.any(np.linalg.norm(w_star, axis=-1) == 0):
        raise InputError("`w_star` must be nonzero: a zero teacher filter computes nothing.")
    p, k = w.shape[-1], a.shape[-1]
    batch = np.broadcast_shapes(w.shape[:-1], a.shape[:-1], w_star.shape[:-1], a_star.shape[:-1])
    return [np.broadcast_to(x, (*batch, n)) for x, n in ((w, p), (a, k), (w_star, p), (a_star, k))]


class _Terms:
    """The scalars and vectors shared by the loss and its derivatives (``w`` the filter)."""

    def __init__(self, w, a, w_star, a_star):
        geo = pair_geometry(w[..., None, :], w_star[..., None, :])
        self.r, self.r_star = geo.norm_a[..., 0], geo.norm_b[..., 0]
        self.e, self.e_star = geo.unit_a[..., 0, :], geo.unit_b[..., 0, :]
        plane, sin, theta = plane_vectors(geo)  # sin and angle accurate near 0 and pi
        self.cos, self.plane = geo.cos[..., 0, 0], plane[..., 0, 0, :]
        self.sin, self.theta = sin[..., 0, 0], theta[..., 0, 0]
        self.h = h_angle(self.theta)
        self.alpha = np.einsum("...i,...i->...", a, a)
        self.sigma, self.sigma_star = a.sum(-1), a_star.sum(-1)
        self.rho = np.einsum("...i,...i->...", a, a_star)
        self.c1 = (np.pi - 1.0) * self.alpha + self.sigma**2


def _loss_w(w, a, w_star, a_star) -> np.ndarray:
    t = _Terms(w, a, w_star, a_star)
    alpha_star = np.einsum("...i,...i->...", a_star, a_star)
    cross = (t.h - 1.0) * t.rho + t.sigma * t.sigma_star
    own_star = (np.pi - 1.0) * alpha_star + t.sigma_star**2
    return (t.r**2 * t.c1 - 2.0 * t.r * t.r_star * cross + t.r_star**2 * own_star) / (2 * TWO_PI)


def _grad_w(w, a, w_star, a_star, t=None):
    t = _Terms(w, a, w_star, a_star) if t is None else t
    side = t.r_star * (t.rho * t.sin + t.sigma * t.sigma_star - t.rho)
    g_w = t.c1[..., None] * w - (t.rho * (np.pi - t.theta))[..., None] * w_star
    g_w = (g_w - side[..., None] * t.e) / TWO_PI
    g_a = (t.r**2)[..., None] * ((np.pi - 1.0) * a + t.sigma[..., None])
    g_a = g_a - (t.r * t.r_star)[..., None] * (
        (t.h - 1.0)[..., None] * a_star + t.sigma_star[..., None]
    )
    return g_w, g_a / TWO_PI


def _hess_w(w, a, w_star, a_star, t=None):
    t = _Terms(w, a, w_star, a_star) if t is None else t
    p, k = w.shape[-1], a.shape[-1]
    eye_p = np.eye(p)
    outer = np.einsum("...i,...j->...ij", t.e, t.e)
    proj = eye_p - outer
    plane_outer = safe_ratio(
        np.einsum("...i,...j->...ij", t.plane, t.plane), t.sin[..., None, None]
    )
    curv = safe_ratio(t.rho * t.r_star, t.r)[..., None, None] * (
        plane_outer + t.sin[..., None, None] * proj
    )
    tilt = safe_ratio(t.r_star * (t.sigma * t.sigma_star - t.rho), t.r)[..., None, None] * proj
    H_ww = (t.c1[..., None, None] * eye_p - curv - tilt) / TWO_PI
    d_c1 = 2.0 * (np.pi - 1.0) * a + 2.0 * t.sigma[..., None]
    gate = (np.pi - t.theta)[..., None] * w_star
    lateral = t.sin[..., None] * a_star + t.sigma_star[..., None] - a_star
    H_wa = (
        np.einsum("...i,...j->...ij", w, d_c1)
        - np.einsum("...i,...j->...ij", gate, a_star)
        - t.r_star[..., None, None] * np.einsum("...i,...j->...ij", t.e, lateral)
    ) / TWO_PI
    H_aa = (t.r**2)[..., None, None] * ((np.pi - 1.0) * np.eye(k) + 1.0) / TWO_PI
    return H_ww, H_wa, H_aa


def _unit(v):
    r = np.linalg.norm(v, axis=-1)
    return safe_ratio(v, r[..., None]), r


def _grad_state(x_w, a, w_star, a_star, weight_norm: bool):
    if not weight_norm:
        return np.concatenate(_grad_w(x_w, a, w_star, a_star), axis=-1)
    w, r = _unit(x_w)
    g_w, g_a = _grad_w(w, a, w_star, a_star)
    tangent = g_w - np.einsum("...i,...i->...", g_w, w)[..., None] * w
    return np.concatenate([safe_ratio(tangent, r[..., None]), g_a], axis=-1)


def _hess_state(x_w, a, w_star, a_star, weight_norm: bool):
    if not weight_norm:
        H_ww, H_wa, H_aa = _hess_w(x_w, a, w_star, a_star)
    else:
        w, r = _unit(x_w)
        t = _Terms(w, a, w_star, a_star)
        g_w, _ = _grad_w(w, a, w_star, a_star, t)
        H_ww, H_wa, H_aa = _hess_w(w, a, w_star, a_star, t)
        J = safe_ratio(
            np.eye(w.shape[-1]) - np.einsum("...i,...j->...ij", w, w), r[..., None, None]
        )
        gw = np.einsum("...i,...i->...", g_w, w)[..., None, None]
        second = (
            np.einsum("...i,...j->...ij", g_w, w)
            + np.einsum("...i,...j->...ij", w, g_w)
            + gw * (np.eye(w.shape[-1]) - 3.0 * np.einsum("...i,...j->...ij", w, w))
        )
        H_ww = J @ H_ww @ J - safe_ratio(second, (r * r)[..., None, None])
        H_wa = J @ H_wa
    top = np.concatenate([H_ww, H_wa], axis=-1)
    bottom = np.concatenate([np.swapaxes(H_wa, -2, -1), H_aa], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def _filter(x_w, weight_norm):
    return _unit(x_w)[0] if weight_norm else x_w


def _singular(out, x_w, on_singular, trailing, what):
    if on_singular not in ("raise", "nan"):
        raise InputError(f"`on_singular` must be 'raise' or 'nan'; got {on_singular!r}.")
    bad = np.all(x_w == 0.0, axis=-1)
    if not np.any(bad):
        return out
    if on_singular == "raise":
        raise NotDifferentiableError(
            f"the {what} is undefined where the filter is zero ({int(bad.sum())} item(s)): the "
            "loss is not differentiable there. Move the filter off zero, or pass "
            "on_singular='nan' and flag the items with singular_mask()."
        )
    out = np.array(out, copy=True)
    out[bad] = np.nan
    return out


def loss(w, a, w_star, a_star, *, weight_norm: bool = False) -> np.ndarray:
    """Return the population loss ``L = 1/2 E[(f(Z) - f*(Z))^2]`` in closed form.

    Parameters
    ----------
    w : array_like, shape ``(..., p)``
        Student filter; with ``weight_norm`` the vector ``v`` whose direction is the filter.
    a : array_like, shape ``(..., k)``
        Student output weights, one per patch.
    w_star, a_star : array_like, shapes ``(..., p)`` and ``(..., k)``
        The teacher (``w_star`` nonzero).
    weight_norm : bool
        Use the filter ``w / |w|``.

    Returns
    -------
    ndarray, shape ``(...)``

    Examples
    --------
    >>> w_star, a_star = np.array([1.0, 0.0]), np.array([1.0, -2.0, 0.5])
    >>> float(abs(loss(w_star, a_star, w_star, a_star))) < 1e-14
    True
    >>> float(abs(loss([3.0, 0.0], a_star, w_star, a_star, weight_norm=True))) < 1e-14
    True
    """
    w, a, w_star, a_star = _inputs(w, a, w_star, a_star)
    return _loss_w(_filter(w, weight_norm), a, w_star, a_star)


def gradient(w, a, w_star, a_star, *, weight_norm: bool = False, on_singular="raise"):
    """Return the gradient of the loss in the state layout ``[w (or v), a]``.

    Parameters
    ----------
    w, a, w_star, a_star, weight_norm
        As for :func:`loss`.
    on_singular : {"raise", "nan"}
        What to do where the filter is zero.

    Returns
    -------
    ndarray, shape ``(..., p + k)``

    Raises
    ------
    NotDifferentiableError
        At a zero filter with ``on_singular="raise"``.

    Examples
    --------
    >>> gradient([1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]).round(12).tolist()
    [0.0, 0.0, 0.0, 0.0]
    """
    w, a, w_star, a_star = _inputs(w, a, w_star, a_star)
    out = _grad_state(w, a, w_star, a_star, weight_norm)
    return _singular(out, w, on_singular, 1, "gradient")


def hessian(w, a, w_star, a_star, *, weight_norm: bool = False, on_singular="raise"):
    """Return the Hessian of the loss in the state layout, shape ``(..., p + k, p + k)``.

    Parameters and errors as for :func:`gradient`.

    Examples
    --------
    >>> H = hessian([1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0])
    >>> bool(np.all(np.linalg.eigvalsh(H) > -1e-12)), H.shape
    (True, (4, 4))
    """
    w, a, w_star, a_star = _inputs(w, a, w_star, a_star)
    out = _hess_state(w, a, w_star, a_star, weight_norm)
    return _singular(out, w, on_singular, 2, "Hessian")


def singular_mask(states, *, p: int) -> np.ndarray:
    """Return which states ``(..., p + k)`` have a zero filter (not differentiable there).

    Examples
    --------
    >>> singular_mask([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]], p=2).tolist()
    [True, False]
    """
    x = np.asarray(states, dtype=float)
    return np.all(x[..., :p] == 0.0, axis=-1)


# ---------------------------------------------------------------------------- special points
def spurious_minimum(w_star, a_star) -> np.ndarray:
    """Return the spurious local minimum ``(v, a) = (-w*/|w*|, a_s)`` of the weight-normalised loss.

    ``a_s = |w*| ((pi - 1) I + 1 1^T)^{-1} (1 1^T - I) a*`` minimises the loss over ``a`` with the
    filter opposite to the teacher's (see the module notes for the derivation).

    Parameters
    ----------
    w_star : array_like, shape ``(p,)``
        The teacher's filter (nonzero).
    a_star : array_like, shape ``(k,)``
        The teacher's output weights.

    Returns
    -------
    ndarray, shape ``(p + k,)``
        The state ``[v, a]``.

    Raises
    ------
    ValueError
        If ``a_s . a* >= 0``: then the loss decreases as the filter turns away from ``-w*``, and
        the point is a saddle, not a local minimum.

    Examples
    --------
    >>> x = spurious_minimum([1.0, 0.0], [1.0, -1.0, 0.5])
    >>> x.round(4).tolist()
    [-1.0, -0.0, -0.3243, 0.6096, -0.0908]
    """
    w_star, a_star = np.asarray(w_star, dtype=float), np.asarray(a_star, dtype=float)
    if w_star.ndim != 1 or a_star.ndim != 1:
        raise InputError("`w_star` and `a_star` must be vectors (one teacher).")
    r_star = float(np.linalg.norm(w_star))
    if r_star == 0.0:
        raise InputError("`w_star` must be nonzero.")
    k = a_star.size
    system_matrix = (np.pi - 1.0) * np.eye(k) + 1.0
    a_s = r_star * np.linalg.solve(system_matrix, a_star.sum() - a_star)
    overlap = float(a_s @ a_star)
    if overlap >= 0.0:
        raise InputError(
            f"this teacher has no spurious local minimum at the filter -w*: a_s . a* = "
            f"{overlap:.6g} >= 0, so the point is a saddle. Du et al.'s minimum needs output "
            "weights a* of mixed signs or unequal sizes (k >= 3)."
        )
    return np.concatenate([-w_star / r_star, a_s])


def random_start(p: int, k: int, *, rng, a_radius: float, size=None) -> np.ndarray:
    """Return random starts for weight-normalised descent: ``v`` uniform on the unit sphere,
    ``a`` uniform in the ball of radius ``a_radius`` (Du et al. start ``a`` in a small ball).

    Returns
    -------
    ndarray, shape ``(*size, p + k)``

    Examples
    --------
    >>> x = random_start(3, 4, rng=0, a_radius=0.1, size=10)
    >>> x.shape, bool(np.allclose(np.linalg.norm(x[:, :3], axis=1), 1.0))
    ((10, 7), True)
    """
    rng = np.random.default_rng(rng)
    shape = () if size is None else ((int(size),) if np.ndim(size) == 0 else tuple(size))
    v = rng.standard_normal((*shape, p))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    direction = rng.standard_normal((*shape, k))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    a = direction * (float(a_radius) * rng.random((*shape, 1)) ** (1.0 / k))
    return np.concatenate([v, a], axis=-1)


# ---------------------------------------------------------------------------- the system
@model
def conv_teacher_student(
    w_star, a_star, *, weight_norm: bool = True, name: str = "cnn_teacher_student"
) -> GradientSystem:
    """Return the gradient flow of the CNN of Du et al. learning from a teacher ``(w*, a*)``.

    Parameters
    ----------
    w_star : array_like, shape ``(p,)``
        The teacher's filter (nonzero).
    a_star : array_like, shape ``(k,)``
        The teacher's output weights (one per patch).
    weight_norm : bool
        State ``[v, a]`` with filter ``v/|v|`` (the paper's setting) or ``[w, a]``.
    name : str
        Name stamped on results.

    Returns
    -------
    GradientSystem
        Closed-form loss, gradient and Hessian; NaN gradient and Hessian where the filter is zero
        (see :func:`singular_mask`).

    Examples
    --------
    >>> system = conv_teacher_student([1.0, 0.0], [1.0, -1.0, 0.5])
    >>> system.state_names
    ('v1', 'v2', 'a1', 'a2', 'a3')
    >>> x = spurious_minimum([1.0, 0.0], [1.0, -1.0, 0.5])
    >>> float(np.abs(system.f(x)).max()) < 1e-12, float(system.potential(x)) > 0.1
    (True, True)
    """
    w_star, a_star = np.asarray(w_star, dtype=float), np.asarray(a_star, dtype=float)
    if w_star.ndim != 1 or a_star.ndim != 1:
        raise InputError(
            f"`w_star` and `a_star` must be vectors; got shapes {w_star.shape}, {a_star.shape}."
        )
    _inputs(w_star, a_star, w_star, a_star)  # checks w_star != 0
    p, k = w_star.size, a_star.size
    prefix = "v" if weight_norm else "w"
    names = [f"{prefix}{i}" for i in range(1, p + 1)] + [f"a{j}" for j in range(1, k + 1)]

    def split(x):
        batch = x.shape[:-1]
        return (
            x[..., :p],
            x[..., p:],
            np.broadcast_to(w_star, (*batch, p)),
            np.broadcast_to(a_star, (*batch, k)),
        )

    def V(x, params):
        w, a, ws, as_ = split(x)
        return _loss_w(_filter(w, weight_norm), a, ws, as_)

    def grad(x, params):
        w, a, ws, as_ = split(x)
        return _singular(_grad_state(w, a, ws, as_, weight_norm), w, "nan", 1, "")

    def hess(x, params):
        w, a, ws, as_ = split(x)
        return _singular(_hess_state(w, a, ws, as_, weight_norm), w, "nan", 2, "")

    gen = np.random.default_rng(20171203)
    probe = np.concatenate([gen.standard_normal(p), gen.standard_normal(k)])
    return GradientSystem(V, names, grad=grad, hess=hess, name=name, probe=probe)
