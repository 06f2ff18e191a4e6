"""Saddles between minima: candidates from strings and dimers, refined by Newton, classified,
and accepted only when the two halves of their unstable manifold end at two minima."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from .._group import check_group
from .._points import PointCatalogue, Refined, sort_order
from .._status import Status, status_attrs
from ..errors import InputError
from ..graph import ESCAPE, UNRESOLVED, critical_point_graph
from ..stability import classify
from ._common import Counter, check_options, largest_curvature, require_potential, states
from ._dimer import run_dimers
from ._options import SaddleOptions
from ._string import minima_catalogue, run_strings

__all__ = ["find_saddles", "graph_points"]

_METHODS = ("string", "dimer", "both")


def _pairs(m: int, pairs) -> list[tuple[int, int]]:
    if pairs is None:
        return list(itertools.combinations(range(m), 2))
    P = np.asarray(pairs)
    if P.ndim != 2 or P.shape[1] != 2 or not np.issubdtype(P.dtype, np.integer):
        raise InputError(f"`pairs` has shape {P.shape}; expected (k, 2) integer rows of `minima`.")
    if P.size and (P.min() < 0 or P.max() >= m or (P[:, 0] == P[:, 1]).any()):
        raise InputError(
            f"`pairs` must hold two different rows of the {m} minima; got {P.tolist()}."
        )
    return [(int(a), int(b)) for a, b in P]


def _dimer_starts(system, p, X, opts, rng) -> tuple[np.ndarray, np.ndarray]:
    """Walkers from each minimum: along its ``dimer_modes`` softest modes (both signs) and
    ``dimer_walkers`` random directions, at ``dimer_offset`` (relative)."""
    H = -np.asarray(system.jac_dense(X, p), dtype=float)
    _, vec = np.linalg.eigh(0.5 * (H + np.swapaxes(H, -1, -2)))
    starts, dirs = [], []
    k = min(opts.dimer_modes, system.n)
    for x, E in zip(X, vec, strict=True):
        d = [E[:, j] * s for j in range(k) for s in (1.0, -1.0)]
        if opts.dimer_walkers:
            r = rng.standard_normal((opts.dimer_walkers, system.n))
            d += list(r / np.linalg.norm(r, axis=-1, keepdims=True))
        d = np.array(d).reshape(-1, system.n)
        off = opts.dimer_offset * max(1.0, float(np.abs(x).max()))
        starts.append(x + off * d)
        dirs.append(d)
    return np.concatenate(starts), np.concatenate(dirs)


def _ends(G, node) -> list[int] | None:
    """The two minima (graph nodes) the manifold of a saddle node ends at, or None."""
    out = []
    for t in G.successors(node):
        if t in (ESCAPE, UNRESOLVED) or G.nodes[t]["kind"] != "minimum":
            return None
        out += [t] * int(G.edges[node, t]["n_routes"])
    n_traj = sum(int(G.edges[node, t]["n_trajectories"]) for t in G.successors(node))
    if n_traj != 2 or len(out) != 2:
        return None
    return out


def _verify(system, p, X, search, minima: PointCatalogue, opts: SaddleOptions, symmetry):
    """Refine, classify, deduplicate and trace the candidates ``X (c, n)``; those whose search
    did not converge (``search`` codes other than ``converged``) keep that code unrefined."""
    saddles = PointCatalogue(
        system,
        p,
        symmetry=symmetry,
        newton=opts.newton,
        zero_tol=opts.zero_tol,
        refine_tol=opts.refine_tol,
    )
    go = np.flatnonzero(search == Status.CONVERGED)
    outcome = search.astype(np.int8).copy()
    part = saddles.refine(X[go])
    refined = Refined(X.copy(), outcome.copy(), np.full(len(X), np.nan))
    refined.x[go], refined.status[go], refined.residual[go] = part.x, part.status, part.residual
    outcome[go] = part.status
    index = np.full(len(X), -1, dtype=np.int64)
    ok = np.flatnonzero(outcome == Status.CONVERGED)
    if ok.size:
        ds = classify(system, refined.x[ok], params=p, zero_tol=opts.zero_tol)
        index[ok] = ds["index"].values
        wrong = (ds["index"].values != 1) | (ds["nullity"].values != 0)
        outcome[ok[wrong]] = Status.WRONG_INDEX
    row = np.full(len(X), -1, dtype=np.int64)
    good = np.flatnonzero(outcome == Status.CONVERGED)
    if good.size:
        energy = system.potential(refined.x[good], p)
        order = good[sort_order(refined.x[good], energy)]
        row[order] = saddles.add(
            refined.x[order],
            "candidate",
            tol=opts.graph.dedup_tol,
            residual=refined.residual[order],
        )
    ends = np.full((len(saddles), 2), -1, dtype=np.int64)
    if len(saddles):
        G = critical_point_graph(
            system,
            saddles.x,
            params=p,
            options=opts.graph.replace(max_rounds=1),
            symmetry=symmetry,
        )
        for node in G:
            if G.nodes[node]["found_by"] != "input":
                continue
            r = int(saddles.match(G.nodes[node]["x"][None], opts.graph.match_tol)[0][0])
            found = _ends(G, node) if r >= 0 else None
            if found is None:
                continue
            rows = []
            for t in found:
                x = G.nodes[t]["x"][None]
                m = int(minima.match(x, opts.match_tol)[0][0])
                if m < 0:
                    m = int(minima.add(x, "manifold", tol=opts.match_tol)[0])
                rows.append(m)
            if rows[0] != rows[1] or (symmetry is not None and found[0] == found[1]):
                ends[r] = sorted(rows)
    if len(saddles):
        connected = ends[:, 0] >= 0
        outcome[(row >= 0) & ~connected[np.maximum(row, 0)]] = Status.UNCONNECTED
    return refined, outcome, index, row, saddles, ends


def find_saddles(
    system,
    minima,
    *,
    pairs: Sequence[Sequence[int]] | None = None,
    method: str = "string",
    params: Mapping[str, Any] | None = None,
    options: SaddleOptions | None = None,
    seed: int = 0,
    symmetry=None,
) -> xr.Dataset:
    """Index-1 saddles between minima, each verified by its unstable manifold.

    Candidates come from climbing strings between pairs of minima
    (:func:`~dynsys.saddles.string_method`, split at the intermediate minima they find) and/or
    dimer walkers started from each minimum along its softest modes and seeded random
    directions (:func:`~dynsys.saddles.dimer_search`). Each candidate is refined by Newton,
    classified by its Hessian, and the distinct index-1 points are traced along both halves of
    their unstable manifold by :func:`dynsys.graph.critical_point_graph` (one round). A saddle is
    accepted only when the two trajectories end at two distinct minima (with ``symmetry``: two
    distinct points, possibly of one orbit).

    Parameters
    ----------
    system : GradientSystem
        The potential.
    minima : array_like, shape (m, n)
        Known minima (refined by Newton; each must be a minimum).
    pairs : sequence of (int, int), optional
        Rows of ``minima`` joined by strings; all pairs by default.
    method : {"string", "dimer", "both"}
        Where candidates come from.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : SaddleOptions, optional
        Settings; ``SaddleOptions()`` when omitted.
    seed : int
        Seed of the strings' initial displacements and the dimers' random directions: the same
        seed gives the same Dataset, bit for bit.
    symmetry : dynsys.symmetry.StateGroup, optional
        Saddles and minima are compared up to this group.

    Returns
    -------
    xarray.Dataset
        Dims ``saddle``, ``candidate``, ``minimum``, ``state``.

        - Over ``saddle`` (accepted saddles, by energy): ``x``, ``energy``, ``index`` (1),
          ``minimum_a``, ``minimum_b`` (rows of ``minimum``), ``barrier_a``, ``barrier_b``
          (``V(saddle) - V(minimum)``), ``n_candidates``.
        - Over ``candidate``: ``candidate_x`` (before Newton), ``candidate_root`` (after),
          ``candidate_source`` (``"string"``, ``"dimer"``), ``candidate_index`` (Hessian index of
          the root; -1 if Newton failed), ``candidate_saddle`` (row of ``saddle`` or -1),
          ``outcome`` (:class:`dynsys.Status`: ``converged`` accepted, ``wrong_index``,
          ``unconnected`` (the manifold does not end at two minima), or Newton's failure
          ``max_iter``, ``singular_jacobian``, ``nonfinite``, ``unverified``).
        - Over ``minimum``: ``minimum_x``, ``minimum_energy``, ``minimum_origin`` (``"given"``,
          ``"path"``: an intermediate minimum of a string, ``"manifold"``: the end of a traced
          manifold).

        Attributes: provenance, the options, ``method``, ``seed``, ``n_gradient_search``
        (gradient evaluations of the strings and dimers, Hessian-vector products included),
        ``n_strings``, ``n_walkers``.

    Raises
    ------
    dynsys.errors.InputError
        If the system is not a GradientSystem, a given minimum is not one, or ``method`` or
        ``pairs`` is invalid.

    Examples
    --------
    >>> from dynsys.models import mueller_brown
    >>> ds = find_saddles(mueller_brown(), [[-0.558, 1.442], [0.623, 0.028], [-0.050, 0.467]])
    >>> ds["x"].values.round(3).tolist()
    [[0.212, 0.293], [-0.822, 0.624]]
    >>> ds["minimum_a"].values.tolist(), ds["minimum_b"].values.tolist()
    ([1, 0], [2, 2])
    """
    require_potential(system, "find_saddles()")
    opts = check_options(options)
    if method not in _METHODS:
        raise InputError(f"`method` must be one of {list(_METHODS)}; got {method!r}.")
    symmetry = check_group(symmetry, system.n)
    p = system.resolve_params(params)
    X = states(minima, system.n, "minima")
    cat, rows = minima_catalogue(system, p, X, opts, symmetry)
    pair_rows = [(int(rows[a]), int(rows[b])) for a, b in _pairs(len(X), pairs)]
    pair_rows = [(a, b) for a, b in pair_rows if a != b]
    rng = np.random.default_rng(seed)
    counter = Counter(system, p)
    cand, source, search = [], [], []
    n_strings = n_walkers = 0
    if method in ("string", "both") and pair_rows:
        run = run_strings(system, p, cat, pair_rows, opts, rng, counter)
        n_strings = len(run.paths)
        for P, c in zip(run.paths, run.climbing, strict=True):
            cand.append(P[c])
            source.append("string")
            search.append(Status.CONVERGED)  # a string's top image is refined even at max_iter
    if method in ("dimer", "both"):
        given = cat.x[np.unique(rows)]
        starts, dirs = _dimer_starts(system, p, given, opts, rng)
        n_walkers = len(starts)
        dt = opts.time_step or opts.step_factor / largest_curvature(system, p, given)
        g_scale = max(1.0, float(np.linalg.norm(counter.gradient(starts), axis=-1).max()))
        Xd, _, _, _, st, _ = run_dimers(counter, starts, dirs, opts, dt, g_scale)
        cand += list(Xd)
        source += ["dimer"] * len(Xd)
        search += list(st)
    C = np.array(cand).reshape(-1, system.n)
    refined, outcome, index, row, saddles, ends = _verify(
        system, p, C, np.array(search, dtype=np.int8), cat, opts, symmetry
    )
    keep = np.flatnonzero(ends[:, 0] >= 0)
    energy_s = system.potential(saddles.x[keep], p) if keep.size else np.zeros(0)
    order = keep[np.lexsort((saddles.x[keep, 0], energy_s))] if keep.size else keep
    new_row = np.full(len(saddles), -1, dtype=np.int64)
    new_row[order] = np.arange(order.size)
    cand_saddle = np.full(len(row), -1, dtype=np.int64)
    cand_saddle[row >= 0] = new_row[row[row >= 0]]
    S = saddles.x[order]
    E = np.asarray(system.potential(S, p), dtype=float).reshape(-1)
    a, b = ends[order, 0], ends[order, 1]
    cat.classify_rows(np.flatnonzero(cat.index < 0))
    Em = cat.energy
    ds = xr.Dataset(
        {
            "x": (("saddle", "state"), S, {"long_name": "index-1 saddle"}),
            "energy": ("saddle", E),
            "index": ("saddle", np.ones(len(S), dtype=np.int64)),
            "minimum_a": ("saddle", a, {"long_name": "row of `minimum` at one end"}),
            "minimum_b": ("saddle", b, {"long_name": "row of `minimum` at the other end"}),
            "barrier_a": ("saddle", E - Em[a] if len(S) else E),
            "barrier_b": ("saddle", E - Em[b] if len(S) else E),
            "n_candidates": (
                "saddle",
                np.bincount(cand_saddle[cand_saddle >= 0], minlength=len(S)),
            ),
            "candidate_x": (("candidate", "state"), C),
            "candidate_root": (("candidate", "state"), refined.x),
            "candidate_source": ("candidate", np.array(source, dtype=str)),
            "candidate_index": ("candidate", index),
            "candidate_saddle": ("candidate", cand_saddle),
            "outcome": ("candidate", outcome, status_attrs()),
            "minimum_x": (("minimum", "state"), cat.x.copy()),
            "minimum_energy": ("minimum", Em.copy()),
            "minimum_origin": ("minimum", cat.origin.astype(str)),
        },
        coords={"state": list(system.state_names)},
        attrs=provenance(
            system.with_params(**p),
            **opts.as_attrs(),
            method=method,
            seed=seed,
            n_gradient_search=counter.count,
            n_strings=n_strings,
            n_walkers=n_walkers,
            symmetry=None if symmetry is None else type(symmetry).__name__,
        ),
    )
    return ds


def graph_points(saddles: xr.Dataset) -> np.ndarray:
    """The minima and the accepted saddles of a :func:`find_saddles` result, as states
    ``(m, n)`` for :func:`dynsys.graph.critical_point_graph`.

    Examples
    --------
    >>> from dynsys.graph import critical_point_graph
    >>> from dynsys.models import mueller_brown
    >>> system = mueller_brown()
    >>> ds = find_saddles(system, [[-0.558, 1.442], [0.623, 0.028], [-0.050, 0.467]])
    >>> G = critical_point_graph(system, graph_points(ds))
    >>> G.number_of_edges()
    4
    """
    if not isinstance(saddles, xr.Dataset) or "minimum_x" not in saddles or "x" not in saddles:
        raise InputError("`saddles` must be a find_saddles() Dataset (with `x` and `minimum_x`).")
    return np.concatenate([saddles["minimum_x"].values, saddles["x"].values])
