"""Isotropy subgroups: the elements of a symmetry group that fix a given state, as a
:class:`Subgroup` (order, a small generating set, a readable name).

For :class:`PermutationSymmetry` the isotropy of ``W`` is the product of the symmetric groups on
the classes of identical units. For :class:`UnitInputSymmetry` it is the set of pairs
``(sigma, tau)`` with ``P_sigma W P_tau^T = W`` (and the per-unit extras fixed by ``sigma``),
found exactly by a stabiliser chain over the inputs: level ``l`` is the group of elements that
fix inputs ``0..l-1``; the orbit of input ``l`` under it is found by the exact branch-and-bound
search of :class:`UnitInputSymmetry` (one search per candidate image), each orbit point with a
witness element; the bottom of the chain (elements fixing every input) is the product of the
symmetric groups on the classes of identical units. The order is the product of the orbit sizes
and the bottom's order (orbit-stabiliser theorem), and a strong generating set is picked from the
witnesses greedily from the bottom level up, one witness at a time until the generated orbit of
each base point is the whole orbit (``O(K + d)`` generators). Any other :class:`StateGroup` is
handled by brute force over its elements.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._group import StateGroup, check_group
from .._validate import as_state_batch
from ..errors import InputError
from ._networks import PermutationSymmetry, UnitInputSymmetry
from ._permutations import hungarian, scaled_tol, tolerant_ranks
from ._subgroup import Subgroup, coordinate_orbits

__all__ = ["isotropy", "isotropy_variables", "young_subgroup"]

_MAX_BRUTE_FORCE = 200_000  # elements enumerated for groups without structure


def _point_orbits(perms: list[np.ndarray], size: int) -> list[tuple[int, ...]]:
    return (
        [tuple(int(i) for i in o) for o in coordinate_orbits(np.array(perms), size)]
        if perms
        else [(i,) for i in range(size)]
    )


def _orbit_of(point: int, perms: list[np.ndarray]) -> set[int]:
    seen, frontier = {point}, [point]
    while frontier:
        fresh = []
        for i in frontier:
            for p in perms:
                j = int(p[i])
                if j not in seen:
                    seen.add(j)
                    fresh.append(j)
        frontier = fresh
    return seen


def _classes(rows: np.ndarray, tol: float) -> list[list[int]]:
    """Classes of identical rows ``(N, m)`` (equal tolerant ranks in every column), each sorted,
    ordered by their first member."""
    if rows.shape[1] == 0:
        return [list(range(rows.shape[0]))]
    ranks = np.stack([tolerant_ranks(rows[:, c], np.asarray(tol)) for c in range(rows.shape[1])], 1)
    _, label = np.unique(ranks, axis=0, return_inverse=True)
    label = np.asarray(label).reshape(-1)
    out = [np.flatnonzero(label == v).tolist() for v in np.unique(label)]
    return sorted(out, key=lambda c: c[0])


def _symmetric_generators(members: list[int], size: int) -> list[np.ndarray]:
    """A transposition and a cycle generating the symmetric group on ``members`` (as
    permutations of ``0..size-1``)."""
    out = []
    if len(members) >= 2:
        p = np.arange(size)
        p[[members[0], members[1]]] = p[[members[1], members[0]]]
        out.append(p)
    if len(members) >= 3:
        p = np.arange(size)
        p[members] = np.roll(members, -1)
        out.append(p)
    return out


def _young_name(sizes, suffix: str = "") -> str:
    sizes = sorted(sizes, reverse=True)
    return " x ".join(f"S_{m}{suffix}" for m in sizes)


def _order_of(sizes) -> int:
    return math.prod(math.factorial(m) for m in sizes)


# ---------------------------------------------------------------------------- unit permutations
def _unit_isotropy(group: PermutationSymmetry, x: np.ndarray, tol: float) -> Subgroup:
    units = group.units(x)
    classes = _classes(units, float(scaled_tol(x, tol)))
    perms = [p for c in classes for p in _symmetric_generators(c, group.K)]
    sizes = [len(c) for c in classes]
    order = _order_of(sizes)
    name = "1" if order == 1 else _young_name(sizes)
    gens = np.array([group.element(p) for p in perms], dtype=np.int64).reshape(-1, group.n)
    orbits = tuple(tuple(c) for c in classes)
    return Subgroup(group, gens, order, name, orbits, ())


# ---------------------------------------------------------------------------- units and inputs
def _unit_input_isotropy(group: UnitInputSymmetry, x: np.ndarray, tol: float) -> Subgroup:
    K, d = group.K, group.d
    radius = float(scaled_tol(x, tol))
    units = group.units(x)
    w = units[:, :d]
    row_classes = _classes(units, radius)  # the bottom of the chain: sigma alone
    col_classes = _classes(w.T, radius)  # tau alone (for the name)
    bottom = [(p, np.arange(d)) for c in row_classes for p in _symmetric_generators(c, K)]

    def witness(level: int, c: int):
        found = next(group._search(x, x, radius**2, (*range(level), c)), None)
        if found is None:
            return None
        tau = found[0]
        permuted = group.act(group.element(np.arange(K), tau), x)
        sigma, _ = hungarian(group.units(permuted), units)
        return sigma, tau

    # orbits of the base points, with witnesses, from the top level down
    levels = []
    for level in range(d - 1):
        found = {level: None}
        for c in range(level + 1, d):
            pair = witness(level, c)
            if pair is not None:
                found[c] = pair
        levels.append(found)
    order = _order_of(len(c) for c in row_classes) * math.prod(len(f) for f in levels)

    # a strong generating set, greedily from the bottom up
    chosen = list(bottom)
    for level in reversed(range(d - 1)):
        target = set(levels[level])
        while True:
            reached = _orbit_of(level, [tau for _, tau in chosen])
            missing = sorted(target - reached)
            if not missing:
                break
            chosen.append(levels[level][missing[0]])
    gens = np.array([group.element(s, t) for s, t in chosen], dtype=np.int64).reshape(-1, group.n)
    unit_orbits = _point_orbits([s for s, _ in chosen], K)
    input_orbits = _point_orbits([t for _, t in chosen], d)
    name = _unit_input_name(order, row_classes, col_classes, unit_orbits, input_orbits)
    return Subgroup(group, gens, order, name, tuple(unit_orbits), tuple(input_orbits))


def _unit_input_name(order, row_classes, col_classes, unit_orbits, input_orbits) -> str:
    """Name the group as ``Δ(Young) x S[units] x S[inputs]`` when its order and orbits say it is
    one; otherwise describe it (see :class:`Subgroup`)."""
    if order == 1:
        return "1"
    rows = [tuple(c) for c in row_classes if len(c) > 1]
    cols = [tuple(c) for c in col_classes if len(c) > 1]
    unit_set, input_set = set(unit_orbits), set(input_orbits)
    if set(rows) <= unit_set and set(cols) <= input_set:
        diag_units = [len(o) for o in unit_orbits if o not in set(rows)]
        diag_inputs = [len(o) for o in input_orbits if o not in set(cols)]
        big_u = sorted((m for m in diag_units if m > 1), reverse=True)
        big_i = sorted((m for m in diag_inputs if m > 1), reverse=True)
        expected = _order_of(len(r) for r in rows) * _order_of(len(c) for c in cols)
        expected *= _order_of(big_u)
        if big_u == big_i and expected == order:
            parts = [f"Δ({_young_name(diag_units)})"] if big_u else []
            if rows:
                parts.append(_young_name([len(r) for r in rows], "[units]"))
            if cols:
                parts.append(_young_name([len(c) for c in cols], "[inputs]"))
            return " x ".join(parts)

    def plus(orbits):
        return "+".join(str(m) for m in sorted((len(o) for o in orbits), reverse=True))

    return f"order {order}: unit orbits {plus(unit_orbits)}, input orbits {plus(input_orbits)}"


# ---------------------------------------------------------------------------- any group
def _brute_force_isotropy(group: StateGroup, x: np.ndarray, tol: float) -> Subgroup:
    if group.order > _MAX_BRUTE_FORCE:
        raise InputError(
            f"isotropy() enumerates the elements of a {type(group).__name__}; it has "
            f"{group.order} > {_MAX_BRUTE_FORCE}. Use a group with structure "
            "(PermutationSymmetry, UnitInputSymmetry) or a smaller group."
        )
    radius = float(scaled_tol(x, tol))
    stab = [g for g in group.elements() if np.linalg.norm(group.act(g, x) - x) <= radius]
    order = len(stab)
    # greedy generating set: add an element when it is not yet generated
    gens: list[np.ndarray] = []
    generated = {tuple(group.identity.tolist())}
    for g in stab:
        if tuple(g.tolist()) in generated:
            continue
        gens.append(g)
        generated = {tuple(e.tolist()) for e in Subgroup(group, np.array(gens), 0, "").elements()}
    name = "1" if order == 1 else ("Z_2" if order == 2 else f"order {order}")
    return Subgroup(group, np.array(gens, dtype=np.int64).reshape(-1, group.n), order, name)


def isotropy(group: StateGroup, x, *, tol: float | None = None) -> Subgroup:
    """The isotropy subgroup ``{g : g.x = x}`` of a state under a symmetry group.

    Parameters
    ----------
    group : StateGroup
        :class:`PermutationSymmetry` (the product of the symmetric groups on the classes of
        identical units), :class:`UnitInputSymmetry` (pairs of unit and input permutations with
        ``P_sigma W P_tau^T = W``, found exactly, see the module notes), or any other group
        (brute force over its elements, at most 200,000).
    x : array_like, shape (n,)
        One state.
    tol : float, optional
        Relative tolerance: ``g`` fixes ``x`` when ``|g.x - x| <= tol * max(1, |x|_inf)``
        (network groups compare units and inputs entry by entry within that radius). The
        group's default when omitted.

    Returns
    -------
    Subgroup
        Order, generators (elements of ``group``), name, unit and input orbits.

    Raises
    ------
    dynsys.errors.InputError
        If ``x`` is not one state of length ``group.n``, or a group without structure has too
        many elements to enumerate.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.symmetry import PermutationSymmetry, UnitInputSymmetry
    >>> W = 0.2 * np.ones((4, 4)) + 0.5 * np.eye(4)
    >>> W[3] = [-0.1, -0.1, -0.1, 0.9]
    >>> H = isotropy(UnitInputSymmetry(4, 4), W.ravel())
    >>> H.name, H.order
    ('Δ(S_3 x S_1)', 6)
    >>> isotropy(PermutationSymmetry(3, 2), [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]).name
    'S_2 x S_1'
    """
    group = check_group(group, None)
    if group is None:
        raise InputError("`group` is required: give a StateGroup such as UnitInputSymmetry(K, d).")
    x = as_state_batch(x, group.n)
    if x.shape != (group.n,):
        raise InputError(f"`x` must be one state of shape ({group.n},); got {x.shape}.")
    tol = group.tol if tol is None else float(tol)
    if not tol > 0:
        raise InputError(f"`tol` must be positive; got {tol!r}.")
    if isinstance(group, UnitInputSymmetry):
        return _unit_input_isotropy(group, x, tol)
    if isinstance(group, PermutationSymmetry):
        return _unit_isotropy(group, x, tol)
    return _brute_force_isotropy(group, x, tol)


def young_subgroup(group: StateGroup, sizes) -> Subgroup:
    """The Young subgroup ``S_{n_1} x S_{n_2} x ...`` on consecutive blocks of units.

    For :class:`PermutationSymmetry` the blocks are of hidden units; for
    :class:`UnitInputSymmetry` (``K = d``) it is the diagonal ``Δ(S_{n_1} x ...)``: pairs
    ``(sigma, sigma)``, the same permutation of units and inputs, whose fixed-point subspace
    holds the matrices that are constant on the diagonal and off-diagonal of each diagonal block
    and on each off-diagonal block (e.g. ``(K - 1, 1)``: one "odd" unit, the last).

    Parameters
    ----------
    group : PermutationSymmetry or UnitInputSymmetry
        The ambient group.
    sizes : sequence of int
        Positive block sizes adding up to ``K``.

    Returns
    -------
    Subgroup

    Examples
    --------
    >>> from dynsys.symmetry import PermutationSymmetry
    >>> H = young_subgroup(PermutationSymmetry(4, 2), (3, 1))
    >>> H.name, H.order, len(H.generators)
    ('S_3 x S_1', 6, 2)
    """
    if not isinstance(group, PermutationSymmetry | UnitInputSymmetry):
        raise InputError(
            "`group` must be a PermutationSymmetry or UnitInputSymmetry; got "
            f"{type(group).__name__}."
        )
    sizes = [int(m) for m in sizes]
    if any(m < 1 for m in sizes) or sum(sizes) != group.K:
        raise InputError(f"`sizes` must be positive and add up to K = {group.K}; got {sizes}.")
    if isinstance(group, UnitInputSymmetry) and group.d != group.K:
        raise InputError(
            f"the diagonal Young subgroup needs K = d; the group has K = {group.K}, d = {group.d}."
        )
    starts = np.cumsum([0, *sizes])
    blocks = [list(range(int(a), int(b))) for a, b in itertools.pairwise(starts)]
    perms = [p for b in blocks for p in _symmetric_generators(b, group.K)]
    order = _order_of(sizes)
    orbits = tuple(tuple(b) for b in blocks)
    if isinstance(group, UnitInputSymmetry):
        gens = [group.element(p, p) for p in perms]
        name = "1" if order == 1 else f"Δ({_young_name(sizes)})"
        out = (orbits, orbits)
    else:
        gens = [group.element(p) for p in perms]
        name = "1" if order == 1 else _young_name(sizes)
        out = (orbits, ())
    gens_arr = np.array(gens, dtype=np.int64).reshape(-1, group.n)
    return Subgroup(group, gens_arr, order, name, *out)


def isotropy_variables(group: StateGroup, points, *, dim: str = "point", tol: float | None = None):
    """The isotropy of each of a batch of states as Dataset variables.

    Layout: ``isotropy_order(dim)`` (int), ``isotropy_name(dim)`` (str),
    ``isotropy_generators(dim, generator, state)`` (int64: the generators as elements of
    ``group``, index arrays acting by ``(g.x)[i] = x[g[i]]``; rows past ``n_generator`` are
    padding, filled with -1, which is never a whole valid element when ``n >= 2``) and
    ``n_generator(dim)``.

    Parameters
    ----------
    group : StateGroup
        The symmetry group.
    points : array_like, shape (N, n)
        States (e.g. the canonical forms of a fixed-point dataset).
    dim : str
        Name of the item dimension.
    tol : float, optional
        Relative tolerance of :func:`isotropy` (the group's default when omitted).

    Returns
    -------
    dict
        ``name -> (dims, values, attrs)``, ready for ``xarray.Dataset``.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.symmetry import UnitInputSymmetry
    >>> out = isotropy_variables(UnitInputSymmetry(2, 2), [np.eye(2).ravel(), [1.0, 2, 3, 4]])
    >>> out["isotropy_name"][1].tolist(), out["isotropy_order"][1].tolist()
    (['Δ(S_2)', '1'], [2, 1])
    >>> out["isotropy_generators"][1].shape
    (2, 1, 4)
    """
    points = np.asarray(points, dtype=float).reshape(-1, group.n)
    subgroups = [isotropy(group, x, tol=tol) for x in points]
    width = max((len(H.generators) for H in subgroups), default=0)
    gens = np.full((len(points), width, group.n), -1, dtype=np.int64)
    for i, H in enumerate(subgroups):
        gens[i, : len(H.generators)] = H.generators
    return {
        "isotropy_order": (
            dim,
            np.array([H.order for H in subgroups], dtype=np.int64),
            {"long_name": "order of the isotropy subgroup (elements fixing the state)"},
        ),
        "isotropy_name": (
            dim,
            np.array([H.name for H in subgroups], dtype=str),
            {"long_name": "name of the isotropy subgroup"},
        ),
        "isotropy_generators": (
            (dim, "generator", "state"),
            gens,
            {
                "long_name": "generators of the isotropy subgroup (group elements, -1 padded)",
                "padding": -1,
            },
        ),
        "n_generator": (
            dim,
            np.array([len(H.generators) for H in subgroups], dtype=np.int64),
            {"long_name": "number of generators of the isotropy subgroup"},
        ),
    }
