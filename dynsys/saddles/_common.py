"""Helpers shared by the searches: checks, gradients counted, Hessian scales."""

from __future__ import annotations

import numpy as np

from .._points import relative_scale
from ..errors import InputError, InputTypeError
from ._options import SaddleOptions

__all__ = ["Counter", "check_options", "largest_curvature", "require_potential", "states"]


def require_potential(system, what: str) -> None:
    """Saddles of a potential: the system must be a GradientSystem."""
    if not getattr(system, "is_gradient", False):
        raise InputError(
            f"{what} searches saddles of a potential; {getattr(system, 'name', system)!r} is not "
            "a GradientSystem. Build the system with dynsys.GradientSystem(V, ...)."
        )


def check_options(options) -> SaddleOptions:
    if options is None:
        return SaddleOptions()
    if not isinstance(options, SaddleOptions):
        raise InputTypeError(f"`options` must be a SaddleOptions; got {type(options).__name__}.")
    return options


def states(x, n: int, name: str) -> np.ndarray:
    """States ``(k, n)`` from ``(n,)`` or ``(k, n)``, finite."""
    X = np.asarray(x, dtype=float)
    if X.ndim == 1:
        X = X[None]
    if X.ndim != 2 or X.shape[1] != n:
        raise InputError(
            f"`{name}` has shape {np.shape(x)}; expected ({n},) or (k, {n}) states of the system."
        )
    if not np.isfinite(X).all():
        raise InputError(f"`{name}` holds NaN or inf; give finite states.")
    return X


class Counter:
    """The gradient of a system at fixed parameters, counting the states evaluated."""

    def __init__(self, system, params) -> None:
        self.system = system
        self.params = params
        self.count = 0

    def gradient(self, X: np.ndarray) -> np.ndarray:
        self.count += int(np.prod(X.shape[:-1]))
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            return np.asarray(self.system.gradient(X, self.params), dtype=float)

    def energy(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            return np.asarray(self.system.potential(X, self.params), dtype=float)


def largest_curvature(system, params, X: np.ndarray) -> float:
    """The largest Hessian eigenvalue modulus over states ``(k, n)`` (at least 1e-300)."""
    H = -np.asarray(system.jac_dense(X, params), dtype=float)
    lam = np.linalg.eigvalsh(0.5 * (H + np.swapaxes(H, -1, -2)))
    return float(max(np.abs(lam).max(), 1e-300))


def scale_of(X: np.ndarray) -> float:
    return float(relative_scale(X).max(initial=1.0))
