"""Equivariant branch switching (the equivariant branching lemma): at a steady-state bifurcation
whose kernel is an (absolutely) irreducible representation of the isotropy group, every isotropy
subgroup with a one-dimensional fixed-point subspace in the kernel (an *axial* subgroup) carries
a branch of equilibria with that isotropy. Inside ``Fix(Σ)`` the bifurcation is a simple branch
point, found and switched by ordinary continuation; one branch per conjugacy class.

The axial subgroups are found from the lattice of fixed subspaces in the kernel: the fixed
subspaces of single elements, closed under intersection; every one-dimensional member spans
``Fix(Σ_v)`` for the isotropy ``Σ_v`` of its vectors ``v``. Groups are enumerated element by
element (small groups: :class:`ExplicitGroup`, or the isotropy of a state).

Reference: M. Golubitsky, I. Stewart and D. G. Schaeffer, Singularities and Groups in
Bifurcation Theory II, Springer (1988), chapter XIII.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import xarray as xr

from .._group import StateGroup
from ..errors import InputError
from ..system import System
from ._fix import fixed_subspace_system
from ._isotropy import isotropy
from ._subgroup import Subgroup

__all__ = ["AxialSubgroup", "axial_subgroups", "equivariant_branches"]

_RANK_TOL = 1e-9


@dataclass(frozen=True)
class AxialSubgroup:
    """An axial subgroup ``Σ`` of the isotropy group and the kernel direction it fixes.

    Attributes
    ----------
    subgroup : Subgroup
        ``Σ`` (all its elements as generators), named ``"Z_2"``, ``"order 4"``, ...
    direction : numpy.ndarray
        A unit vector of the state space spanning ``Fix(Σ)`` inside the kernel.
    class_size : int
        Number of subgroups conjugate to ``Σ`` (the number of branches of this type, counted
        in pairs ``+-v`` when ``-v`` is not in the orbit of ``v``).
    """

    subgroup: Subgroup
    direction: np.ndarray
    class_size: int


def _key(g) -> tuple:
    return tuple(int(i) for i in g)


def axial_subgroups(group: StateGroup, elements, kernel) -> list[AxialSubgroup]:
    """The axial subgroups of a finite group acting on a kernel, one per conjugacy class.

    Parameters
    ----------
    group : StateGroup
        Acts on the state space; gives ``act``, ``compose``, ``inverse`` and matrices.
    elements : array_like of int, shape (N, n)
        All elements of the group ``Γ`` acting on the kernel (e.g. ``Subgroup.elements()``).
    kernel : array_like, shape (n, m)
        A basis of the kernel (columns), invariant under ``Γ``.

    Returns
    -------
    list of AxialSubgroup
        Sorted by order (descending), then name.

    Raises
    ------
    dynsys.errors.InputError
        If the kernel is not invariant under the elements.

    Examples
    --------
    >>> from dynsys.symmetry import ExplicitGroup
    >>> z2 = ExplicitGroup([[~0]])
    >>> [a.subgroup.order for a in axial_subgroups(z2, list(z2.elements()), [[1.0]])]
    [1]
    """
    elements = np.asarray(elements, dtype=np.int64).reshape(-1, group.n)
    Q = scipy.linalg.orth(np.asarray(kernel, dtype=float).reshape(group.n, -1))
    m = Q.shape[1]
    mats = group.as_matrix(elements)
    A = np.einsum("ai,gab,bj->gij", Q, mats, Q)  # the action on the kernel
    if np.abs(mats @ Q - Q @ A).max() > 1e-8:
        raise InputError("the kernel is not invariant under the group; check the elements.")
    spaces = {}

    def add(basis):
        basis = scipy.linalg.orth(basis, rcond=_RANK_TOL) if basis.shape[1] else basis
        if basis.shape[1] == 0:
            return
        P = np.round(basis @ basis.T, 9)
        spaces.setdefault(P.tobytes(), basis)

    add(np.eye(m))
    for a in A:
        add(scipy.linalg.null_space(a - np.eye(m), rcond=_RANK_TOL))
    changed = True
    while changed:  # close under intersection
        changed = False
        current = list(spaces.values())
        for i, U in enumerate(current):
            for V in current[i + 1 :]:
                W = scipy.linalg.null_space(np.concatenate([U, -V], axis=1), rcond=_RANK_TOL)
                before = len(spaces)
                add(U @ W[: U.shape[1]])
                changed |= len(spaces) > before
    out: list[AxialSubgroup] = []
    seen: list[frozenset] = []
    keys = [_key(g) for g in elements]
    index = {k: i for i, k in enumerate(keys)}
    for basis in spaces.values():
        if basis.shape[1] != 1:
            continue
        v = basis[:, 0]
        members = [i for i, a in enumerate(A) if np.abs(a @ v - v).max() <= 1e-8]
        sigma = frozenset(keys[i] for i in members)
        conjugates = set()
        for g in elements:
            gi = group.inverse(g)
            conj = frozenset(_key(group.compose(g, group.compose(np.array(s), gi))) for s in sigma)
            conjugates.add(conj)
        if any(c in seen for c in conjugates):
            continue
        seen.append(sigma)
        gens = elements[members]
        order = len(members)
        name = "1" if order == 1 else ("Z_2" if order == 2 else f"order {order}")
        H = Subgroup(group, gens, order, name)
        assert all(k in index for k in sigma)
        out.append(AxialSubgroup(H, Q @ v, len(conjugates)))
    return sorted(out, key=lambda a: (-a.subgroup.order, a.subgroup.name))


def equivariant_branches(
    system: System,
    group: StateGroup,
    x,
    param: str,
    *,
    params: Mapping[str, Any] | None = None,
    options=None,
    offset: float | None = None,
    kernel_tol: float = 1e-8,
) -> xr.DataTree:
    """Follow every branch that the equivariant branching lemma gives at a bifurcation point.

    Parameters
    ----------
    system : System
        The field; ``group`` must consist of its symmetries.
    group : StateGroup
        A symmetry group; the isotropy ``Γ`` of ``x`` in it is computed
        (:func:`dynsys.symmetry.isotropy`) and enumerated.
    x : array_like, shape (n,)
        The equilibrium at the bifurcation (parameter value ``params[param]`` or the system's).
    param : str
        The parameter to continue in.
    params : mapping, optional
        Parameter values (the bifurcation value of ``param`` among them).
    options : dynsys.continuation.ContinuationOptions, optional
        For the continuation inside each ``Fix(Σ)``.
    offset : float, optional
        The trivial branch is continued inside ``Fix(Σ)`` from ``param - offset`` (default
        ``5 ds_max``), so that it crosses the branch point there.
    kernel_tol : float
        Singular values of the Jacobian below ``kernel_tol * max(1, |J|)`` span the kernel.

    Returns
    -------
    xarray.DataTree
        The root holds the axial table (dim ``axial``: ``axial_name``, ``axial_order``,
        ``class_size``, ``direction(axial, full_state)``) and the attributes ``kernel_dimension``
        and ``isotropy_name``/``isotropy_order`` of ``x``; one child ``axial<i>`` per
        conjugacy class: the switched branch in the coordinates of ``Fix(Σ)`` (as from
        :func:`dynsys.continuation.switch_branch`) plus ``x_full(step, full_state)``, the
        states in the whole space, and attributes naming ``Σ``.

    Raises
    ------
    dynsys.errors.InputError
        If the Jacobian at ``x`` has no kernel.

    Examples
    --------
    >>> from dynsys.models import pitchfork_normal_form
    >>> from dynsys.continuation import ContinuationOptions
    >>> from dynsys.symmetry import ExplicitGroup
    >>> tree = equivariant_branches(pitchfork_normal_form(), ExplicitGroup([[~0]]), [0.0], "mu",
    ...     params={"mu": 0.0}, options=ContinuationOptions(ds_max=0.1, p_min=-1, p_max=1))
    >>> tree["axial0"].ds.attrs["axial_name"], tree.ds.attrs["kernel_dimension"]
    ('1', 1)
    """
    from ..continuation import ContinuationOptions, continue_branch, switch_branch

    options = ContinuationOptions() if options is None else options
    p = system.resolve_params(params)
    x = np.asarray(x, dtype=float).reshape(system.n)
    J = system.jac_dense(x, p)
    _, s, vt = np.linalg.svd(J)
    kernel = vt[s <= kernel_tol * max(1.0, float(s.max(initial=0.0)))].T
    if kernel.shape[1] == 0:
        raise InputError(
            f"the Jacobian at `x` is regular (smallest singular value {s.min():.3g}); give the "
            "equilibrium and parameter value of the bifurcation."
        )
    gamma = isotropy(group, x)
    axial = axial_subgroups(group, gamma.elements(), kernel)
    shift = 5.0 * options.ds_max if offset is None else float(offset)
    children = {}
    for i, a in enumerate(axial):
        sub = fixed_subspace_system(system, a.subgroup)
        start = dict(p, **{param: p[param] - shift})
        trivial = continue_branch(sub, sub.project(x), param, params=start, options=options)
        bps = np.flatnonzero(trivial["special_type"].values == "BP")
        if len(bps) == 0:
            continue
        j = int(bps[np.argmin(np.abs(trivial["special_param"].values[bps] - p[param]))])
        new = switch_branch(sub, trivial, j, options=options)
        full = sub.lift(new["x"].values)
        children[f"axial{i}"] = new.assign(x_full=(("step", "full_state"), full)).assign_attrs(
            axial_name=a.subgroup.name,
            axial_order=a.subgroup.order,
            class_size=a.class_size,
            subspace_dimension=sub.n,
        )
    root = xr.Dataset(
        {
            "axial_name": ("axial", [a.subgroup.name for a in axial]),
            "axial_order": ("axial", np.array([a.subgroup.order for a in axial], dtype=np.int64)),
            "class_size": ("axial", np.array([a.class_size for a in axial], dtype=np.int64)),
            "direction": (("axial", "full_state"), np.array([a.direction for a in axial])),
        },
        coords={"full_state": list(system.state_names)},
        attrs={
            "kernel_dimension": int(kernel.shape[1]),
            "isotropy_name": gamma.name,
            "isotropy_order": int(gamma.order),
            "continuation_param": param,
        },
    )
    return xr.DataTree.from_dict({"/": root, **{f"/{k}": v for k, v in children.items()}})
