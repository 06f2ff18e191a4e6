"""Damped Newton on the collocation equations (a sparse LU per iteration), and the mesh
adaptation passes around it."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from .._status import Status
from ._collocation import Collocation

__all__ = ["Solved", "newton_solve", "solve_adapted"]

_MIN_DAMPING = 1.0 / 256.0


@dataclass
class Solved:
    """The outcome of one solve: the collocation used, the unknowns, a Status code, the Newton
    iterations and the largest residual."""

    collocation: Collocation
    v: np.ndarray
    status: Status
    iterations: int
    residual: float
    message: str = ""


def _factor(J):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return spla.splu(J)
    except RuntimeError:  # "Factor is exactly singular"
        return None


def newton_solve(
    col: Collocation,
    v0: np.ndarray,
    params: Mapping[str, Any],
    reference: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> Solved:
    """Damped Newton from ``v0`` with Deuflhard's natural monotonicity test: a damping ``lam``
    is accepted when the simplified Newton correction ``J^-1 G(v - lam dv)`` (same LU) is
    shorter than ``(1 - lam / 4) |dv|``. The test measures progress in the unknowns, so it is
    blind to the rounding floor of the residual of an ill-conditioned system.

    Converged: a full step at most ``tol * (1 + max|v|)``. Otherwise MAX_ITER (budget used up,
    or no damping passes the test), SINGULAR_JACOBIAN or NONFINITE.
    """
    v = np.array(v0, dtype=float)
    r = col.residual(v, params, reference=reference)
    if not np.all(np.isfinite(r)):
        return Solved(col, v, Status.NONFINITE, 0, float("nan"), "non-finite residual at start")
    for it in range(1, max_iter + 1):
        lu = _factor(col.jacobian(v, params, reference=reference))
        if lu is None:
            return Solved(col, v, Status.SINGULAR_JACOBIAN, it, _max(r), "singular Jacobian")
        step = lu.solve(r)
        if not np.all(np.isfinite(step)):
            return Solved(col, v, Status.NONFINITE, it, _max(r), "non-finite Newton step")
        size = float(np.linalg.norm(step))
        small = float(np.max(np.abs(step))) <= tol * (1.0 + float(np.max(np.abs(v))))
        damping = 1.0
        while True:
            trial = v - damping * step
            r_trial = col.residual(trial, params, reference=reference)
            if small:
                break
            if np.all(np.isfinite(r_trial)):
                simplified = float(np.linalg.norm(lu.solve(r_trial)))
                if simplified <= (1.0 - 0.25 * damping) * size:
                    break
            damping *= 0.5
            if damping < _MIN_DAMPING:
                return Solved(
                    col,
                    v,
                    Status.MAX_ITER,
                    it,
                    _max(r),
                    f"Newton stalled (no damping of a step of size {size:.2g} made progress): the "
                    "guess is far from a cycle, or the cycle is nearly non-hyperbolic (a "
                    "multiplier near 1, next to a Hopf point or a fold of cycles; follow such "
                    "cycles with continue_cycle)",
                )
        v, r = trial, r_trial
        if small:
            return Solved(col, v, Status.CONVERGED, it, _max(r))
    return Solved(col, v, Status.MAX_ITER, max_iter, _max(r), f"max_iter={max_iter} used up")


def _max(r: np.ndarray) -> float:
    return float(np.max(np.abs(r)))


def solve_adapted(
    col: Collocation,
    v0: np.ndarray,
    params: Mapping[str, Any],
    *,
    passes: int,
    tol: float,
    max_iter: int,
) -> Solved:
    """Solve on ``col``'s mesh, then ``passes`` times on a mesh adapted to the solution, each
    solve against the previous solution as phase reference."""
    reference = col.split(v0)[0]
    solved = newton_solve(col, v0, params, reference, tol=tol, max_iter=max_iter)
    total = solved.iterations
    for _ in range(passes):
        if solved.status != Status.CONVERGED:
            break
        X, T = col.split(solved.v)
        new = col.adapted(X)
        X_new = col.transfer(X, new)
        col = new
        solved = newton_solve(col, col.join(X_new, T), params, X_new, tol=tol, max_iter=max_iter)
        total += solved.iterations
    solved.iterations = total
    return solved
