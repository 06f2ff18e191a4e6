"""Branch switching at a simple branch point.

At a simple branch point ``u*`` the Jacobian ``G_u`` (``m x (m+1)``) has a two-dimensional null
space ``span(q1, q2)`` and a left null vector ``psi``. The directions ``d = a q1 + b q2`` of the
branches through ``u*`` solve the algebraic branching equation

    c11 a^2 + 2 c12 a b + c22 b^2 = 0,   c_ij = psi . G_uu[q_i, q_j],

whose two roots are the two branches; the one farther from the branch we came on is the new one.
If the quadratic is degenerate, the null direction orthogonal to the old tangent is used.

References
----------
H. B. Keller (1977); Yu. A. Kuznetsov (2004), section 10.2.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp
import xarray as xr

from .._status import Status
from ..errors import InputError
from ..maps import Map
from ._branch import _check_options, branch_dataset, equilibrium_problem
from ._detect import Special
from ._linalg import Factorization, SingularMatrixError, bordered, dense_null_vectors, start_vector
from ._map_switch import switch_map_branch
from ._normal_forms import jacobian_derivatives
from ._options import ContinuationOptions
from ._trace import Traced, check_direction, trace

__all__ = ["branch_direction", "switch_branch", "switch_traced"]


def _inverse_iteration(A, *, transpose: bool = False, steps: int = 3) -> np.ndarray:
    """Approximate null vector of a nearly singular square matrix."""
    try:
        factor = Factorization(A)
    except SingularMatrixError:
        shift = 1e-13 * max(abs(A).max(), 1.0)
        factor = Factorization(A + shift * sp.eye(A.shape[0], format="csc"))
    z = start_vector(A.shape[0])
    for _ in range(steps):
        z = factor.solve(z, transpose=transpose)
        z = z / np.linalg.norm(z)
    return z


def _null_basis(problem, u: np.ndarray, t_parent: np.ndarray):
    """Orthonormal basis ``(q1, q2)`` of the null space of ``G_u`` and the left null vector."""
    M = problem.jacobian(u)
    if not sp.issparse(M):
        right, left = dense_null_vectors(M, 2)
        return right[0], right[1], left[0]
    z = _inverse_iteration(bordered(M, t_parent))
    y = _inverse_iteration(bordered(M, z))
    y = y - (y @ z) * z
    psi = _inverse_iteration(bordered(M, t_parent), transpose=True)[: M.shape[0]]
    return y / np.linalg.norm(y), z, psi / np.linalg.norm(psi)


def _fix_sign(d: np.ndarray) -> np.ndarray:
    k = int(np.argmax(np.abs(d)))
    return d if d[k] > 0 else -d


def branch_direction(problem, u: np.ndarray, t_parent: np.ndarray) -> tuple[np.ndarray, str]:
    """Unit tangent of the other branch through the branch point ``u``, and the method used
    ("branching equation" or "kernel")."""
    q1, q2, psi = _null_basis(problem, u, t_parent)
    jacobian_function = getattr(problem, "jacobian_function", None)
    jac = problem.jacobian if jacobian_function is None else jacobian_function()
    D1 = jacobian_derivatives(jac, u, q1)
    D2 = jacobian_derivatives(jac, u, q2)
    c11, c12, c22 = float(psi @ (D1 @ q1)), float(psi @ (D1 @ q2)), float(psi @ (D2 @ q2))
    C = np.array([[c11, c12], [c12, c22]])
    scale = float(np.max(np.abs(C)))
    mu, R = np.linalg.eigh(C)
    if scale > 0 and mu[0] < -1e-8 * scale and mu[1] > 1e-8 * scale:
        roots = [R @ np.array([np.sqrt(mu[1]), s * np.sqrt(-mu[0])]) for s in (1.0, -1.0)]
        candidates = [(r[0] * q1 + r[1] * q2) for r in roots]
        candidates = [c / np.linalg.norm(c) for c in candidates]
        new = min(candidates, key=lambda c: abs(float(c @ t_parent)))
        return _fix_sign(new), "branching equation"
    a, b = float(t_parent @ q1), float(t_parent @ q2)
    new = -b * q1 + a * q2
    if np.linalg.norm(new) == 0.0:
        new = q2
    return _fix_sign(new / np.linalg.norm(new)), "kernel"


def switch_traced(
    problem,
    u_bp: np.ndarray,
    t_parent: np.ndarray,
    options,
    *,
    direction="both",
    progress: bool = False,
    label: str = "",
    describe: bool = True,
) -> Traced:
    """Trace the new branch through the branch point ``u_bp`` (internal form; ``describe``: as
    for :func:`~dynsys.continuation._trace.trace`)."""
    t_new, method = branch_direction(problem, u_bp, t_parent)
    traced = trace(
        problem,
        u_bp,
        t_new,
        direction,
        options,
        progress=progress,
        label=label,
        at_branch_point=True,
        describe=describe,
    )
    start = traced.points[traced.start_step]
    junction = Special(
        "BP",
        traced.start_step,
        start,
        Status.CONVERGED,
        {**problem.describe("BP", start), "junction": True},
    )
    specials = [s for s in traced.specials if s.step < traced.start_step]
    specials += [junction] + [s for s in traced.specials if s.step >= traced.start_step]
    traced.specials = specials
    traced.extra = {"switch_method": method}
    return traced


def switch_branch(
    system,
    branch: xr.Dataset,
    special: int,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions | None = None,
    direction: int | str = "both",
    progress: bool = False,
) -> xr.Dataset:
    """Follow the other branch through a branch point of ``branch`` (for a map also: the
    period-doubled cycle from a period doubling).

    Parameters
    ----------
    system : System, GradientSystem or Map
        The system ``branch`` was computed for.
    branch : xarray.Dataset
        A result of :func:`continue_branch` (or of this function).
    special : int
        Position in the special-point table (dim ``special``) of a point of type "BP" (for a
        map also "PD": then the new branch holds the cycles of twice the period that emanate
        from the period doubling; its start, the doubled old cycle, carries a special point of
        type "PD").
    params : mapping, optional
        Parameter values; by default those stored in ``branch`` (attributes ``param_<name>``).
    options : ContinuationOptions, optional
        As for :func:`continue_branch`.
    direction : {1, -1, "both"}
        Which half of the new branch to follow ("both": the whole branch through the point;
        1 is the half whose new tangent has its largest component positive). At a period
        doubling both halves are one cycle (shifted by the old period), so one is traced
        (-1: the other, the same cycle with its points shifted).
    progress : bool
        Show a progress bar.

    Returns
    -------
    xarray.Dataset
        A branch Dataset as from :func:`continue_branch`; the branch point is step
        ``start_step`` and the first special point there (type "BP"). Attributes add
        ``parent_special`` and ``switch_method`` (and ``parent_period`` for a map).

    Raises
    ------
    dynsys.errors.InputError
        If ``special`` is out of range or not a branch point (for a map: not a BP or PD, or
        ``branch`` is not a branch of a map).

    Notes
    -----
    At a period doubling of a ``k``-cycle the new branch starts at the old cycle traversed
    twice and leaves along the eigenvector of the multiplier -1 carried once around the cycle
    (positive on the first ``k`` points, negative on the repeat); its first point is found by
    the corrector at arclength ``options.ds`` along that direction, with the cycle and the
    parameter solved for, so the parameter offset (``O(ds^2)``) needs no normal-form
    coefficient (see ``dynsys.continuation._map_switch``).

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch
    >>> from dynsys.models import pitchfork_normal_form
    >>> opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    >>> trivial = continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    >>> new = switch_branch(pitchfork_normal_form(), trivial, 0, options=opts)
    >>> x, mu = new["x"].values[:, 0], new["param"].values
    >>> bool(abs(x**2 - mu).max() < 1e-9), bool(x.min() < -0.9 and x.max() > 0.9)
    (True, True)

    The logistic map ``r x (1 - x)`` doubles its period at ``r = 3``; the 2-cycle that
    emanates doubles again at ``r = 1 + sqrt(6)``:

    >>> from dynsys.maps import Map
    >>> logistic = Map(lambda x, p: p["r"] * x * (1 - x), ["x"], {"r": 2.5})
    >>> opts = ContinuationOptions(ds_max=0.05, p_min=2.5, p_max=3.5)
    >>> fixed = continue_branch(logistic, [0.6], "r", options=opts)
    >>> row = fixed["special_type"].values.tolist().index("PD")
    >>> two = switch_branch(logistic, fixed, row, options=opts)
    >>> pd = two["special_type"].values.tolist().index("PD", 1)  # row 0: where it starts
    >>> int(two.attrs["period"]), bool(abs(two["special_param"][pd] - (1 + 6**0.5)) < 1e-9)
    (2, True)
    """
    options = _check_options(options)
    if isinstance(system, Map):
        return switch_map_branch(
            system,
            branch,
            special,
            params=params,
            options=options,
            direction=direction,
            progress=progress,
            bp_switch=switch_traced,
        )
    check_direction(direction)
    param = str(branch.attrs.get("continuation_param", ""))
    stored = {
        k: branch.attrs[f"param_{k}"] for k in system.param_names if f"param_{k}" in branch.attrs
    }
    problem, system = equilibrium_problem(system, param, {**stored, **dict(params or {})}, options)
    types = branch["special_type"].values
    if not isinstance(special, int | np.integer) or not 0 <= special < types.size:
        raise InputError(
            f"`special` must be an index into the {types.size} special points of `branch`; "
            f"got {special!r}."
        )
    if types[special] != "BP":
        raise InputError(
            f"special point {special} is of type {types[special]!r}; branch switching needs a "
            "'BP' (branch point)."
        )
    u_bp = np.append(branch["special_x"].values[special], branch["special_param"].values[special])
    k = int(branch["special_step"].values[special])
    X = np.column_stack([branch["x"].values, branch["param"].values])
    secant = X[k + 1] - X[k] if k + 1 < X.shape[0] else X[k] - X[k - 1]
    t_parent = secant / np.linalg.norm(secant)
    traced = switch_traced(
        problem, u_bp, t_parent, options, direction=direction, progress=progress, label=param
    )
    return branch_dataset(
        problem,
        system,
        traced,
        options,
        direction=str(direction),
        parent_special=int(special),
        **traced.extra,
    )
