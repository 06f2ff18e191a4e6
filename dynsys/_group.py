"""The one symmetry type of dynsys: a finite group of signed permutations of the state
coordinates (:class:`StateGroup`).

A group element ``g`` is an integer array of shape ``(n,)`` (or a batch ``(..., n)``) acting by
``(g.x)[k] = x[g[k]]`` where ``g[k] >= 0`` and ``(g.x)[k] = -x[~g[k]]`` where ``g[k] < 0``
(``~j = -j - 1``): plain permutations of units and inputs have no negative entries, reflections
such as ``x -> -x`` do. Acting, composing, inverting and matrices are the same for every group;
concrete groups (:mod:`dynsys.symmetry`) give their elements and orbit algorithms. Every
algorithm that takes ``symmetry=`` takes a StateGroup.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np

from ._validate import as_state_batch, check_count, check_positive
from .errors import InputError, InputTypeError

__all__ = ["StateGroup", "check_group"]


def _split(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices and signs of elements ``g``."""
    negative = g < 0
    return np.where(negative, ~g, g), np.where(negative, -1.0, 1.0)


def _encode(index: np.ndarray, sign: np.ndarray) -> np.ndarray:
    return np.where(sign < 0, ~index, index)


class StateGroup(ABC):
    """A finite group of signed permutations of the ``n`` state coordinates.

    Subclasses give the group (``order``, ``elements``) and its orbit algorithms (``canonicalize``,
    ``match``, ``orbit_size``); acting, composing and inverting are common.

    Parameters
    ----------
    n : int
        Dimension of the state.
    tol : float
        Default relative tolerance of ``canonical``, ``match`` and ``orbit_size``: states within
        ``tol * max(1, |x|_inf)`` (Euclidean) count as equal.
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
    def changes_signs(self) -> bool:
        """Whether some element flips the sign of a coordinate (False for pure permutations)."""
        return False

    @property
    @abstractmethod
    def order(self) -> int:
        """Number of group elements."""

    @abstractmethod
    def elements(self) -> Iterator[np.ndarray]:
        """Iterate lazily over all group elements (integer arrays of shape ``(n,)``)."""

    @abstractmethod
    def canonicalize(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Map states ``(..., n)`` to representatives of their orbits; return ``(x_c, g)`` with
        ``x_c = act(g, x)``."""

    @abstractmethod
    def match(self, x, reference, tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``x`` lies within ``tol * max(1, |reference|_inf)`` of the orbit of
        ``reference``; return ``(matched, g)`` with ``act(g, x)`` close to ``reference``."""

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
            raise InputError(
                f"`{name}` must be an integer index array of shape (..., {self._n}); got "
                f"{g.dtype} array of shape {g.shape}."
            )
        return g

    def act(self, g, x) -> np.ndarray:
        """Apply group elements ``g (..., n)`` to states ``x (..., n)`` (broadcast).

        Examples
        --------
        >>> from dynsys.symmetry import PermutationSymmetry
        >>> group = PermutationSymmetry(2, 2)
        >>> group.act(group.element([1, 0]), [1.0, 2.0, 3.0, 4.0]).tolist()
        [3.0, 4.0, 1.0, 2.0]
        """
        index, sign = _split(self._element(g))
        x = np.asarray(x, dtype=float)
        shape = np.broadcast_shapes(index.shape, x.shape)
        moved = np.take_along_axis(np.broadcast_to(x, shape), np.broadcast_to(index, shape), -1)
        return moved if not self.changes_signs else moved * np.broadcast_to(sign, shape)

    def compose(self, g, h) -> np.ndarray:
        """The element ``g o h`` (apply ``h`` first): ``act(compose(g, h), x) ==
        act(g, act(h, x))``."""
        gi, gs = _split(self._element(g))
        hi, hs = _split(self._element(h, "h"))
        shape = np.broadcast_shapes(gi.shape, hi.shape)
        gi, gs = np.broadcast_to(gi, shape), np.broadcast_to(gs, shape)
        index = np.take_along_axis(np.broadcast_to(hi, shape), gi, axis=-1)
        sign = gs * np.take_along_axis(np.broadcast_to(hs, shape), gi, axis=-1)
        return _encode(index, sign)

    def inverse(self, g) -> np.ndarray:
        """The inverse elements of ``g (..., n)``."""
        index, sign = _split(self._element(g))
        inverse = np.argsort(index, axis=-1)
        return _encode(inverse, np.take_along_axis(sign, inverse, axis=-1))

    def as_matrix(self, g) -> np.ndarray:
        """Signed permutation matrices ``P (..., n, n)`` with ``P @ x == act(g, x)``.

        Examples
        --------
        >>> from dynsys.symmetry import PermutationSymmetry
        >>> PermutationSymmetry(2, 1).as_matrix([1, 0]).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
        """
        index, sign = _split(self._element(g))
        return (index[..., :, None] == np.arange(self._n)) * sign[..., :, None]

    def canonical(self, x) -> np.ndarray:
        """Canonical representatives ``(..., n)`` of the orbits of states ``x (..., n)``."""
        return self.canonicalize(x)[0]

    def invariant(self, x) -> np.ndarray:
        """A group-invariant key of states ``(..., n)`` whose Euclidean distance bounds the
        distance between orbits from below: the sorted coordinates (their sorted moduli when
        the group flips signs). Matching uses it to skip hopeless pairs."""
        x = np.asarray(x, dtype=float)
        return np.sort(np.abs(x) if self.changes_signs else x, axis=-1)

    def _tol_or_default(self, tol: float | None) -> float:
        return self._tol if tol is None else check_positive(tol, "tol")


def check_group(symmetry, n: int | None) -> StateGroup | None:
    """``symmetry`` if it is None or a :class:`StateGroup` acting on states of length ``n``
    (any length when ``n`` is None).

    Raises
    ------
    InputTypeError
        If it is not a StateGroup.
    InputError
        If it acts on states of another length.
    """
    if symmetry is None:
        return None
    if not isinstance(symmetry, StateGroup):
        raise InputTypeError(
            "`symmetry` must be a dynsys.symmetry.StateGroup (PermutationSymmetry, "
            "UnitInputSymmetry, ExplicitGroup, ...); got "
            f"{type(symmetry).__name__}. A group given by a few generators is "
            "ExplicitGroup(generators)."
        )
    if n is not None and symmetry.n != n:
        raise InputError(
            f"`symmetry` acts on states of length {symmetry.n}; the system has {n} states."
        )
    return symmetry
