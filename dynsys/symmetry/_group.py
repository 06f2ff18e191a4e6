"""The common machinery of symmetry groups that permute state coordinates (see
:mod:`dynsys.symmetry`): acting, composing, inverting, permutation matrices, and the layout of
network states as units.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from .._validate import as_state_batch, check_positive
from ._permutations import tolerant_lex_order

__all__ = ["StateGroup", "UnitLayout", "check_count", "counts_array"]


def check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def counts_array(values: list[int], shape: tuple[int, ...]) -> int | np.ndarray:
    if not shape:
        return int(values[0])
    dtype = np.int64 if max(values, default=0) < 2**63 else object
    return np.array(values, dtype=dtype).reshape(shape)


class StateGroup(ABC):
    """A finite group of permutations of the ``n`` state coordinates.

    Subclasses give the group (``order``, ``elements``) and its orbit algorithms (``canonicalize``,
    ``match``, ``orbit_size``); acting, composing and inverting are common.

    Parameters
    ----------
    n : int
        Dimension of the state.
    tol : float
        Default relative tolerance of ``canonical``, ``match`` and ``orbit_size``.
    """

    def __init__(self, n: int, tol: float) -> None:
        self._n = check_count(n, "n", 1)
        self._tol = check_positive(tol, "tol")

    @property
    def n(self) -> int:
        """Dimension of the states the group acts on."""
        return self._n

    @property
    def tol(self) -> float:
        """Default relative tolerance."""
        return self._tol

    @property
    @abstractmethod
    def order(self) -> int:
        """Number of group elements."""

    @abstractmethod
    def elements(self) -> Iterator[np.ndarray]:
        """Iterate lazily over all group elements (index arrays of shape ``(n,)``)."""

    @abstractmethod
    def canonicalize(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Map states ``(..., n)`` to representatives of their orbits; return ``(x_c, g)`` with
        ``x_c = act(g, x)``."""

    @abstractmethod
    def match(self, x, reference, tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``x`` lies within ``tol`` of the orbit of ``reference``; return ``(matched, g)``
        with ``act(g, x)`` close to ``reference``."""

    @abstractmethod
    def orbit_size(self, x, tol: float | None = None) -> int | np.ndarray:
        """Number of distinct states ``g.x`` (states closer than ``tol`` count as one)."""

    # ------------------------------------------------------------------ common operations
    @property
    def identity(self) -> np.ndarray:
        """The identity element, ``arange(n)``."""
        return np.arange(self._n)

    def _state(self, x, name: str = "x") -> np.ndarray:
        return as_state_batch(x, self._n, name=name)

    def _element(self, g, name: str = "g") -> np.ndarray:
        g = np.asarray(g)
        if g.ndim == 0 or g.shape[-1] != self._n or not np.issubdtype(g.dtype, np.integer):
            raise ValueError(
                f"`{name}` must be an integer index array of shape (..., {self._n}); got "
                f"{g.dtype} array of shape {g.shape}."
            )
        return g

    def act(self, g, x) -> np.ndarray:
        """Apply group elements ``g (..., n)`` to states ``x (..., n)`` (broadcast):
        ``(g.x)[k] = x[g[k]]``.

        Examples
        --------
        >>> from dynsys.symmetry import PermutationSymmetry
        >>> group = PermutationSymmetry(2, 2)
        >>> group.act(group.element([1, 0]), [1.0, 2.0, 3.0, 4.0]).tolist()
        [3.0, 4.0, 1.0, 2.0]
        """
        g = self._element(g)
        x = np.asarray(x, dtype=float)
        shape = np.broadcast_shapes(g.shape, x.shape)
        return np.take_along_axis(np.broadcast_to(x, shape), np.broadcast_to(g, shape), axis=-1)

    def compose(self, g, h) -> np.ndarray:
        """The element ``g o h`` (apply ``h`` first): ``act(compose(g, h), x) ==
        act(g, act(h, x))``."""
        g, h = self._element(g), self._element(h, "h")
        shape = np.broadcast_shapes(g.shape, h.shape)
        return np.take_along_axis(np.broadcast_to(h, shape), np.broadcast_to(g, shape), axis=-1)

    def inverse(self, g) -> np.ndarray:
        """The inverse elements of ``g (..., n)``."""
        return np.argsort(self._element(g), axis=-1)

    def as_matrix(self, g) -> np.ndarray:
        """Permutation matrices ``P (..., n, n)`` with ``P @ x == act(g, x)``.

        Examples
        --------
        >>> from dynsys.symmetry import PermutationSymmetry
        >>> PermutationSymmetry(2, 1).as_matrix([1, 0]).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
        """
        g = self._element(g)
        return (g[..., :, None] == np.arange(self._n)).astype(float)

    def canonical(self, x) -> np.ndarray:
        """Canonical representatives ``(..., n)`` of the orbits of states ``x (..., n)``; the
        ``symmetry=`` hook of :func:`dynsys.fixedpoints.find_fixed_points`."""
        return self.canonicalize(x)[0]

    def _tol_or_default(self, tol: float | None) -> float:
        return self._tol if tol is None else check_positive(tol, "tol")


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
            raise ValueError(
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
