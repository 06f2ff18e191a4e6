"""The fixed-point subspace ``Fix(H)`` of a subgroup given by generators, in orbit coordinates,
and the restriction of a System to it.

For a group of plain permutations of the coordinates, ``Fix(H)`` is spanned by the indicator
vectors of the orbits of the coordinates: a state is fixed exactly when it is constant on each
orbit. So the coordinates of ``Fix(H)`` are the common values on the orbits (``orthonormal=False``)
or those values times ``sqrt(orbit size)`` (``orthonormal=True``, an orthonormal basis). For
groups that change signs the basis is the null space of the stacked ``P - I``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._group import StateGroup
from ..errors import InputError, InputTypeError
from ..system import System
from ._isotropy import Subgroup, coordinate_orbits
from ._restrict import RestrictedGradientSystem, RestrictedSystem, restrict_to_subspace
from ._subspace import LinearEmbedding, fixed_point_subspace

__all__ = ["fixed_subspace_embedding", "fixed_subspace_system"]


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
    H = _as_subgroup(subgroup, generators)
    n = H.group.n
    if len(H.generators) == 0:
        return LinearEmbedding(np.eye(n))
    if H.group.changes_signs and np.any(H.generators < 0):
        basis = fixed_point_subspace(H.group.as_matrix(H.generators))
        if basis.shape[1] == 0:
            raise InputError("the subgroup fixes only the origin: Fix(H) = {0}.")
        return LinearEmbedding(basis)
    orbits = coordinate_orbits(H.generators, n)
    E = np.zeros((n, len(orbits)))
    for j, orbit in enumerate(orbits):
        E[orbit, j] = 1.0 / np.sqrt(len(orbit)) if orthonormal else 1.0
    return LinearEmbedding(E)


def fixed_subspace_system(
    system: System,
    subgroup,
    generators=None,
    *,
    orthonormal: bool = True,
    name: str | None = None,
    state_names: Sequence[str] | None = None,
    probe=None,
    check_jacobian: bool = True,
) -> RestrictedSystem | RestrictedGradientSystem:
    """Restrict a System to the fixed-point subspace ``Fix(H)`` of a subgroup of its symmetries.

    ``Fix(H)`` is invariant under the flow when every element of ``H`` is a symmetry of the
    field, and its equilibria are equilibria of the whole system; for a gradient system they are
    the critical points of the loss restricted to ``Fix(H)`` (principle of symmetric
    criticality). A family of critical points with isotropy ``H`` lives in a handful of
    coordinates there.

    Parameters
    ----------
    system : System or GradientSystem
        The field on ``R^n``; ``H`` must consist of its symmetries (not checked here; see
        :meth:`RestrictedSystem.invariance_defect`).
    subgroup : Subgroup or StateGroup
        ``H``, or its ambient group with ``generators``.
    generators : array_like of int, optional
        With a StateGroup: the elements ``(m, n)`` generating ``H``.
    orthonormal : bool
        Orthonormal orbit basis (default; a gradient parent gives a
        :class:`RestrictedGradientSystem`, whose Hessian is ``E^T Hess E``) or coordinates equal
        to the common values on the orbits (a :class:`RestrictedSystem`: the coordinates of the
        full flow, the gradient flow in the metric ``E^T E = diag(|O|)``).
    name, state_names, probe, check_jacobian
        As for :func:`restrict_to_subspace`; the default state names are those of the first
        coordinate of each orbit (prefixed ``"z:"`` when orthonormal, as that coordinate is the
        common value times ``sqrt(|O|)``).

    Returns
    -------
    RestrictedGradientSystem or RestrictedSystem

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.models.relu import teacher_student
    >>> from dynsys.symmetry import UnitInputSymmetry, young_subgroup
    >>> H = young_subgroup(UnitInputSymmetry(3, 3), (3,))
    >>> plane = fixed_subspace_system(teacher_student(np.eye(3)), H, orthonormal=False)
    >>> plane.state_names, float(np.abs(plane.f([1.0, 0.0])).max()) < 1e-14  # the teacher
    (('w1_1', 'w1_2'), True)
    """
    H = _as_subgroup(subgroup, generators)
    if H.group.n != system.n:
        raise InputError(
            f"the subgroup acts on states of length {H.group.n}; system '{system.name}' has "
            f"n = {system.n}."
        )
    emb = fixed_subspace_embedding(H, orthonormal=orthonormal)
    if state_names is None and not (H.group.changes_signs and np.any(H.generators < 0)):
        first = [int(np.flatnonzero(col)[0]) for col in emb.basis.T]
        prefix = "z:" if orthonormal else ""
        state_names = [f"{prefix}{system.state_names[i]}" for i in first]
    if probe is None:  # the parent's generic probe, projected onto Fix(H)
        probe = emb.project(system._probe)
    label = H.name if H.name not in ("", "given") else "H"
    return restrict_to_subspace(
        system,
        emb,
        name=f"{system.name}|Fix({label})" if name is None else name,
        state_names=state_names,
        probe=probe,
        check_jacobian=check_jacobian,
    )
