"""A compiled model's Jacobians as functions, each with the finite-difference stencils of its
derivatives in one compiled call (``stencil``, :mod:`._compiled_stencil`), for
:func:`dynsys.continuation._normal_forms.jacobian_derivatives` (private; made by
:class:`._compiled.CompiledFunctions`)."""

from __future__ import annotations

import numpy as np

__all__ = ["ResidualJacobian", "StateJacobian"]


class StateJacobian:
    """The state Jacobian at fixed parameters as a function of the state (``jac(x)``), and
    the finite-difference stencils of its derivatives in one compiled call
    (:meth:`stencil`)."""

    def __init__(self, jacobian, address: int, params: np.ndarray, n: int) -> None:
        self.jacobian = jacobian
        self.address = address
        self.params = params
        self.n = n

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty((self.n, self.n))
        self.jacobian(np.ascontiguousarray(x, dtype=float), self.params, out)
        return out

    def stencil(self, x: np.ndarray, d: np.ndarray, h: float, second: bool):
        """What :func:`~dynsys.continuation._normal_forms.jacobian_derivatives` computes from
        the Jacobians at ``x + k h d`` (``k`` = -2, -1, 1, 2, and 0 with ``second``), the same
        values (:func:`._compiled_stencil.state_stencil`); None for a complex direction."""
        if np.iscomplexobj(x) or np.iscomplexobj(d):
            return None
        from ._compiled_stencil import state_stencil

        first = np.empty((self.n, self.n))
        other = np.empty((self.n, self.n))
        state_stencil(
            self.address,
            self.params,
            np.ascontiguousarray(x, dtype=float),
            np.ascontiguousarray(d, dtype=float),
            float(h),
            bool(second),
            first,
            other,
        )
        return (first, other) if second else first


class ResidualJacobian:
    """The Jacobian ``[J, f_p]`` of the residual as a function of the unknowns (``jac(u)``,
    the problem's), and the finite-difference stencils of its derivatives in one compiled call
    (:meth:`stencil`)."""

    def __init__(self, jacobian, jacobian_at: int, dparam_at: int, params, k: int) -> None:
        self.jacobian = jacobian
        self.addresses = (jacobian_at, dparam_at)
        self.params = params
        self.k = k

    def __call__(self, u: np.ndarray):
        return self.jacobian(u)

    def stencil(self, u: np.ndarray, d: np.ndarray, h: float, second: bool):
        """As :meth:`StateJacobian.stencil`, for the Jacobian of the residual
        (:func:`._compiled_stencil.full_stencil`)."""
        if np.iscomplexobj(u) or np.iscomplexobj(d):
            return None
        from ._compiled_stencil import full_stencil

        n = u.shape[0] - 1
        first = np.empty((n, n + 1))
        other = np.empty((n, n + 1))
        full_stencil(
            *self.addresses,
            self.params.copy(),
            self.k,
            np.ascontiguousarray(u, dtype=float),
            np.ascontiguousarray(d, dtype=float),
            float(h),
            bool(second),
            first,
            other,
        )
        return (first, other) if second else first
