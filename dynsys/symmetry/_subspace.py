"""Linear subspaces of the state space: the embedding ``z -> c + E z``, the invariance defect of a
vector field on it, and the fixed-point subspace of a set of linear maps.

A subspace is invariant under ``x' = f(x)`` when ``f(c + E z)`` lies in the column space of
``E`` for every ``z``; the fixed-point subspace of a group of symmetries of ``f`` is one.
:func:`invariance_defect` measures the part of the field that leaves the subspace.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._validate import as_state_batch
from ..errors import InputError
from ..system import System

__all__ = ["LinearEmbedding", "as_embedding", "fixed_point_subspace", "invariance_defect"]

_ORTHONORMAL_TOL = 1e-12


class LinearEmbedding:
    """The affine map ``z -> c + E z`` from ``R^m`` into ``R^n`` (``E`` of full column rank).

    Parameters
    ----------
    basis : array_like, shape (n, m)
        The columns span the subspace; they need not be orthonormal.
    offset : array_like, shape (n,), optional
        The point ``c`` (zero by default).

    Raises
    ------
    ValueError
        If ``basis`` is not a finite 2-D array of full column rank, or ``offset`` has the wrong
        shape.

    Examples
    --------
    >>> emb = LinearEmbedding([[1.0], [1.0]])
    >>> emb.lift([2.0]).tolist(), emb.project([3.0, 1.0]).tolist()
    ([2.0, 2.0], [2.0])
    """

    def __init__(self, basis, offset=None) -> None:
        E = np.array(basis, dtype=float)
        if E.ndim != 2 or E.shape[1] < 1 or E.shape[1] > E.shape[0]:
            raise InputError(
                f"`basis` must be a 2-D array (n, m) with 1 <= m <= n; got shape {E.shape}."
            )
        if not np.all(np.isfinite(E)):
            raise InputError("`basis` has non-finite entries; give a finite matrix.")
        rank = np.linalg.matrix_rank(E)
        if rank < E.shape[1]:
            raise InputError(
                f"`basis` has rank {rank} < {E.shape[1]} columns: the columns must be linearly "
                "independent. Drop the dependent ones (e.g. scipy.linalg.orth(basis))."
            )
        n = E.shape[0]
        c = np.zeros(n) if offset is None else as_state_batch(offset, n, name="offset")
        if c.shape != (n,):
            raise InputError(f"`offset` must have shape ({n},); got {c.shape}.")
        self._basis = E
        self._offset = c
        self._metric = E.T @ E
        self._pinv = scipy.linalg.solve(self._metric, E.T, assume_a="pos")
        for arr in (self._basis, self._offset, self._pinv, self._metric):
            arr.setflags(write=False)

    @property
    def basis(self) -> np.ndarray:
        """``E``, shape ``(n, m)``."""
        return self._basis

    @property
    def offset(self) -> np.ndarray:
        """``c``, shape ``(n,)``."""
        return self._offset

    @property
    def pinv(self) -> np.ndarray:
        """The pseudo-inverse ``E^+ = (E^T E)^{-1} E^T``, shape ``(m, n)``."""
        return self._pinv

    @property
    def metric(self) -> np.ndarray:
        """The Gram matrix ``E^T E``: the metric the embedding induces on ``R^m``."""
        return self._metric

    @property
    def n(self) -> int:
        """Dimension of the ambient space."""
        return self._basis.shape[0]

    @property
    def m(self) -> int:
        """Dimension of the subspace."""
        return self._basis.shape[1]

    @property
    def is_orthonormal(self) -> bool:
        """Whether ``E^T E = I`` (to 1e-12)."""
        return bool(np.allclose(self._metric, np.eye(self.m), rtol=0, atol=_ORTHONORMAL_TOL))

    def lift(self, z) -> np.ndarray:
        """``c + E z`` for ``z (..., m)``; returns ``(..., n)``."""
        return self._offset + np.asarray(z, dtype=float) @ self._basis.T

    def project(self, x) -> np.ndarray:
        """``E^+ (x - c)`` for ``x (..., n)``: the coordinates of the closest subspace point."""
        return (np.asarray(x, dtype=float) - self._offset) @ self._pinv.T

    def normal_part(self, v) -> np.ndarray:
        """``(I - E E^+) v``: the part of vectors ``v (..., n)`` orthogonal to the subspace."""
        v = np.asarray(v, dtype=float)
        return v - (v @ self._pinv.T) @ self._basis.T


def as_embedding(basis, offset=None) -> LinearEmbedding:
    """``basis`` as a :class:`LinearEmbedding` (``basis`` may already be one)."""
    if isinstance(basis, LinearEmbedding):
        if offset is not None:
            raise InputError("give `offset` inside the LinearEmbedding, not both.")
        return basis
    return LinearEmbedding(basis, offset)


def invariance_defect(system: System, basis, z, *, offset=None, params=None) -> np.ndarray:
    """Measure how far the field leaves the subspace: ``|(I - E E^+) f(c + E z)|`` (Euclidean).

    Zero (to rounding) at every ``z`` exactly when the subspace is invariant under the flow.

    Parameters
    ----------
    system : System
        The field on ``R^n``.
    basis : array_like (n, m) or LinearEmbedding
        The subspace.
    z : array_like, shape (..., m)
        Points of the subspace in its coordinates.
    offset : array_like, optional
        The point ``c``.
    params : mapping, optional
        Parameter overrides.

    Returns
    -------
    numpy.ndarray
        The defects, shape ``(...)``.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> float(invariance_defect(double_well(), [[1.0], [0.0]], [0.5]))
    0.0
    """
    emb = as_embedding(basis, offset)
    z = as_state_batch(z, emb.m, name="z")
    return np.linalg.norm(emb.normal_part(system.f(emb.lift(z), params)), axis=-1)


def fixed_point_subspace(maps, *, rtol: float | None = None) -> np.ndarray:
    """An orthonormal basis of ``{x : P x = x for every P in maps}``.

    For a group it suffices to pass generators. The basis is the null space of the stacked
    ``P - I`` (:func:`scipy.linalg.null_space`).

    Parameters
    ----------
    maps : array_like (k, n, n) or iterable of (n, n) arrays
        Linear maps, e.g. ``group.as_matrix(g)`` for the elements ``g`` of a subgroup.
    rtol : float, optional
        Relative singular-value threshold, passed to ``null_space``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, r)``, orthonormal columns; ``r = 0`` when only the origin is fixed.

    Raises
    ------
    ValueError
        If ``maps`` is empty or not a stack of square matrices of one size.

    Examples
    --------
    >>> swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> basis = fixed_point_subspace([swap])
    >>> np.allclose(np.abs(basis), np.sqrt(0.5))
    True
    """
    if isinstance(maps, np.ndarray):
        maps = maps[None] if maps.ndim == 2 else maps
    mats = [np.asarray(m, dtype=float) for m in maps]
    if not mats:
        raise InputError("`maps` is empty; give at least one (n, n) matrix.")
    n = mats[0].shape[-1]
    for m in mats:
        if m.shape != (n, n):
            raise InputError(
                f"`maps` must hold square matrices of one size ({n}, {n}); got {m.shape}."
            )
    stacked = np.concatenate([m - np.eye(n) for m in mats], axis=0)
    return scipy.linalg.null_space(stacked, rcond=rtol)
