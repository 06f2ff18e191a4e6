"""A subgroup of a symmetry group given by generators (:class:`Subgroup`), the orbits of the
state coordinates under it, and its fixed-point subspace ``Fix(H)`` in orbit coordinates.

For a group of plain permutations of the coordinates, ``Fix(H)`` is spanned by the indicator
vectors of the orbits of the coordinates: a state is fixed exactly when it is constant on each
orbit. So the coordinates of ``Fix(H)`` are the common values on the orbits (``orthonormal=False``)
or those values times ``sqrt(orbit size)`` (``orthonormal=True``, an orthonormal basis). For
groups that change signs the basis is the null space of the stacked ``P - I``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._group import StateGroup
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError
from ._permutations import scaled_tol
from ._subspace import LinearEmbedding

__all__ = [
    "Subgroup",
    "as_subgroup",
    "coordinate_orbits",
    "fixed_subspace_embedding",
    "signed_coordinate_orbits",
]


@dataclass(frozen=True, eq=False)
class Subgroup:
    """A subgroup of a :class:`StateGroup`, given by generators.

    Attributes
    ----------
    group : StateGroup
        The ambient group; ``generators`` are its elements (index arrays of length ``group.n``).
    generators : numpy.ndarray
        Integer array ``(m, n)``; ``m = 0`` for the trivial group.
    order : int
        Number of elements.
    name : str
        A readable name: ``"1"`` (trivial), ``"S_5 x S_1"`` (unit permutations: the symmetric
        groups on the classes of identical units), ``"Δ(S_5 x S_1)"`` (pairs ``(sigma,
        phi(sigma))`` of unit and input permutations, ``sigma`` in the Young subgroup and
        ``phi`` an isomorphism onto the input side; for ``W`` in the fixed-point subspace of the
        diagonal ``sigma = tau`` it is that diagonal), with factors ``S_a[units]`` and
        ``S_b[inputs]`` for identical units and identical inputs that move alone, or an explicit
        description (``"order 4: unit orbits 2+2, input orbits 2+1+1"``).
    unit_orbits, input_orbits : tuple of tuple of int
        Orbits of the hidden units and of the inputs (network groups; empty otherwise).

    Examples
    --------
    >>> from dynsys.symmetry import UnitInputSymmetry, young_subgroup
    >>> H = young_subgroup(UnitInputSymmetry(3, 3), (2, 1))
    >>> H.name, H.order, H.fixed_subspace().m
    ('Δ(S_2 x S_1)', 2, 5)
    """

    group: StateGroup
    generators: np.ndarray
    order: int
    name: str
    unit_orbits: tuple[tuple[int, ...], ...] = field(default=())
    input_orbits: tuple[tuple[int, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        gens = np.asarray(self.generators, dtype=np.int64).reshape(-1, self.group.n)
        gens.setflags(write=False)
        object.__setattr__(self, "generators", gens)

    def __repr__(self) -> str:
        return (
            f"Subgroup({self.name!r}, order={self.order}, {len(self.generators)} generators of "
            f"{type(self.group).__name__})"
        )

    def matrices(self) -> np.ndarray:
        """The generators as signed permutation matrices ``(m, n, n)``."""
        return self.group.as_matrix(self.generators)

    def fixes(self, x, tol: float | None = None) -> bool:
        """Whether every generator maps the state ``x`` within ``tol * max(1, |x|_inf)`` of
        itself (``tol``: the group's default)."""
        x = as_state_batch(x, self.group.n)
        radius = float(scaled_tol(x, self.group.tol if tol is None else tol))
        images = self.group.act(self.generators, x)
        return bool(np.all(np.linalg.norm(images - x, axis=-1) <= radius))

    def elements(self, max_order: int = 100_000) -> np.ndarray:
        """All elements ``(order, n)`` (identity first), by closure of the generators.

        Raises
        ------
        dynsys.errors.InputError
            If the order exceeds ``max_order``.
        """
        if self.order > max_order:
            raise InputError(
                f"the subgroup has {self.order} elements, more than max_order = {max_order}; "
                "work with its generators, or raise max_order."
            )
        known = {tuple(self.group.identity.tolist())}
        out = [self.group.identity]
        frontier = [self.group.identity]
        while frontier:
            fresh = []
            for g in frontier:
                for h in self.generators:
                    c = self.group.compose(h, g)
                    key = tuple(c.tolist())
                    if key not in known:
                        known.add(key)
                        out.append(c)
                        fresh.append(c)
            frontier = fresh
        return np.stack(out)

    def coordinate_orbits(self) -> list[np.ndarray]:
        """The orbits of the state coordinates under the subgroup (signs ignored), each sorted,
        ordered by their smallest coordinate."""
        return coordinate_orbits(self.generators, self.group.n)

    def fixed_subspace(self, *, orthonormal: bool = True):
        """The fixed-point subspace ``Fix(H)`` as a :class:`LinearEmbedding` (see
        :func:`dynsys.symmetry.fixed_subspace_embedding`)."""
        return fixed_subspace_embedding(self, orthonormal=orthonormal)


# ---------------------------------------------------------------------------- helpers
def coordinate_orbits(generators: np.ndarray, n: int) -> list[np.ndarray]:
    """Orbits of ``0..n-1`` under index maps ``i -> |g[i]|`` (union-find)."""
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for g in np.asarray(generators).reshape(-1, n):
        index = np.where(g < 0, ~g, g)
        for i, j in enumerate(index.tolist()):
            a, b = find(i), find(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = np.array([find(i) for i in range(n)])
    return [np.flatnonzero(roots == r) for r in np.unique(roots)]


def as_subgroup(subgroup, generators, *, system=None) -> Subgroup:
    """``subgroup`` as a :class:`Subgroup` (a StateGroup needs ``generators``); with ``system``,
    checked to act on that system's states."""
    H = _as_subgroup(subgroup, generators)
    if system is not None and H.group.n != system.n:
        raise InputError(
            f"the subgroup acts on states of length {H.group.n}; system '{system.name}' has "
            f"n = {system.n}."
        )
    return H


def _as_subgroup(subgroup, generators) -> Subgroup:
    if isinstance(subgroup, Subgroup):
        if generators is not None:
            raise InputError("give `generators` only with a StateGroup, not with a Subgroup.")
        return subgroup
    if isinstance(subgroup, StateGroup):
        if generators is None:
            raise InputError(
                "`generators` is required with a StateGroup: the elements (m, n) generating the "
                "subgroup H, e.g. isotropy(group, x).generators."
            )
        gens = subgroup._element(np.asarray(generators).reshape(-1, subgroup.n), "generators")
        return Subgroup(subgroup, gens, 0, "given")
    raise InputTypeError(
        "`subgroup` must be a dynsys.symmetry.Subgroup (from isotropy() or young_subgroup()) or "
        f"a StateGroup with `generators`; got {type(subgroup).__name__}."
    )


def fixed_subspace_embedding(subgroup, generators=None, *, orthonormal: bool = True):
    """The fixed-point subspace ``Fix(H) = {x : h.x = x for all h in H}`` as an embedding.

    Parameters
    ----------
    subgroup : Subgroup or StateGroup
        ``H`` (e.g. :func:`isotropy` or :func:`young_subgroup`), or its ambient group with
        ``generators``.
    generators : array_like of int, shape (m, n), optional
        Elements generating ``H`` (only with a StateGroup).
    orthonormal : bool
        Columns ``1_O / sqrt(|O|)`` (orthonormal) or ``1_O`` (coordinates are the common values
        on the orbits ``O`` of the coordinates), in the order of the orbits' smallest
        coordinate. Groups that change signs always get an orthonormal null-space basis.

    Returns
    -------
    LinearEmbedding
        ``z -> E z``, ``E`` of shape ``(n, dim Fix(H))``.

    Raises
    ------
    dynsys.errors.InputError
        If only the origin is fixed, or the arguments do not fit together.

    Examples
    --------
    >>> from dynsys.symmetry import UnitInputSymmetry, young_subgroup
    >>> emb = fixed_subspace_embedding(young_subgroup(UnitInputSymmetry(3, 3), (3,)),
    ...                                orthonormal=False)
    >>> emb.lift([1.0, 0.2]).reshape(3, 3).tolist()
    [[1.0, 0.2, 0.2], [0.2, 1.0, 0.2], [0.2, 0.2, 1.0]]
    """
    H = as_subgroup(subgroup, generators)
    n = H.group.n
    if len(H.generators) == 0:
        return LinearEmbedding(np.eye(n))
    orbits, signs = signed_coordinate_orbits(H.generators, n)
    if not orbits:
        raise InputError("the subgroup fixes only the origin: Fix(H) = {0}.")
    E = np.zeros((n, len(orbits)))
    for j, orbit in enumerate(orbits):
        scale = 1.0 / np.sqrt(len(orbit)) if orthonormal else 1.0
        E[orbit, j] = signs[orbit] * scale
    return LinearEmbedding(E)


def signed_coordinate_orbits(generators: np.ndarray, n: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The orbits of the coordinates that ``Fix(H)`` does not force to zero, and the relative
    signs: ``x`` is fixed exactly when ``x[i] = signs[i] * c_O`` on each orbit ``O`` and ``x = 0``
    on the other coordinates (those forced to equal their own negative).

    Union-find with parity: ``g[i] = j`` says ``x[i] = x[j]``, ``g[i] = ~j`` says ``x[i] = -x[j]``.
    The basis built from it is exact (entries ``+-c``), so lifting keeps the coordinates of an
    orbit equal (up to sign) bit for bit.
    """
    parent = np.arange(n)
    parity = np.zeros(n, dtype=np.int64)  # sign of i relative to its parent: 0 (+) or 1 (-)

    def find(i: int) -> tuple[int, int]:
        p = 0
        while parent[i] != i:
            p ^= int(parity[i])
            i = int(parent[i])
        return i, p

    zero_roots: set[int] = set()
    for g in np.asarray(generators, dtype=np.int64).reshape(-1, n):
        for i, gi in enumerate(g.tolist()):
            j, flip = (~gi, 1) if gi < 0 else (gi, 0)
            (a, pa), (b, pb) = find(i), find(j)
            if a == b:
                if pa ^ pb ^ flip:
                    zero_roots.add(a)
                continue
            lo, hi = min(a, b), max(a, b)
            parent[hi] = lo
            parity[hi] = pa ^ pb ^ flip
            if hi in zero_roots:
                zero_roots.discard(hi)
                zero_roots.add(lo)
    roots, signs = np.zeros(n, dtype=np.int64), np.ones(n)
    for i in range(n):
        r, p = find(i)
        roots[i], signs[i] = r, -1.0 if p else 1.0
    orbits = [np.flatnonzero(roots == r) for r in np.unique(roots) if int(r) not in zero_roots]
    return orbits, signs
