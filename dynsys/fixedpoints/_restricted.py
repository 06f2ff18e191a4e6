"""Newton restricted to an invariant affine subspace ``c + span(Q)`` (``Q`` orthonormal).

A subspace invariant under ``x' = f(x)`` (the fixed-point subspace of a group of symmetries, say)
can cross a manifold of equilibria transversally: the root is then isolated within the subspace
although the Jacobian of ``f`` is singular there. Newton steps restricted to the subspace, the
minimum-norm solutions of ``Q^T J Q dz = -Q^T f`` with ``dx = Q dz``, converge to it
quadratically, where unrestricted steps let rounding push the iterate along the manifold.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._newton import StepSolver, dense_solver, sparse_solver
from ..errors import InputError
from ..symmetry import LinearEmbedding

__all__ = ["as_subspace", "project_seeds", "step_solvers"]

_INVARIANCE_TOL = 1e-7  # relative defect |f_normal| / (1 + |f|) above which a subspace is rejected


def as_subspace(subspace, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(c, Q)``: offset and an orthonormal basis ``(n, m)`` of the subspace, or None."""
    if subspace is None:
        return None
    emb = subspace if isinstance(subspace, LinearEmbedding) else LinearEmbedding(subspace)
    if emb.n != n:
        raise InputError(
            f"`subspace` lives in dimension {emb.n}; the system has {n} states. Give a basis of "
            f"shape ({n}, m) or a LinearEmbedding into R^{n}."
        )
    return emb.offset, scipy.linalg.orth(emb.basis)


def step_solvers(system, p, subspace) -> tuple[StepSolver, StepSolver]:
    """``(for_newton, whole)``: the step solver Newton uses (restricted to the subspace when one
    is given, else the whole-space one) and the whole-space solver (for projections onto the
    equilibria of the whole system, such as the manifold labels)."""
    if system.jacobian_is_sparse:
        whole = sparse_solver(lambda x: system.jac(x, p))
    else:
        whole = dense_solver(lambda x: system.jac(x, p))
    if subspace is None:
        return whole, whole
    _, Q = subspace

    def restricted_jacobian(x: np.ndarray) -> np.ndarray:
        if system.jacobian_is_sparse:  # one sparse product per item, no dense (n, n) matrix
            JQ = np.stack([np.asarray(system.jac(xi, p) @ Q) for xi in x])
        else:
            JQ = system.jac(x, p) @ Q
        return np.einsum("nm,knr->kmr", Q, JQ)

    reduced = dense_solver(restricted_jacobian)

    def on_subspace(x: np.ndarray, fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dz, singular = reduced(x, fx @ Q)
        return dz @ Q.T, singular

    return on_subspace, whole


def project_seeds(x0: np.ndarray, subspace, residual) -> np.ndarray:
    """Project seeds orthogonally onto the subspace; raise if the field leaves it there."""
    c, Q = subspace
    x0 = c + ((x0 - c) @ Q) @ Q.T
    f = residual(x0)
    normal = np.linalg.norm(f - (f @ Q) @ Q.T, axis=-1)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(normal > _INVARIANCE_TOL * (1.0 + np.linalg.norm(f, axis=-1)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"`subspace` is not invariant: at the projection of seed {i} the vector field has a "
            f"component {normal[i]:.3g} normal to it (|f| = {np.linalg.norm(f[i]):.3g}). Give "
            "an invariant subspace, e.g. dynsys.symmetry.fixed_point_subspace of symmetries of "
            "the system, or drop `subspace`."
        )
    return x0
