"""The Lanczos process with full reorthogonalisation, for a block of independent start vectors.

Each start vector ``q_0`` runs its own three-term recurrence
``beta_j q_{j+1} = A q_j - alpha_j q_j - beta_{j-1} q_{j-1}``; the products ``A q_j`` of all
start vectors still running are one ``matmat`` (one batched call of the Hessian-vector product).
After every step the new vector is orthogonalised against all previous ones of its start vector
by classical Gram-Schmidt, twice ("twice is enough", Giraud et al. 2005), so that the Lanczos
vectors stay orthonormal to rounding and no spurious copies of converged Ritz values appear. A
start vector stops early when ``beta_j <= BREAKDOWN * |T|`` (its Krylov space is invariant: the
Gauss quadrature is then exact). The memory is ``steps x n`` floats per start vector.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import eigh_tridiagonal

__all__ = ["BREAKDOWN", "gauss_quadrature", "lanczos_block"]

BREAKDOWN = 1e-10  # relative size of beta_j at which a Krylov space counts as invariant


def lanczos_block(op, Q0: np.ndarray, steps: int):
    """Run ``steps`` Lanczos steps from each row of ``Q0`` (``(p, n)``, unit rows).

    Returns ``alpha (p, steps)``, ``beta (p, steps)`` (``beta[:, j]`` couples steps ``j`` and
    ``j + 1``) and ``length (p,)``, the number of steps each start vector ran (``steps`` unless
    its Krylov space became invariant earlier). Entries beyond ``length`` are zero.
    """
    p, n = Q0.shape
    steps = min(int(steps), n)
    Q = np.zeros((p, steps, n))
    Q[:, 0] = Q0
    alpha = np.zeros((p, steps))
    beta = np.zeros((p, steps))
    length = np.full(p, steps, dtype=int)
    scale = np.zeros(p)
    active = np.arange(p)
    for j in range(steps):
        q = Q[active, j]  # (a, n)
        w = np.asarray(op.matmat(q.T), dtype=float).T
        a = np.einsum("an,an->a", q, w)
        alpha[active, j] = a
        w -= a[:, None] * q
        if j > 0:
            w -= beta[active, j - 1][:, None] * Q[active, j - 1]
        basis = Q[active, : j + 1]  # (a, j + 1, n)
        for _ in range(2):
            w -= np.einsum("ai,ain->an", np.einsum("ain,an->ai", basis, w), basis)
        b = np.linalg.norm(w, axis=-1)
        scale[active] = np.maximum(scale[active], np.abs(a) + b)
        if j == steps - 1:
            break
        beta[active, j] = b
        done = ~(b > BREAKDOWN * scale[active])  # NaN counts as done
        if np.any(done):
            length[active[done]] = j + 1
            beta[active[done], j] = 0.0
        keep = ~done
        Q[active[keep], j + 1] = w[keep] / b[keep, None]
        active = active[keep]
        if active.size == 0:
            break
    return alpha, beta, length


def gauss_quadrature(alpha: np.ndarray, beta: np.ndarray, length: np.ndarray):
    """Nodes and weights of the Gauss quadrature of each tridiagonal ``T`` (``(p, steps)``
    arrays): the eigenvalues of ``T`` and the squared first components of its eigenvectors. Rows
    are padded with NaN nodes and zero weights beyond ``length``; the weights of a row sum to 1."""
    p, steps = alpha.shape
    nodes = np.full((p, steps), np.nan)
    weights = np.zeros((p, steps))
    for i in range(p):
        m = int(length[i])
        a = alpha[i, :m]
        if not np.all(np.isfinite(a)) or not np.all(np.isfinite(beta[i, : m - 1])):
            continue
        if m == 1:
            nodes[i, 0], weights[i, 0] = a[0], 1.0
            continue
        theta, S = eigh_tridiagonal(a, beta[i, : m - 1])
        nodes[i, :m] = theta
        weights[i, :m] = S[0] ** 2
    return nodes, weights
