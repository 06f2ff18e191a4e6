"""Equilibria of ``x' = f(x; p)`` from many seeds at once: batched damped Newton, deduplication,
deflation, classification.

Newton runs on the whole batch of seeds together (one batched linear solve per iteration, an
Armijo backtracking line search per seed, finished seeds leave the batch). The converged end points
are clustered within a tolerance; each cluster is one fixed point. Deflation then looks for roots
the seeds missed. Seeds that fail are counted per status in the attributes, never raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.optimize
import xarray as xr

from .._dataset import provenance, status_variable
from .._group import check_group
from .._newton import NewtonOptions, newton_batch
from .._points import PointCatalogue, relative_scale, sort_order
from .._status import Status
from .._validate import as_float_array, as_state_batch, check_positive
from ..errors import InputError, InputTypeError
from ..maps import require_flow
from ..stability import classify as classify_points
from ..symmetry import isotropy_variables
from ._manifolds import label_manifolds, merge_manifold_points
from ._restricted import as_subspace, project_seeds, step_solvers

__all__ = ["NewtonOptions", "find_fixed_points"]


def _require(ok: bool, name: str, expected: str, value) -> None:
    if not ok:
        raise InputError(f"`{name}` must be {expected}; got {value!r}.")


def _as_seeds(seeds, n: int) -> np.ndarray:
    arr = as_float_array(seeds, "seeds")
    if n == 1 and arr.ndim == 1:
        arr = arr[:, None]
    arr = as_state_batch(arr, n, name="seeds").reshape(-1, n)
    if len(arr) == 0:
        raise InputError(f"`seeds` is empty; give at least one start state of shape ({n},).")
    return arr


def _as_bounds(bounds, n: int) -> tuple[np.ndarray, np.ndarray] | None:
    if bounds is None:
        return None
    if isinstance(bounds, scipy.optimize.Bounds):
        low = np.broadcast_to(np.asarray(bounds.lb, dtype=float), (n,))
        high = np.broadcast_to(np.asarray(bounds.ub, dtype=float), (n,))
    else:
        box = np.asarray(bounds, dtype=float)
        if box.shape != (n, 2):
            raise InputError(
                f"`bounds` has shape {box.shape}; expected ({n}, 2): one (low, high) pair per "
                "state, e.g. [(-1, 1)] * n, or a scipy.optimize.Bounds."
            )
        low, high = box[:, 0], box[:, 1]
    if np.any(np.isnan(low) | np.isnan(high)) or np.any(low > high):
        raise InputError(
            f"`bounds` must have low <= high in every state; got low={low.tolist()}, "
            f"high={high.tolist()}."
        )
    return low, high


def _as_rounds(deflation) -> int:
    ok = isinstance(deflation, bool | int | np.integer) and int(deflation) >= 0
    _require(ok, "deflation", "False, True (one round) or a number of rounds >= 0", deflation)
    return int(deflation)


_NEWTON_FAILURES = (Status.MAX_ITER, Status.SINGULAR_JACOBIAN, Status.NONFINITE)


def _status_counts(status: np.ndarray) -> dict[str, int]:
    return {f"n_{s.name.lower()}": int(np.count_nonzero(status == s)) for s in _NEWTON_FAILURES}


def find_fixed_points(
    system,
    seeds,
    *,
    params: Mapping[str, Any] | None = None,
    options: NewtonOptions = NewtonOptions(),  # frozen, so a shared default is safe
    dedup_tol: float = 1e-6,
    deflation: bool | int = False,
    bounds=None,
    classify: bool = True,
    symmetry=None,
    zero_tol: float = 1e-8,
    connect_manifolds: bool = True,
    merge_manifolds: bool = False,
    subspace=None,
) -> xr.Dataset:
    """Find equilibria ``f(x) = 0`` by damped Newton from many seeds at once.

    Parameters
    ----------
    system : System or GradientSystem
        The vector field; its Jacobian (analytic, sparse, or finite differences) drives Newton.
    seeds : array_like
        Start states, shape ``(..., n)`` (any leading shape, flattened); for a one-state system a
        flat array of seeds is accepted too.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : NewtonOptions
        Tolerances and line-search settings.
    dedup_tol : float
        End points within ``dedup_tol * max(1, |x|_inf)`` of a point found before (the one with
        the smallest residual first) are that point; memory grows linearly with the seeds.
    deflation : bool or int
        Number of deflation rounds (True: one). Each round restarts Newton from the seeds on the
        deflated residual ``M(x) f(x)``, ``M(x) = prod_i (|x - x_i|^-p + shift)`` over the points
        found so far, so that known roots repel; new roots join the result. Rounds stop early when
        one finds nothing new.
    bounds : array_like of shape (n, 2) or scipy.optimize.Bounds, optional
        A box ``[(low, high), ...]``; points outside are dropped (counted in
        ``n_outside_bounds``); points on the boundary, within the deduplication radius, are kept.
    classify : bool
        Add the stability variables of :func:`dynsys.stability.classify`.
    symmetry : StateGroup, optional
        A symmetry group of the system (:mod:`dynsys.symmetry`): end points are compared up to
        the group and reported as canonical forms, so a result holds one point per orbit, each
        with its isotropy subgroup (:func:`dynsys.symmetry.isotropy`, at the group's tolerance).
    zero_tol : float
        Relative zero threshold for eigenvalues (see :func:`dynsys.stability.classify`).
    connect_manifolds : bool
        With ``classify``: label the points with ``nullity > 0`` that lie on one connected
        manifold of equilibria (variable ``manifold``; see Notes).
    merge_manifolds : bool
        Report one point per connected manifold of equilibria instead of every point found on
        it: the member with the smallest residual represents the manifold (variables
        ``n_merged`` and ``manifold_extent``; see Notes). Needs ``classify`` and
        ``connect_manifolds``.
    subspace : LinearEmbedding or array_like of shape (n, m), optional
        An affine subspace ``c + span(E)`` invariant under the flow, for example the fixed-point
        subspace of a group of symmetries (:func:`dynsys.symmetry.fixed_point_subspace`) or the
        symmetric plane of a model. Seeds are projected orthogonally onto it and every Newton
        step is restricted to it (the minimum-norm solution of ``Q^T J Q dz = -Q^T f``, ``Q`` an
        orthonormal basis, ``dx = Q dz``), so iterates stay on it; convergence is still tested
        on the whole field, and classification and manifold labels are those of the whole
        system. Use it when the subspace crosses a manifold of equilibria transversally: the
        root is isolated within the subspace and Newton converges quadratically to it (see
        Notes).

    Returns
    -------
    xarray.Dataset
        Dims ``point``, ``state`` (coordinate: state names) and ``mode`` when classified. Variables
        ``x(point, state)``, ``residual(point)`` (``|f(x)|``), ``status(point)``, ``n_seeds(point)``
        (seeds whose Newton run converged to the point; 0 for points found by deflation),
        ``deflation_round(point)`` (0: plain Newton), ``energy(point)`` for gradient systems, and
        with ``classify`` ``eigenvalue_real/imag(point, mode)``, ``index(point)``,
        ``nullity(point)``, ``kind(point)``, and ``manifold(point)`` with ``connect_manifolds``;
        ``n_merged(point)`` and ``manifold_extent(point)`` with ``merge_manifolds``; with
        ``symmetry`` the isotropy of each point: ``isotropy_order(point)``, ``isotropy_name(point)``
        (e.g. ``"Δ(S_5 x S_1)"``), ``isotropy_generators(point, generator, state)`` (group elements;
        rows past ``n_generator(point)`` are filled with -1; see
        :func:`dynsys.symmetry.isotropy_variables`). Points are ordered by energy (gradient
        systems), then by coordinates. Attributes: provenance, the settings (with
        ``subspace_dimension``, ``n`` without a subspace), and the counts ``n_seeds``,
        ``n_converged``, ``n_failed`` and its parts ``n_max_iter``, ``n_singular_jacobian``,
        ``n_nonfinite`` (first pass), ``n_outside_bounds``, ``n_found_by_deflation``,
        ``n_deflation_rounds_run``, ``n_newton_iterations``, and with ``connect_manifolds``
        ``n_manifolds`` and ``n_equilibrium_sets`` (isolated points plus manifolds).

    Raises
    ------
    ValueError
        If ``seeds``, ``bounds``, ``dedup_tol``, ``deflation`` or ``subspace`` is malformed, the
        field is not tangent to ``subspace`` at the projected seeds (relative defect above
        1e-7), or ``merge_manifolds`` is asked for without the manifold labels.
    TypeError
        If ``options`` is not a NewtonOptions or ``symmetry`` has no ``canonical``.
    dynsys.errors.UnknownParameterError
        If ``params`` names a parameter the system does not have.

    Notes
    -----
    Non-isolated equilibria (a circle or a valley of equilibria, nullity > 0): Newton converges
    to a point of the manifold near each seed, so several seeds give several distinct points of
    one manifold. They are all reported, each with ``nullity > 0`` (``kind`` "degenerate" or
    "non-hyperbolic"), and ``manifold(point)`` groups them: points joined by a path of
    equilibria share a label ``0, 1, ...``; isolated points get -1. Two nearby degenerate points
    are joined when Newton projects the segment between them continuously onto the equilibria
    (checked by sampling and bisection); groups are chains of joined pairs. The number of
    distinct equilibrium sets is the attribute ``n_equilibrium_sets``, the count of
    ``manifold == -1`` plus ``n_manifolds``. With ``merge_manifolds=True`` the result holds
    exactly that many points: each manifold is represented by one of its points, with
    ``n_merged`` the number of its points found and ``manifold_extent`` how far they spread.
    The labels rely on the seeds sampling a manifold densely enough for the segment test; a
    manifold sampled in far-apart pieces may count as several. With ``symmetry``, points are
    canonical forms, and a manifold cut by the canonical region may count as several pieces.

    Which point of a manifold Newton reaches: the steps are minimum-norm (truncated SVD), so in
    exact arithmetic they never move along the null directions of the Jacobian, and a seed on
    a subspace invariant under the symmetries of ``f`` stays on it. In floating point, near a
    non-isolated root the null singular values are tiny but above the truncation threshold, so
    rounding in ``f`` is amplified along the manifold: the end point is a point of the
    manifold close to, not on, the subspace. Measured on the ReLU teacher-student network
    (teacher ``I_K``) with seeds on Tian's Theorem 7 plane ``W = (x - y) I + y 1 1^T``, whose
    root is the symmetric saddle on a ``(K-1)``-manifold of critical points: seeds on its
    diagonal ``x = y`` (all units equal, so rounding is the same for every unit) end at the
    saddle to 1e-15, but seeds with ``x != y`` end on the manifold at 1e-11 to 1e-6 from it
    (once 2e-3; K = 2..20). Pass the plane as ``subspace`` to reach the saddle itself to 1e-15
    from any seed on it. (Projecting steps onto the fixed-point subspace of each seed's
    stabiliser in ``symmetry`` would do the same automatically, but needs the stabiliser from
    the group; for now give the subspace.)

    References
    ----------
    P. E. Farrell, A. Birkisson and S. W. Funke, Deflation techniques for finding distinct
    solutions of nonlinear partial differential equations, SIAM J. Sci. Comput. 37, A2026 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.models import double_well
    >>> seeds = np.random.default_rng(0).uniform(-2, 2, size=(50, 2))
    >>> ds = find_fixed_points(double_well(), seeds)
    >>> ds["x"].values.round(6).tolist()
    [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    >>> ds["kind"].values.tolist(), ds["energy"].values.tolist()
    (['minimum', 'minimum', 'saddle-1'], [0.0, 0.0, 0.25])
    """
    require_flow(system, "find_fixed_points()")
    if not isinstance(options, NewtonOptions):
        raise InputTypeError(f"`options` must be a NewtonOptions; got {type(options).__name__}.")
    n = system.n
    x0 = _as_seeds(seeds, n)
    dedup_tol = check_positive(dedup_tol, "dedup_tol")
    rounds = _as_rounds(deflation)
    box = _as_bounds(bounds, n)
    symmetry = check_group(symmetry, n)
    if merge_manifolds and not (classify and connect_manifolds):
        raise InputError(
            "`merge_manifolds=True` needs the manifold labels: keep `classify=True` and "
            f"`connect_manifolds=True` (got classify={classify!r}, "
            f"connect_manifolds={connect_manifolds!r})."
        )
    flat = as_subspace(subspace, n)
    p = system.resolve_params(params)

    def residual(x: np.ndarray) -> np.ndarray:
        return system.f(x, p)

    solve, solve_whole = step_solvers(system, p, flat)
    if flat is not None:
        x0 = project_seeds(x0, flat, residual)

    catalogue = PointCatalogue(system, p, symmetry=symmetry, newton=options, zero_tol=zero_tol)

    def collect(run, round_: int) -> int:
        """Add the converged end points of a Newton run; return how many points are new."""
        ok = run.status == Status.CONVERGED
        before = len(catalogue)
        rows = catalogue.add(
            run.x[ok], "newton", tol=dedup_tol, residual=run.residual[ok], classify_new=False
        )
        fresh = len(catalogue) - before
        found_round.extend([round_] * fresh)
        n_seeds.extend([0] * fresh)
        if round_ == 0:
            for r, count in enumerate(np.bincount(rows, minlength=len(catalogue))):
                n_seeds[r] += int(count)
        return fresh

    found_round: list[int] = []
    n_seeds: list[int] = []
    first = newton_batch(residual, solve, x0, options)
    converged = first.status == Status.CONVERGED
    collect(first, 0)
    n_iterations = int(first.n_iter.sum())
    rounds_run = 0
    for round_ in range(1, rounds + 1):
        # deflate the points as Newton found them (canonical forms may lie elsewhere)
        run = newton_batch(residual, solve, x0, options, deflate=catalogue.x)
        rounds_run += 1
        n_iterations += int(run.n_iter.sum())
        if collect(run, round_) == 0:
            break
    found_round_arr = np.asarray(found_round, dtype=np.int64)
    n_seeds_arr = np.asarray(n_seeds, dtype=np.int64)

    keep = np.arange(len(catalogue))
    n_outside = 0
    if box is not None:
        # points on the boundary count as inside, up to the deduplication tolerance
        margin = (dedup_tol * relative_scale(catalogue.canonical))[:, None]
        inside = np.all(
            (catalogue.canonical >= box[0] - margin) & (catalogue.canonical <= box[1] + margin),
            axis=-1,
        )
        n_outside = int(np.count_nonzero(~inside))
        keep = keep[inside]
    points = catalogue.canonical[keep]
    energy = None
    if system.is_gradient:
        energy = system.potential(points, p) if len(points) else np.zeros(0)
    order = sort_order(points, energy)
    keep = keep[order]
    points = catalogue.canonical[keep]
    variables = {
        "x": (("point", "state"), points, {"long_name": "equilibrium state"}),
        "residual": (
            "point",
            np.linalg.norm(residual(points), axis=-1) if len(points) else np.zeros(0),
            {"long_name": "norm of the vector field at the point"},
        ),
        "status": status_variable(np.full(len(points), Status.CONVERGED), "point"),
        "n_seeds": (
            "point",
            n_seeds_arr[keep],
            {"long_name": "number of seeds converged to the point"},
        ),
        "deflation_round": (
            "point",
            found_round_arr[keep],
            {"long_name": "deflation round that found the point (0: plain Newton)"},
        ),
    }
    if energy is not None:
        variables["energy"] = ("point", energy[order], {"long_name": "potential at the point"})
    if symmetry is not None:
        variables.update(isotropy_variables(symmetry, points))
    counts = _status_counts(first.status)
    attrs = provenance(
        system.with_params(**p),
        tol=options.tol,
        step_tol=options.step_tol,
        max_iter=options.max_iter,
        dedup_tol=dedup_tol,
        deflation=rounds,
        n_seeds=len(x0),
        n_converged=int(np.count_nonzero(converged)),
        n_failed=int(np.count_nonzero(~converged)),
        **counts,
        n_outside_bounds=n_outside,
        n_found_by_deflation=int(np.count_nonzero(found_round_arr[keep] > 0)),
        n_deflation_rounds_run=rounds_run,
        n_newton_iterations=n_iterations,
        symmetry=None if symmetry is None else type(symmetry).__name__,
        subspace_dimension=n if flat is None else flat[1].shape[1],
        merge_manifolds=int(bool(merge_manifolds)),
    )
    ds = xr.Dataset(variables, coords={"state": list(system.state_names)}, attrs=attrs)
    if classify:
        ds = classify_points(system, ds, params=p, zero_tol=zero_tol)
        if connect_manifolds:
            radius = dedup_tol * catalogue.scale(keep)
            ds = label_manifolds(ds, system, p, residual, solve_whole, options, radius)
            labels = ds["manifold"].values
            ds.attrs["n_equilibrium_sets"] = int(np.count_nonzero(labels < 0)) + int(
                ds.attrs["n_manifolds"]
            )
            if merge_manifolds:
                ds = merge_manifold_points(ds)
    return ds
