"""Symmetry groups acting on states: canonical forms, matching up to the group, orbit sizes; and
restriction of a System to an invariant (fixed-point) subspace.

The groups here permute state coordinates, possibly with sign changes. A group element ``g`` is
an integer array of shape ``(n,)`` (or a batch ``(..., n)``) acting by ``(g.x)[k] = x[g[k]]``
(and ``-x[~g[k]]`` where ``g[k] < 0``); so ``act``, ``compose``, ``inverse`` and ``as_matrix``
are the same for every group.

The state of a network with ``K`` hidden units and ``d`` inputs is the flattened ``(K, d)`` matrix
``W`` (row ``j`` is unit ``j``'s weight vector), optionally followed by ``extra_per_unit`` blocks
of ``K`` per-unit numbers (e.g. the second-layer weights ``a``) that travel with their unit:
``x = [W.ravel(), a_1..a_K, b_1..b_K, ...]``.

- :class:`PermutationSymmetry`: the ``K!`` permutations of hidden units. Canonical form by a
  tolerant lexicographic sort of the units; matching and distances exact by the Hungarian method.
- :class:`UnitInputSymmetry`: unit permutations composed with permutations of the ``d`` input
  coordinates (``W -> P_sigma W P_tau^T``), ``K! d!`` elements: a symmetry of the teacher-student
  loss when the teacher is a permutation matrix (e.g. the identity). Canonical form by a
  heuristic refinement; matching exact by a branch-and-bound search over input permutations.
- :class:`ExplicitGroup`: a small group from a few generators (signed permutations, so
  reflections such as ``x -> -x`` too), stored element by element.

Isotropy: :func:`isotropy` gives the subgroup fixing a state (order, generators, a name such
as ``"Δ(S_5 x S_1)"``) as a :class:`Subgroup`; :func:`young_subgroup` builds the Young subgroups
of units (and their diagonals on units and inputs); :func:`fixed_subspace_system` restricts a
System to the fixed-point subspace of a subgroup, in orbit coordinates (where the invariance of
``Fix(H)`` is automatic); :func:`symmetrized_system` evaluates the field on ``Fix(H)`` in the
full coordinates so that ``Fix(H)`` is invariant bit for bit; :func:`equivariant_branches`
follows, at a bifurcation with a symmetric kernel, one branch per conjugacy class of axial
subgroups (the equivariant branching lemma); a continuous group such as O(2) enters through a
finite stand-in and its rotation generator (:func:`o2_action`), which merges the classes that
are conjugate in the continuous group.

Every group is a :class:`StateGroup` (the one symmetry type that every ``symmetry=`` argument
takes).

Tolerances are relative: ``tol * max(1, max |x|_inf)`` for the state at hand.

References
----------
Y. Tian, An analytical formula of population gradient for two-layered ReLU network and its
applications in convergence and critical point analysis, ICML 2017 (Section 6.2: symmetry).
"""

from .._group import StateGroup
from ._branching import AxialSubgroup, axial_subgroups, equivariant_branches
from ._continuous import O2Action, o2_action
from ._explicit import ExplicitGroup
from ._fix import fixed_subspace_system
from ._isotropy import isotropy, isotropy_variables, young_subgroup
from ._networks import PermutationSymmetry, UnitInputSymmetry
from ._restrict import (
    LyapunovSystem,
    RestrictedGradientSystem,
    RestrictedSystem,
    restrict_to_subspace,
)
from ._subgroup import Subgroup, fixed_subspace_embedding
from ._subspace import LinearEmbedding, fixed_point_subspace, invariance_defect
from ._symmetrize import symmetrized_system

__all__ = [
    "AxialSubgroup",
    "ExplicitGroup",
    "LinearEmbedding",
    "LyapunovSystem",
    "O2Action",
    "PermutationSymmetry",
    "RestrictedGradientSystem",
    "RestrictedSystem",
    "StateGroup",
    "Subgroup",
    "UnitInputSymmetry",
    "axial_subgroups",
    "equivariant_branches",
    "fixed_point_subspace",
    "fixed_subspace_embedding",
    "fixed_subspace_system",
    "invariance_defect",
    "isotropy",
    "isotropy_variables",
    "o2_action",
    "restrict_to_subspace",
    "symmetrized_system",
    "young_subgroup",
]
