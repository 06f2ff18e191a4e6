"""The restriction of a System to the fixed-point subspace ``Fix(H)`` of a subgroup of its
symmetries, in orbit coordinates (see :mod:`._subgroup`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..system import System
from ._restrict import RestrictedGradientSystem, RestrictedSystem, restrict_to_subspace
from ._subgroup import as_subgroup, fixed_subspace_embedding

__all__ = ["fixed_subspace_system"]


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
    H = as_subgroup(subgroup, generators, system=system)
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
