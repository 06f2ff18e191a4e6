"""Groups of hidden-unit (and input) permutations acting on network states."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from ._layout import UnitLayout, counts_array
from ._permutations import column_search, hungarian, scaled_tol, tolerant_lex_order

__all__ = ["PermutationSymmetry", "UnitInputSymmetry"]


class PermutationSymmetry(UnitLayout):
    """The permutations of the ``K`` hidden units of a network, acting on its states.

    Parameters
    ----------
    K, d : int
        Number of hidden units and of inputs; the state starts with the flattened ``(K, d)``
        weight matrix.
    extra_per_unit : int
        Number of blocks of ``K`` per-unit numbers after ``W`` (1 when the second-layer weights
        ``a`` are part of the state); they permute with their units.
    tol : float
        Default relative tolerance.

    Notes
    -----
    ``canonical`` sorts the units lexicographically, comparing coordinates through their tolerant
    ranks: within one coordinate, values joined by gaps ``<= tol * max(1, |x|_inf)`` form one
    cluster and compare equal, so that noise below the tolerance does not reorder units whose
    leading coordinates nearly tie; exact values break the remaining ties. It is exact for
    permuted copies (``canonical(g.x) == canonical(x)`` bit for bit) and robust to noise much
    smaller than ``tol`` when distinct values differ by much more. ``match`` and ``distance`` do
    not sort: they solve the assignment problem (Hungarian method, ``O(K^3)``) and are exact.

    Examples
    --------
    >>> group = PermutationSymmetry(3, 2)
    >>> x = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]]).ravel()
    >>> group.canonical(x).reshape(3, 2).tolist()
    [[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]
    >>> matched, g = group.match(x, group.act(group.element([2, 0, 1]), x))
    >>> bool(matched), group.unit_permutation(g).tolist()
    (True, [2, 0, 1])
    """

    @property
    def order(self) -> int:
        """``K!``."""
        return math.factorial(self._K)

    def element(self, unit_perm) -> np.ndarray:
        """The group element that puts unit ``unit_perm[i]`` in slot ``i``; ``(..., K) ->
        (..., n)``."""
        p = self._as_perm(unit_perm, self._K, "unit_perm")
        identity = np.broadcast_to(np.arange(self._d), (*p.shape[:-1], self._d))
        return self._compose_element(p, identity)

    def unit_permutation(self, g) -> np.ndarray:
        """The unit permutation of elements ``g (..., n) -> (..., K)`` (inverse of ``element``)."""
        return self._element(g)[..., : self._K * self._d : self._d] // self._d

    def elements(self) -> Iterator[np.ndarray]:
        """Iterate lazily over the ``K!`` elements."""
        for p in itertools.permutations(range(self._K)):
            yield self.element(np.array(p))

    def canonicalize(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Sort the units of states ``x (..., n)`` (tolerant lexicographic order, see Notes);
        return the sorted states and the elements ``g`` with ``act(g, x)`` equal to them."""
        x = self._state(x)
        order, _ = tolerant_lex_order(self.units(x), scaled_tol(x, self._tol))
        g = self.element(order)
        return self.act(g, x), g

    def distance(self, x, reference) -> tuple[np.ndarray, np.ndarray]:
        """The Euclidean distance from the orbit of ``x`` to ``reference`` (both ``(..., n)``,
        broadcast) and the closest element ``g``: ``|act(g, x) - reference| = min``."""
        x, ref = self._state(x), self._state(reference, "reference")
        perm, total = hungarian(self.units(x), self.units(ref))
        return np.sqrt(np.maximum(total, 0.0)), self.element(perm)

    def match(self, x, reference, tol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``x`` is within ``tol * max(1, |reference|_inf)`` (Euclidean) of a permutation
        of ``reference``, and the permutation: returns ``(matched (...), g (..., n))`` with
        ``act(g, x)`` closest to ``reference``; ``unit_permutation(g)[i]`` is the unit of ``x``
        matched to unit ``i`` of ``reference``."""
        tol = self._tol_or_default(tol)
        dist, g = self.distance(x, reference)
        ref = np.broadcast_to(self._state(reference, "reference"), g.shape)
        return dist <= scaled_tol(ref, tol), g

    def orbit_size(self, x, tol: float | None = None) -> int | np.ndarray:
        """``K!`` divided by the stabiliser size ``prod_c m_c!``, ``m_c`` the sizes of the classes
        of units equal within tolerance. An int for one state, an array ``(...)`` for a batch."""
        x = self._state(x)
        classes = self._row_classes(self.units(x), scaled_tol(x, self._tol_or_default(tol)))
        total = self.order
        values = [total // math.prod(math.factorial(m) for m in sizes) for sizes in classes]
        return counts_array(values, x.shape[:-1])


class UnitInputSymmetry(UnitLayout):
    """Permutations of hidden units composed with permutations of input coordinates.

    The element ``(sigma, tau)`` maps ``W`` to ``P_sigma W P_tau^T`` (unit ``sigma[i]`` to slot
    ``i``, input ``tau[c]`` to column ``c``); per-unit extras follow ``sigma``. For Gaussian inputs
    ``L(W Q; W*) = L(W; W* Q^T)``, so when the teacher is a permutation matrix (the identity of
    Tian's Theorem 7) every pair is a symmetry of the loss: ``K! d!`` elements.

    Parameters
    ----------
    K, d, extra_per_unit, tol
        As for :class:`PermutationSymmetry`.

    Notes
    -----
    ``canonical`` is a heuristic: rows and columns are sorted alternately (tolerant lexicographic
    order), each time by their permutation-invariant multiset of entries first and their content
    in the current order of the other axis second, until nothing moves (at most ``K + d + 2``
    rounds). When the columns have pairwise distinct multisets of entries the result is a true
    canonical form; when several columns share one (as for permutation matrices) it usually is
    but not always, so decide orbit equality with ``match``, not by comparing canonical forms.

    ``match`` is exact: a depth-first search over input permutations ``tau`` that assigns the
    columns of ``reference`` one at a time and prunes with exact lower bounds (the optimal unit
    assignment over the columns assigned so far, by the Hungarian method, and the sorted 1-D
    distance of two columns). Generic states prune at once (about ``d^2`` assignment problems of
    size ``K``); the worst case is ``d!`` leaves. ``orbit_size`` finds the input permutations of
    the stabiliser by a chain of point stabilisers (orbit-stabiliser theorem), ``d^2`` such
    searches at most, and needs no enumeration of the group.

    Examples
    --------
    >>> group = UnitInputSymmetry(2, 2)
    >>> teacher = np.eye(2).ravel()
    >>> swapped_inputs = group.act(group.element([0, 1], [1, 0]), teacher)
    >>> swapped_inputs.reshape(2, 2).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> bool(group.match(swapped_inputs, teacher)[0]), group.orbit_size(teacher)
    (True, 2)
    """

    @property
    def order(self) -> int:
        """``K! d!``."""
        return math.factorial(self._K) * math.factorial(self._d)

    def element(self, unit_perm, input_perm) -> np.ndarray:
        """The element ``W -> P_sigma W P_tau^T`` for ``sigma = unit_perm (..., K)`` and
        ``tau = input_perm (..., d)``, as an index array ``(..., n)``."""
        p = self._as_perm(unit_perm, self._K, "unit_perm")
        q = self._as_perm(input_perm, self._d, "input_perm")
        batch = np.broadcast_shapes(p.shape[:-1], q.shape[:-1])
        p = np.broadcast_to(p, (*batch, self._K))
        q = np.broadcast_to(q, (*batch, self._d))
        return self._compose_element(p, q)

    def decompose(self, g) -> tuple[np.ndarray, np.ndarray]:
        """``(unit_perm, input_perm)`` of elements ``g (..., n)`` (inverse of ``element``)."""
        g = self._element(g)
        d = self._d
        return g[..., : self._K * d : d] // d, g[..., :d] % d

    def elements(self) -> Iterator[np.ndarray]:
        """Iterate lazily over the ``K! d!`` elements."""
        for p in itertools.permutations(range(self._K)):
            for q in itertools.permutations(range(self._d)):
                yield self.element(np.array(p), np.array(q))

    def canonicalize(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Heuristic canonical forms of states ``x (..., n)`` (see Notes) and the elements ``g``
        with ``act(g, x)`` equal to them."""
        x = self._state(x)
        tol = scaled_tol(x, self._tol)
        w, extra = self._split(x)
        batch, k, d = w.shape[:-2], self._K, self._d
        rows = np.broadcast_to(np.arange(k), (*batch, k)).copy()
        cols = np.broadcast_to(np.arange(d), (*batch, d)).copy()
        row_multiset = np.concatenate([np.sort(w, axis=-1), extra], axis=-1)  # (..., K, d + e)
        col_multiset = np.swapaxes(np.sort(w, axis=-2), -1, -2)  # (..., d, K)
        for _ in range(k + d + 2):
            current = np.take_along_axis(w, rows[..., :, None], axis=-2)
            current = np.take_along_axis(current, cols[..., None, :], axis=-1)
            col_keys = np.concatenate(
                [
                    np.take_along_axis(col_multiset, cols[..., :, None], axis=-2),
                    np.swapaxes(current, -1, -2),
                ],
                axis=-1,
            )
            col_order, _ = tolerant_lex_order(col_keys, tol)
            cols = np.take_along_axis(cols, col_order, axis=-1)
            current = np.take_along_axis(current, col_order[..., None, :], axis=-1)
            row_keys = np.concatenate(
                [np.take_along_axis(row_multiset, rows[..., :, None], axis=-2), current], axis=-1
            )
            row_order, _ = tolerant_lex_order(row_keys, tol)
            rows = np.take_along_axis(rows, row_order, axis=-1)
            if np.array_equal(col_order, np.broadcast_to(np.arange(d), col_order.shape)) and (
                np.array_equal(row_order, np.broadcast_to(np.arange(k), row_order.shape))
            ):
                break
        g = self.element(rows, cols)
        return self.act(g, x), g

    def _search(self, x, ref, bound2: float, prefix=()):
        w, extra = self._split(x)
        w_ref, extra_ref = self._split(ref)
        return column_search(w, extra, w_ref, extra_ref, bound2, prefix=prefix)

    def match(
        self, x, reference, tol: float | None = None, *, closest: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whether ``x`` is within ``tol * max(1, |reference|_inf)`` (Euclidean) of the orbit of
        ``reference``, and the closest element ``g`` (``act(g, x)`` closest to ``reference``;
        ``decompose(g)`` gives the unit and input permutations). Unmatched items get the
        identity. Exact (branch and bound, see Notes). ``closest=False`` stops at the first
        element within the tolerance: the same yes or no, without the search for the closest,
        which for states with a large stabiliser (a permutation matrix) visits every one of
        the ``d!`` input permutations that fit."""
        tol = self._tol_or_default(tol)
        x, ref = np.broadcast_arrays(self._state(x), self._state(reference, "reference"))
        flat_x, flat_ref = x.reshape(-1, self._n), ref.reshape(-1, self._n)
        matched = np.zeros(len(flat_x), dtype=bool)
        g = np.broadcast_to(self.identity, flat_x.shape).copy()
        bounds = scaled_tol(flat_ref, tol) ** 2
        for i, (xi, ri) in enumerate(zip(flat_x, flat_ref, strict=True)):
            best = None
            for tau, _ in self._search(xi, ri, bounds[i]):
                best = tau
                if not closest:
                    break
            if best is None:
                continue
            permuted = self.act(self.element(np.arange(self._K), best), xi)
            perm, _ = hungarian(self.units(permuted), self.units(ri))
            matched[i] = True
            g[i] = self.element(perm, best)
        return matched.reshape(x.shape[:-1]), g.reshape(x.shape)

    def _input_stabiliser_order(self, x: np.ndarray, bound2: float) -> int:
        """Order of the group of input permutations ``tau`` for which some unit permutation maps
        ``x`` to itself: the product over ``k`` of the orbit of input ``k`` under the permutations
        fixing inputs ``0..k-1``."""
        total = 1
        for level in range(self._d - 1):
            fixed = tuple(range(level))
            orbit = sum(
                next(self._search(x, x, bound2, (*fixed, c)), None) is not None
                for c in range(level, self._d)
            )
            total *= orbit
        return total

    def orbit_size(self, x, tol: float | None = None) -> int | np.ndarray:
        """``K! d!`` divided by the stabiliser size (pairs mapping ``x`` within tolerance of
        itself). An int for one state, an array ``(...)`` for a batch."""
        x = self._state(x)
        tol = self._tol_or_default(tol)
        flat = x.reshape(-1, self._n)
        scale = scaled_tol(flat, tol)
        classes = self._row_classes(self.units(flat), scale)
        values = []
        for xi, si, sizes in zip(flat, scale, classes, strict=True):
            kernel = math.prod(math.factorial(m) for m in sizes)
            values.append(self.order // (kernel * self._input_stabiliser_order(xi, si**2)))
        return counts_array(values, x.shape[:-1])
