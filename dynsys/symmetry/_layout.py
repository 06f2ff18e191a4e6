"""The layout of network states as units, shared by the groups of hidden-unit and input
permutations (see :mod:`dynsys.symmetry`)."""

from __future__ import annotations

import numpy as np

from .._group import StateGroup
from .._validate import check_count
from ..errors import InputError
from ._permutations import tolerant_lex_order

__all__ = ["UnitLayout", "counts_array"]


def counts_array(values: list[int], shape: tuple[int, ...]) -> int | np.ndarray:
    if not shape:
        return int(values[0])
    dtype = np.int64 if max(values, default=0) < 2**63 else object
    return np.array(values, dtype=dtype).reshape(shape)


class UnitLayout(StateGroup):
    """Base of groups on network states: ``K`` units, each with ``d`` weights and
    ``extra_per_unit`` per-unit numbers (layout in :mod:`dynsys.symmetry`)."""

    def __init__(self, K: int, d: int, *, extra_per_unit: int = 0, tol: float = 1e-6) -> None:
        self._K = check_count(K, "K", 1)
        self._d = check_count(d, "d", 1)
        self._extra = check_count(extra_per_unit, "extra_per_unit", 0)
        super().__init__(self._K * (self._d + self._extra), tol)

    @property
    def K(self) -> int:
        """Number of hidden units."""
        return self._K

    @property
    def d(self) -> int:
        """Number of inputs (weights per unit)."""
        return self._d

    @property
    def extra_per_unit(self) -> int:
        """Number of per-unit numbers after ``W`` (e.g. 1 for trainable second-layer weights)."""
        return self._extra

    def units(self, x) -> np.ndarray:
        """The units of states ``x (..., n)`` as rows ``(..., K, d + extra_per_unit)``: weight
        vector, then that unit's extra numbers."""
        x = np.asarray(x, dtype=float)
        k, d = self._K, self._d
        w = x[..., : k * d].reshape(*x.shape[:-1], k, d)
        extra = x[..., k * d :].reshape(*x.shape[:-1], self._extra, k)
        return np.concatenate([w, np.swapaxes(extra, -1, -2)], axis=-1)

    def _split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self.units(x)
        return u[..., : self._d], u[..., self._d :]

    def _compose_element(self, unit_perm: np.ndarray, input_perm: np.ndarray) -> np.ndarray:
        k, d = self._K, self._d
        w_part = unit_perm[..., :, None] * d + input_perm[..., None, :]  # (..., K, d)
        blocks = [w_part.reshape(*w_part.shape[:-2], k * d)]
        blocks += [k * d + b * k + unit_perm for b in range(self._extra)]
        return np.concatenate(blocks, axis=-1)

    def _as_perm(self, p, size: int, name: str) -> np.ndarray:
        p = np.asarray(p)
        if (
            p.ndim == 0
            or p.shape[-1] != size
            or not np.issubdtype(p.dtype, np.integer)
            or not np.array_equal(np.sort(p, axis=-1), np.broadcast_to(np.arange(size), p.shape))
        ):
            raise InputError(
                f"`{name}` must be a permutation of 0..{size - 1} (shape (..., {size})); got "
                f"{p.tolist() if p.size <= 20 else p.shape}."
            )
        return p

    def _row_classes(self, units: np.ndarray, tol: np.ndarray) -> list[list[int]]:
        """Per item, the sizes of the classes of units equal within ``tol`` (equal tolerant ranks
        in every column)."""
        ranks = tolerant_lex_order(units, tol)[1].reshape(-1, *units.shape[-2:])
        sizes = []
        for r in ranks:
            _, counts = np.unique(r, axis=0, return_counts=True)
            sizes.append(counts.tolist())
        return sizes
