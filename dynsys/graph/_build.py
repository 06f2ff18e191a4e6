"""Build the critical-point graph: trace the unstable manifolds of saddles until no new saddle
appears, then assemble the networkx graph (see :mod:`dynsys.graph` for its layout)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx
import numpy as np
import xarray as xr

from .._dataset import provenance
from .._group import check_group
from .._points import Arrival, arrival_tolerance
from .._status import Status, status_names
from .._validate import as_state_batch
from ..errors import InputError, InputTypeError
from ..maps import require_flow
from ..stability import classify
from ..symmetry import isotropy
from ._nodes import NodeTable
from ._options import GraphOptions
from ._orbits import add_route, manifold_orbit, route_attributes
from ._trace import start_states, trace, unstable_basis

__all__ = ["ESCAPE", "UNRESOLVED", "critical_point_graph"]

ESCAPE = "escape"
UNRESOLVED = "unresolved"
_SPECIAL = (ESCAPE, UNRESOLVED)


def _input_points(system, fixed_points) -> np.ndarray:
    if isinstance(fixed_points, xr.Dataset):
        if "x" not in fixed_points or fixed_points["x"].dims != ("point", "state"):
            raise InputError(
                "`fixed_points` is a Dataset without `x(point, state)`; pass the result of "
                "find_fixed_points() or an array of states (m, n)."
            )
        X = np.asarray(fixed_points["x"].values, dtype=float)
    else:
        X = np.asarray(fixed_points, dtype=float)
        if X.ndim == 1 and X.size == 0:
            X = X.reshape(0, system.n)
    X = as_state_batch(X, system.n, name="fixed_points")
    return X.reshape(-1, system.n)


def _refine_input(table: NodeTable, X: np.ndarray) -> np.ndarray:
    """Newton-refine the given points (the catalogue's acceptance rule); a point from which
    Newton finds no critical point within ``refine_tol`` is an error: a node is a verified
    critical point, never a guess."""
    refined = table.refine(X)
    ok = refined.status == Status.CONVERGED
    if not ok.all():
        bad = np.flatnonzero(~ok)
        names, counts = np.unique(status_names(refined.status[bad]), return_counts=True)
        why = ", ".join(f"{name} {count}" for name, count in zip(names, counts, strict=True))
        raise InputError(
            f"{bad.size} of the {len(X)} given points (rows {bad[:10].tolist()}) are not "
            "critical points, and Newton finds none within `refine_tol` of them with |f| <= "
            f"newton.tol (Newton: {why}). Give critical points, e.g. from find_fixed_points()."
        )
    return refined.x


def _traceable(table: NodeTable, node: int, rep: int) -> bool:
    index, n = int(table.index[rep]), table.system.n
    return index >= 1 and (index < n or table.options.trace_maxima) and not table.traced[node]


def _starts(table: NodeTable, nodes: list[int], reps: list[int], converge_tol: float):
    """Start states of every direction of every node to trace, with owner, direction, offset."""
    X = table.x[reps]
    ds = classify(
        table.system, X, params=table.p, eigenvectors=True, zero_tol=table.options.zero_tol
    )
    lam = ds["eigenvalue_real"].values + 1j * ds["eigenvalue_imag"].values
    vec = ds["eigenvector_real"].values + 1j * ds["eigenvector_imag"].values
    starts, owner, direction, offset = [], [], [], []
    for row, node in enumerate(nodes):
        thr = table.options.zero_tol * max(1.0, float(np.abs(lam[row]).max()))
        basis, lambda_u = unstable_basis(lam[row], vec[row], thr)
        if basis.shape[1] == 0:
            continue
        s, delta = start_states(X[row], basis, lambda_u, table.options, converge_tol)
        starts.append(s)
        owner += [node] * len(s)
        direction += list(range(len(s)))
        offset += [delta] * len(s)
    if not starts:
        return np.zeros((0, table.system.n)), [], [], []
    return np.concatenate(starts), owner, direction, offset


def _targets(table: NodeTable, traced, converge_tol: float) -> tuple[list, np.ndarray]:
    """Target of each trajectory (node id or a special name) and its edge status.

    Settled end points (converged, or stopped by a limit with ``|f| <= rescue_factor *
    converge_tol``) are matched to known points within ``match_tol``; the others are refined
    (:meth:`~dynsys._points.PointCatalogue.refine`) and their verified roots added. An end point
    whose refinement fails goes to UNRESOLVED with the refinement's status (``unverified``: the
    root lies farther than ``refine_tol``; else Newton's own failure). Escaped orbits go to
    ESCAPE, every other outcome to UNRESOLVED with the flow's status.
    """
    opts = table.options
    status = traced.status.copy()
    targets: list[Any] = [UNRESOLVED] * len(status)
    for i in np.flatnonzero(status == Status.ESCAPED):
        targets[i] = ESCAPE
    settled = (status == Status.CONVERGED) | (
        np.isin(status, (Status.TIME_LIMIT, Status.MAX_STEPS))
        & (traced.speed_final <= opts.rescue_factor * converge_tol)
    )
    settled = np.flatnonzero(settled)
    nodes = table.match(traced.x_final[settled])
    for i, node in zip(settled, nodes, strict=True):
        if node >= 0:
            targets[i] = int(node)
    refine = settled[nodes < 0]
    if refine.size:
        refined = table.refine(traced.x_final[refine])
        ok = refined.status == Status.CONVERGED
        found = table.add_points(refined.x[ok], "flow", residual=refined.residual[ok])
        for i, node in zip(refine[ok], found, strict=True):
            targets[i] = int(node)
        status[refine[~ok]] = refined.status[~ok]
    return targets, status


def critical_point_graph(
    system,
    fixed_points,
    *,
    params: Mapping[str, Any] | None = None,
    options: GraphOptions | None = None,
    symmetry=None,
    progress: bool = False,
) -> nx.DiGraph:
    """Build the graph of critical points joined by the trajectories leaving the saddles.

    From every node with unstable directions (saddles; maxima and sources too with
    ``trace_maxima``) trajectories start along its unstable directions (both signs of the
    eigenvector for index 1, a deterministic set of directions on the unstable sphere for higher
    index; see :class:`GraphOptions`) and are integrated, all in one batch per round, until they
    converge. Each end point is matched to a known critical point (up to ``symmetry``); one that
    matches none is refined by Newton, classified and added as a new node, and new saddles are
    traced in the next round, so the graph completes itself.

    Parameters
    ----------
    system : System or GradientSystem
        The vector field. For general systems the same construction runs without energies.
    fixed_points : xarray.Dataset or array_like
        Known critical points: a result of :func:`dynsys.fixedpoints.find_fixed_points` (its
        ``x(point, state)`` is used) or states ``(m, n)``. They are refined by Newton and
        re-classified. Give at least the saddles: nodes found at the ends of trajectories are
        added, but a saddle that no trajectory reaches is only known if given.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : GraphOptions, optional
        Tolerances, directions and integration settings; ``GraphOptions()`` when omitted.
    symmetry : dynsys.symmetry.StateGroup, optional
        A group of the system (e.g. ``PermutationSymmetry(K, d)``): nodes are then group orbits
        (one node per orbit, ``multiplicity`` its size, ``x`` a canonical representative) and
        edges orbits of edges; :func:`expand_graph` gives back the full graph. Each node also
        gets the isotropy subgroup of ``x`` (:func:`dynsys.symmetry.isotropy`):
        ``isotropy_order``, ``isotropy_name`` and ``isotropy_generators`` (an int array
        ``(m, n)`` of group elements; padded with -1 in the Dataset, sizes ``n_generator``).
    progress : bool
        Show a progress bar of each round's batch.

    Returns
    -------
    networkx.DiGraph
        Nodes and edges with the attributes listed in :mod:`dynsys.graph`; trajectories that
        escape or do not end at a critical point are edges to the special nodes ``"escape"``
        and ``"unresolved"``. ``G.graph`` holds provenance, the options, ``complete`` (no
        untraced saddle left), ``n_rounds`` and the arrival threshold
        (``converge_tol_requested``, ``converge_tol_used``, ``converge_tol_note`` when raised).

    Raises
    ------
    dynsys.errors.InputError
        If ``fixed_points`` has the wrong shape, holds a point that Newton cannot verify as a
        critical point (within ``refine_tol``), or ``symmetry`` acts on another dimension.
    dynsys.errors.InputTypeError
        If ``options`` is not a GraphOptions or ``symmetry`` not a StateGroup.

    Warns
    -----
    dynsys._points.ToleranceWarning
        If ``options.flow.converge_tol`` lies below the arrival floor and was raised to it.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> G = critical_point_graph(double_well(), [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    >>> sorted((G.nodes[s]["kind"], G.nodes[t]["kind"]) for s, t in G.edges)
    [('saddle-1', 'minimum'), ('saddle-1', 'minimum')]
    """
    require_flow(system, "critical_point_graph()")
    options = GraphOptions() if options is None else options
    if not isinstance(options, GraphOptions):
        raise InputTypeError(f"`options` must be a GraphOptions; got {type(options).__name__}.")
    symmetry = check_group(symmetry, system.n)
    p = system.resolve_params(params)
    table = NodeTable(system, p, options, symmetry)
    table.add_points(_refine_input(table, _input_points(system, fixed_points)), "input")
    records: list[dict[str, Any]] = []
    n_rounds, arrival = 0, None
    for _ in range(options.max_rounds):
        nodes = table.roots()
        reps = [int(table.members(k)[0]) for k in nodes]
        todo = [(k, r) for k, r in zip(nodes, reps, strict=True) if _traceable(table, k, r)]
        if not todo:
            break
        n_rounds += 1
        flow = options.flow
        here = arrival_tolerance(
            flow.converge_tol,
            rtol=flow.rtol,
            atol=flow.atol,
            spectral_radius=table.catalogue.spectral_radius(),
            scale=table.catalogue.scale(),
            explicit=flow.method in ("dopri5", "dop853"),
        )
        if arrival is None or here.used > arrival.used:
            arrival = here
        tol = here.used
        nodes_todo, reps_todo = (list(v) for v in zip(*todo, strict=True))
        starts, owner, direction, offset = _starts(table, nodes_todo, reps_todo, tol)
        for k, _ in todo:
            table.traced[k] = True
        if len(starts) == 0:
            continue
        traced = trace(system, starts, p, options, tol, progress=progress)
        targets, status = _targets(table, traced, tol)
        for i in range(len(starts)):
            records.append(
                {
                    "source": owner[i],
                    "target": targets[i],
                    "direction": direction[i],
                    "offset": offset[i],
                    "status": int(status[i]),
                    "t_final": traced.t_final[i],
                    "path": traced.paths[i],
                    "time": traced.times[i],
                    "arc_length": traced.arc_length[i],
                }
            )
    complete = not any(_traceable(table, k, int(table.members(k)[0])) for k in table.roots())
    if arrival is None:  # nothing traced: no threshold was used
        arrival = Arrival(options.flow.converge_tol, np.nan, np.nan)
    return _assemble(table, records, n_rounds=n_rounds, complete=complete, **arrival.as_attrs())


def _node_attributes(table: NodeTable, node: int, node_id: int) -> dict[str, Any]:
    members = table.members(node)
    rep = int(members[0])
    x = table.x[rep]
    X = table.x[members]
    multiplicity = 1
    extra: dict[str, Any] = {}
    if table.symmetry is not None:
        if table.nullity[rep] > 0:
            X, multiplicity = manifold_orbit(table, X)
        else:
            multiplicity = int(table.symmetry.orbit_size(x))
        H = isotropy(table.symmetry, x)
        extra = {
            "isotropy_order": int(H.order),
            "isotropy_name": H.name,
            "isotropy_generators": np.array(H.generators, dtype=np.int64),
        }
    return {
        "x": x.copy(),
        "kind": str(table.kind[rep]),
        "index": int(table.index[rep]),
        "nullity": int(table.nullity[rep]),
        "energy": float(table.energy[rep]),
        "residual": float(table.residual[rep]),
        "eigenvalue_real": table.eigenvalues[rep].real.copy(),
        "eigenvalue_imag": table.eigenvalues[rep].imag.copy(),
        "orbit": node_id,
        "multiplicity": multiplicity,
        "members": X.copy(),
        "found_by": str(table.found_by[rep]),
        "traced": bool(table.traced[node]),
        **extra,
    }


def _special_attributes(kind: str, node_id: int, n: int) -> dict[str, Any]:
    nan = np.full(n, np.nan)
    return {
        "x": nan.copy(),
        "kind": kind,
        "index": -1,
        "nullity": -1,
        "energy": np.nan,
        "residual": np.nan,
        "eigenvalue_real": nan.copy(),
        "eigenvalue_imag": nan.copy(),
        "orbit": node_id,
        "multiplicity": 1,
        "members": np.zeros((0, n)),
        "found_by": "flow",
        "traced": False,
    }


def _energy_along(system, p, path: np.ndarray) -> np.ndarray:
    if not system.is_gradient or len(path) == 0:
        return np.full(len(path), np.nan)
    return np.asarray(system.potential(path, p), dtype=float)


def _assemble(table: NodeTable, records, **counters) -> nx.DiGraph:
    system, p, options = table.system, table.p, table.options
    G = nx.DiGraph()
    G.graph.update(
        provenance(
            system.with_params(**p),
            **options.as_attrs(),
            **counters,
            symmetry=None if table.symmetry is None else type(table.symmetry).__name__,
            symmetry_order=None if table.symmetry is None else table.symmetry.order,
        )
    )
    ids = {k: i for i, k in enumerate(table.roots())}
    for k, i in ids.items():
        G.add_node(i, **_node_attributes(table, k, i))
    for name in _SPECIAL:
        if any(r["target"] == name for r in records):
            ids[name] = len(G)
            G.add_node(ids[name], **_special_attributes(name, ids[name], system.n))
            if table.symmetry is not None:  # no state: no isotropy
                G.nodes[ids[name]].update(
                    isotropy_order=0,
                    isotropy_name="",
                    isotropy_generators=np.zeros((0, system.n), dtype=np.int64),
                )
    routes: dict[tuple[int, int], list] = {}
    for r in records:
        source = ids[table.root(r["source"])]
        target = r["target"]
        target = ids[target] if target in _SPECIAL else ids[table.root(target)]
        energy = _energy_along(system, p, r["path"])
        new_route = add_route(routes.setdefault((source, target), []), r, energy, options)
        if G.has_edge(source, target):
            G.edges[source, target]["n_trajectories"] += 1
            G.edges[source, target]["n_routes"] += int(new_route)
            continue
        end_energy = G.nodes[target]["energy"]
        if not np.isfinite(end_energy) and len(energy):
            end_energy = energy[-1]
        G.add_edge(
            source,
            target,
            path=r["path"],
            path_time=r["time"],
            path_energy=energy,
            arc_length=float(r["arc_length"]),
            energy_drop=float(G.nodes[source]["energy"] - end_energy),
            t_final=float(r["t_final"]),
            status=int(r["status"]),
            direction=int(r["direction"]),
            offset=float(r["offset"]),
            n_trajectories=1,
            n_routes=1,
        )
    if table.symmetry is not None:
        for (u, v), found in routes.items():
            G.edges[u, v].update(route_attributes(found, options.path_points, system.n))
    return G
