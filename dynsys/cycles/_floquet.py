"""Floquet multipliers of a cycle from the steps of its variational equation, without forming
the monodromy matrix.

The product of the transition matrices of one period spans the whole dynamic range of the
multipliers (``exp(lambda_max T)`` down to ``exp(lambda_min T)``), so its small eigenvalues, and
near a homoclinic orbit the multiplier 1 as well, drown in rounding. Two things avoid that:

- the flow direction is taken out: with ``f_k`` the vector field at the boundaries of the steps
  (grouped into ``K`` blocks ``B_k``) and ``Q_k`` an orthonormal basis of its complement, the
  blocks ``Q_{k+1}^T B_k Q_k`` carry the nontrivial multipliers exactly when ``B_k f_k`` is
  ``f_{k+1}`` (the transversal, Poincare-map part of the linearization), and the trivial
  multiplier is the growth of the flow direction step by step, ``prod_s f_{s+1} . Phi_s f_s /
  |f_{s+1}|^2``: its distance from 1 measures how well the steps transport the flow (the
  accuracy of the profile and of the discretized variational equation, relative to ``|f|``;
  near a saddle, where ``|f|`` is tiny, it grows);
- the eigenvalues ``nu`` of the block-cyclic matrix of the ``K`` blocks (``B_k`` below the
  diagonal, ``B_{K-1}`` in the corner) are computed instead of those of the product: ``nu^K``
  runs through the multipliers, each ``K`` times. The blocks are cut so that each spans a
  dynamic range (condition number) of about ``1e4``, so multipliers of modulus near 1 keep a
  relative accuracy of about ``K eps 1e4`` however far apart the others are, and a cycle of
  moderate range needs one or a few blocks only.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["Floquet", "cyclic_eigenvalues", "floquet_from_monodromy", "floquet_from_steps"]

_MAX_LIFTED = 240  # largest order of the block-cyclic matrix
_MAX_LOG = float(np.log(np.finfo(float).max))
_BLOCK_RANGE = 1e4  # dynamic range of one block: unit multipliers keep ~K eps 1e4 accuracy


@dataclass(frozen=True)
class Floquet:
    """The Floquet multipliers of one cycle.

    Attributes
    ----------
    trivial : complex
        The multiplier of the direction of the flow (1 in exact arithmetic).
    nontrivial : numpy.ndarray of complex, shape (n - 1,)
        The others, sorted by modulus, largest first.
    error : float
        ``|trivial - 1|``: how well the discretized variational equation transports the flow
        direction (relative to ``|f|``), an indicator of the accuracy of the multipliers.
    """

    trivial: complex
    nontrivial: np.ndarray
    error: float

    @property
    def stable(self) -> bool:
        """All nontrivial multipliers strictly inside the unit circle (the cycle attracts)."""
        return bool(np.all(np.abs(self.nontrivial) < 1.0))

    @property
    def unstable_count(self) -> int:
        """Number of nontrivial multipliers outside the unit circle."""
        return int(np.count_nonzero(np.abs(self.nontrivial) > 1.0))

    @classmethod
    def unknown(cls, n: int) -> Floquet:
        """NaN multipliers of an ``n``-dimensional system (no cycle)."""
        return cls(complex(np.nan), np.full(max(n - 1, 0), np.nan + 0j), float("nan"))


def _sorted(mu: np.ndarray) -> np.ndarray:
    mu = np.asarray(mu, dtype=complex)
    return mu[np.lexsort((-mu.imag, -np.abs(mu)))]


def floquet_from_monodromy(M: np.ndarray) -> Floquet:
    """Split the eigenvalues of a monodromy matrix ``M`` into the one nearest 1 (trivial) and
    the rest.

    Examples
    --------
    >>> import numpy as np
    >>> f = floquet_from_monodromy(np.diag([0.5, 1.0, -2.0]))
    >>> f.trivial, f.nontrivial.real.tolist(), f.stable
    ((1+0j), [-2.0, 0.5], False)
    """
    M = np.asarray(M, dtype=float)
    if not np.all(np.isfinite(M)):
        return Floquet.unknown(M.shape[0])
    mu = np.linalg.eigvals(M).astype(complex)
    k = int(np.argmin(np.abs(mu - 1.0)))
    return Floquet(complex(mu[k]), _sorted(np.delete(mu, k)), float(abs(mu[k] - 1.0)))


def _edges(steps: np.ndarray, max_blocks: int) -> np.ndarray:
    """Boundaries of runs of consecutive steps whose products each span a dynamic range (the
    condition number) of about ``_BLOCK_RANGE`` at most: as few blocks as that allows."""
    S = steps.shape[0]
    growth = np.log(np.maximum(np.linalg.cond(steps), 1.0))
    growth = np.where(np.isfinite(growth), growth, np.log(_BLOCK_RANGE))
    total = float(growth.sum())
    count = int(np.clip(np.ceil(total / np.log(_BLOCK_RANGE)), 1, max(1, min(S, max_blocks))))
    cumulative = np.concatenate([[0.0], np.cumsum(growth)])
    targets = np.linspace(0.0, total, count + 1)
    edges = np.round(np.interp(targets, cumulative, np.arange(S + 1.0))).astype(int)
    edges[0], edges[-1] = 0, S
    return np.unique(edges)


def _blocks(steps: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """Products of the runs of consecutive steps between ``edges``."""
    n = steps.shape[1]
    out = []
    for a, b in itertools.pairwise(edges):
        block = np.eye(n)
        for Phi in steps[a:b]:
            block = Phi @ block
        out.append(block)
    return out


def _cyclic(blocks: list[np.ndarray]) -> np.ndarray:
    """Eigenvalues of ``blocks[-1] @ ... @ blocks[0]`` from the block-cyclic matrix."""
    K = len(blocks)
    n = blocks[0].shape[0]
    C = np.zeros((K * n, K * n))
    for k, block in enumerate(blocks):
        row = (k + 1) % K
        C[row * n : (row + 1) * n, k * n : (k + 1) * n] = block
    if not np.all(np.isfinite(C)):
        return np.full(n, np.nan + 0j)
    nu = np.linalg.eigvals(C).astype(complex)
    with np.errstate(divide="ignore"):
        log_size = K * np.log(np.abs(nu))  # of nu^K, which may overflow: group in logs
    angle = K * np.angle(nu)
    free = np.ones(nu.size, dtype=bool)
    out = np.empty(n, dtype=complex)
    for i in range(n):  # each multiplier K times: group the K nearest, largest first
        idx = np.flatnonzero(free)
        lead = idx[np.argmax(log_size[idx])]
        turn = np.angle(np.exp(1j * (angle[idx] - angle[lead])))
        with np.errstate(invalid="ignore"):
            gap = np.hypot(log_size[idx] - log_size[lead], turn)
        group = idx[np.argsort(np.where(np.isnan(gap), np.inf, gap), kind="stable")[:K]]
        free[group] = False
        mean_turn = np.mean(np.angle(np.exp(1j * (angle[group] - angle[lead]))))
        out[i] = _polar(float(np.mean(log_size[group])), float(angle[lead] + mean_turn))
    return _conjugate_pairs(out)


def _polar(log_size: float, angle: float) -> complex:
    """``exp(log_size) exp(i angle)``, infinite (with the sign of its parts) on overflow."""
    if log_size > _MAX_LOG:
        c, s = np.cos(angle), np.sin(angle)
        return complex(
            np.copysign(np.inf, c) if abs(c) > 1e-12 else 0.0,
            np.copysign(np.inf, s) if abs(s) > 1e-12 else 0.0,
        )
    return complex(np.exp(log_size) * np.exp(1j * angle)) if np.isfinite(log_size) else 0j


def _conjugate_pairs(mu: np.ndarray) -> np.ndarray:
    """The eigenvalues of a real matrix come as real values and conjugate pairs: a value whose
    nearest conjugate is itself is real; the others are made exact conjugates of their
    partner."""
    mu = mu.copy()
    done = ~np.isfinite(mu)  # overflowed: left as they are
    for i in np.argsort(-np.abs(mu.imag), kind="stable")[::-1]:
        if done[i]:
            continue
        free = np.flatnonzero(~done)
        j = free[np.argmin(np.abs(mu[free] - np.conj(mu[i])))]
        if j == i or abs(mu[j] - np.conj(mu[i])) >= abs(mu[i].imag):
            mu[i] = mu[i].real
            done[i] = True
        else:
            pair = 0.5 * (mu[i] + np.conj(mu[j]))
            mu[i], mu[j] = pair, np.conj(pair)
            done[[i, j]] = True
    return mu


def cyclic_eigenvalues(steps: np.ndarray, max_order: int = _MAX_LIFTED) -> np.ndarray:
    """The eigenvalues of the product ``steps[-1] @ ... @ steps[0]`` (``(S, n, n)``), from the
    block-cyclic matrix of runs of consecutive steps, each spanning a dynamic range of about
    ``1e4`` (at most ``max_order // n`` runs).

    Examples
    --------
    >>> import numpy as np
    >>> steps = np.stack([np.diag([np.exp(0.5), np.exp(-2.0)])] * 40)  # exp(20), exp(-80)
    >>> mu = cyclic_eigenvalues(steps)
    >>> bool(np.allclose(np.sort(mu.real), [np.exp(-80.0), np.exp(20.0)], rtol=1e-12, atol=0))
    True
    """
    n = steps.shape[1]
    return _cyclic(_blocks(steps, _edges(steps, max_order // n)))


def _complement(direction: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``(n, n - 1)`` of the complement of ``direction``."""
    Q, _ = np.linalg.qr(direction[:, None], mode="complete")
    return Q[:, 1:]


def floquet_from_steps(steps: np.ndarray, flow: np.ndarray) -> Floquet:
    """The multipliers of one period of transition matrices ``steps`` (``(S, n, n)``), given
    the vector field ``flow`` (``(S + 1, n)``, last equal to first) at the step boundaries
    (see the module notes): the flow direction is taken out, the rest goes to the block-cyclic
    eigenvalue problem.

    Examples
    --------
    >>> import numpy as np
    >>> theta = 2 * np.pi / 50  # the circle r = 1 of r' = r (1 - r^2), theta' = 1: 50 steps
    >>> rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    >>> radial = np.exp(-2 * theta)  # the radial direction contracts at rate 2
    >>> phis, tau = [], np.linspace(0, 2 * np.pi, 51)
    >>> for t in tau[:-1]:
    ...     e_r, e_t = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
    ...     phis.append(rot @ (np.outer(e_r, e_r) * radial + np.outer(e_t, e_t)))
    >>> flow = np.stack([-np.sin(tau), np.cos(tau)], axis=-1)
    >>> f = floquet_from_steps(np.stack(phis), flow)
    >>> bool(abs(f.nontrivial[0] - np.exp(-4 * np.pi)) < 1e-15), f.error < 1e-13
    (True, True)
    """
    steps = np.asarray(steps, dtype=float)
    flow = np.asarray(flow, dtype=float)
    n = steps.shape[1]
    if n < 2 or not (np.all(np.isfinite(steps)) and np.all(np.isfinite(flow))):
        return Floquet.unknown(n)
    edges = _edges(steps, _MAX_LIFTED // (n - 1))
    blocks = _blocks(steps, edges)
    K = len(blocks)
    f = flow[edges]
    size = np.linalg.norm(f, axis=1)
    if np.any(size <= 1e-300) or size.min() <= 1e-13 * size.max():
        return floquet_from_monodromy(np.linalg.multi_dot([*blocks[::-1], np.eye(n)]))
    unit = f / size[:, None]
    carried = np.einsum("sab,sb->sa", steps, flow[:-1])
    ratios = np.einsum("sa,sa->s", carried, flow[1:]) / np.sum(flow[1:] ** 2, 1)
    with np.errstate(divide="ignore"):
        log_total = float(np.sum(np.log(np.abs(ratios))))
    sign = float(np.prod(np.sign(ratios)))
    trivial = sign * (np.exp(log_total) if log_total <= _MAX_LOG else np.inf)
    bases = [_complement(u) for u in unit[:-1]]
    bases.append(bases[0])
    reduced = [bases[k + 1].T @ blocks[k] @ bases[k] for k in range(K)]
    return Floquet(complex(trivial), _sorted(_cyclic(reduced)), float(abs(trivial - 1.0)))
