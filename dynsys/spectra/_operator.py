"""The Hessian of a gradient system's potential as a matrix-free linear operator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from ..errors import InputError, InputTypeError

__all__ = ["FD_REL_STEP", "METHODS", "HessianOperator", "as_operator", "hessian_operator"]

METHODS = ("auto", "analytic", "jacobian", "fd")
FD_REL_STEP = np.finfo(float).eps ** (1.0 / 3.0)
"""Relative step of the central differences of the gradient, ``eps^(1/3) ~ 6.1e-6``: it balances
the truncation error ``O(h^2)`` against the rounding error ``O(eps/h)`` of a central difference."""


class HessianOperator(LinearOperator):
    """A symmetric ``n x n`` operator ``v -> H v`` given by a function on blocks of vectors.

    Parameters
    ----------
    apply : callable
        ``apply(V)`` for ``V`` of shape ``(m, n)`` (vectors as rows) returns ``(m, n)``.
    n : int
        Dimension.
    attrs : mapping
        Provenance (method, step, system name, ...), copied into the result Datasets.

    Attributes
    ----------
    n_products : int
        Number of vectors the operator has been applied to so far.

    Examples
    --------
    >>> op = HessianOperator(lambda V: 2.0 * V, 3, {"method": "demo"})
    >>> op.matvec(np.ones(3)).tolist(), op.n_products
    ([2.0, 2.0, 2.0], 1)
    """

    def __init__(self, apply: Callable[[np.ndarray], np.ndarray], n: int, attrs: Mapping) -> None:
        super().__init__(dtype=np.dtype(float), shape=(int(n), int(n)))
        self._apply = apply
        self.attrs = dict(attrs)
        self.n_products = 0

    def _matmat(self, X):
        X = np.asarray(X, dtype=float)
        self.n_products += X.shape[1]
        return np.asarray(self._apply(np.ascontiguousarray(X.T)), dtype=float).T

    def _matvec(self, x):
        return self._matmat(np.reshape(x, (-1, 1)))[:, 0]

    def _rmatvec(self, x):
        return self._matvec(x)

    def _adjoint(self):
        return self


def as_operator(op: Any) -> LinearOperator:
    """A square real :class:`~scipy.sparse.linalg.LinearOperator` from an operator, a dense
    array or a sparse matrix (raises :class:`~dynsys.errors.InputError` otherwise)."""
    try:
        out = op if isinstance(op, LinearOperator) else aslinearoperator(op)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(
            f"expected a LinearOperator, an array or a sparse matrix; got {type(op).__name__} "
            "(build one for a system's Hessian with dynsys.spectra.hessian_operator)."
        ) from exc
    if len(out.shape) != 2 or out.shape[0] != out.shape[1] or out.shape[0] < 1:
        raise InputError(f"the operator must be square n x n with n >= 1; got shape {out.shape}.")
    if np.dtype(out.dtype).kind == "c":
        raise InputError("the operator is complex; these spectral tools take real symmetric ones.")
    return out


def hessian_operator(
    system, x, params: Mapping[str, Any] | None = None, *, method: str = "auto"
) -> HessianOperator:
    """Return the Hessian of a gradient system's potential at ``x`` as a linear operator.

    The Hessian is never formed. For a :class:`~dynsys.system.GradientSystem` the vector field is
    ``f = -grad V``, so its Jacobian is ``-Hess V``; this operator is ``+Hess V``, the Hessian of
    the potential (the loss): at a minimum it is positive semidefinite.

    Parameters
    ----------
    system : GradientSystem
        The gradient flow of a potential ``V``.
    x : array_like, shape ``(n,)``
        The state at which the Hessian is taken.
    params : mapping, optional
        Parameter values (the system's defaults otherwise).
    method : {"auto", "analytic", "jacobian", "fd"}
        How products ``H v`` are computed:

        - ``"analytic"``: the model's own Hessian-vector product (a system method
          ``hessian_action(x, params)`` returning a map ``v -> H v`` on ``(m, n)`` blocks; the
          teacher-student ReLU networks of :mod:`dynsys.models.relu` have one);
        - ``"jacobian"``: the analytic Hessian when it is a ``scipy.sparse`` matrix (a product
          costs its number of non-zeros);
        - ``"fd"``: central differences of the gradient,
          ``H v = |v| [grad V(x + h v/|v|) - grad V(x - h v/|v|)] / (2 h)`` with
          ``h = eps^(1/3) max(1, max_i |x_i|)`` (:data:`FD_REL_STEP`); the error is
          ``O(h^2)`` where ``V`` is three times differentiable (about ``1e-10`` relative), but only
          ``O(h)`` at kinks of the third derivative (parallel ReLU units). Two gradient
          evaluations per product, all vectors of a block in one batched call.
        - ``"auto"``: the first of these that the system supports.

    Returns
    -------
    HessianOperator
        A symmetric ``scipy.sparse.linalg.LinearOperator`` with ``attrs`` saying how it computes
        (``method``, ``fd_step``, ``system``) and a counter ``n_products``.

    Raises
    ------
    InputTypeError
        If ``system`` is not a gradient system.
    InputError
        If ``x`` has the wrong shape or is not finite, or the system does not support
        ``method``.

    Examples
    --------
    >>> from dynsys.models.relu import teacher_student
    >>> system = teacher_student(np.eye(3))
    >>> H = hessian_operator(system, np.eye(3).ravel())
    >>> H.shape, H.attrs["method"]
    ((9, 9), 'analytic')
    >>> bool(np.allclose(H @ np.eye(9), system.hessian(np.eye(3).ravel())))
    True
    """
    if not getattr(system, "is_gradient", False):
        raise InputTypeError(
            f"hessian_operator takes a GradientSystem (the flow of a potential); got "
            f"{type(system).__name__}. For a general System use the Jacobian of its field."
        )
    if method not in METHODS:
        raise InputError(f"`method` must be one of {METHODS}; got {method!r}.")
    x = np.asarray(x, dtype=float)
    n = system.n
    if x.shape != (n,):
        raise InputError(f"`x` has shape {x.shape}; expected one state of shape ({n},).")
    if not np.all(np.isfinite(x)):
        raise InputError("`x` is not finite; give a state with finite coordinates.")
    p = system.resolve_params(params)
    has_action = callable(getattr(system, "hessian_action", None))
    if method == "auto":
        method = "analytic" if has_action else "jacobian" if system.jacobian_is_sparse else "fd"
    attrs: dict[str, Any] = {"method": method, "system": system.name, "n": n}
    for key, value in p.items():
        attrs[f"param_{key}"] = value
    if method == "analytic":
        if not has_action:
            raise InputError(
                f"system {system.name!r} has no analytic Hessian-vector product (a method "
                "`hessian_action`); use method='fd' (central differences of the gradient)."
            )
        action = system.hessian_action(x, p)
        return HessianOperator(action, n, attrs)
    if method == "jacobian":
        if not system.jacobian_is_sparse:
            raise InputError(
                f"system {system.name!r} has no sparse analytic Hessian that could be applied "
                "without forming it; use method='fd' (or 'analytic' if the model has one)."
            )
        H = system.hessian(x, p).tocsr()
        return HessianOperator(lambda V: (H @ V.T).T, n, attrs)
    h = float(FD_REL_STEP * max(1.0, float(np.abs(x).max())))
    attrs["fd_step"] = h
    attrs["fd_rule"] = "central differences of the gradient, h = eps^(1/3) max(1, max|x_i|)"

    def central(V: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(V, axis=-1)
        safe = np.where(norms > 0, norms, 1.0)
        U = V / safe[:, None]
        g = system.gradient(np.stack([x + h * U, x - h * U]), p)
        return (g[0] - g[1]) * (norms / (2.0 * h))[:, None]

    return HessianOperator(central, n, attrs)
