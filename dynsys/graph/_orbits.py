"""Group orbits in the critical-point graph: the orbit of a manifold node, and the expansion of a
graph of orbits back to the full graph."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from .._group import check_group
from .._points import group_points, relative_scale

__all__ = ["add_route", "expand_graph", "manifold_orbit", "route_attributes"]

_MAX_IMAGES = 5000  # images of a manifold's points examined to count its orbit


def manifold_orbit(table, X: np.ndarray) -> tuple[np.ndarray, int]:
    """The points of the whole manifold through ``X[0]`` and the number of distinct images of
    that manifold under the group.

    The known points ``X`` of a manifold node are canonical forms; the manifold itself may reach
    out of the canonical region. All images ``g.X`` are grouped into connected manifolds (the
    rule of the graph's nodes); the group holding ``X[0]`` is the manifold, and the
    number of groups its multiplicity. Beyond ``5000`` images the node keeps ``X`` and the
    orbit size of ``X[0]`` instead.
    """
    symmetry = table.symmetry
    if symmetry.order * len(X) > _MAX_IMAGES:
        return X, int(symmetry.orbit_size(X[0]))
    g = np.array(list(symmetry.elements()))
    images = symmetry.act(g[:, None, :], X[None]).reshape(-1, X.shape[-1])
    images = images[group_points(images, table.options.dedup_tol)[1]]
    start = int(np.argmin(np.linalg.norm(images - X[0], axis=-1)))
    pieces = table.manifold_labels(images)
    lone = pieces < 0
    pieces[lone] = pieces.max(initial=-1) + 1 + np.arange(int(lone.sum()))
    mine = pieces == pieces[start]
    members = np.concatenate(
        [images[start][None], images[mine & (np.arange(len(images)) != start)]]
    )
    return members, int(np.unique(pieces).size)


def add_route(routes: list, record: dict, energy: np.ndarray, options) -> bool:
    """Append a trajectory to the routes of its edge unless one already ends at its end point
    (within ``match_tol``); return whether it was new."""
    path = record["path"]
    if len(path) == 0:
        return False
    end = path[-1]
    radius = options.match_tol * float(relative_scale(end))
    if any(np.linalg.norm(route[0][-1] - end) <= radius for route in routes):
        return False
    routes.append((path, record["time"], energy))
    return True


def _resample(path: np.ndarray, values: list[np.ndarray], points: int):
    """A path and values along it at ``points`` positions evenly spaced in arc length."""
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=-1))])
    target = np.linspace(0.0, s[-1], points)
    if s[-1] == 0:
        return [np.repeat(a[:1], points, axis=0) for a in (path, *values)]
    keep = np.concatenate([[True], np.diff(s) > 0])
    s = s[keep]
    out = [np.stack([np.interp(target, s, col) for col in path[keep].T], axis=-1)]
    out += [np.interp(target, s, v[keep]) for v in values]
    return out


def route_attributes(routes: list, points: int, n: int) -> dict[str, np.ndarray]:
    """Edge attributes holding every route of an edge of a graph of orbits, each resampled to
    ``points`` states: ``route_path (r, points, n)``, ``route_time``, ``route_energy``."""
    if not routes:
        return {
            "route_path": np.zeros((0, points, n)),
            "route_time": np.zeros((0, points)),
            "route_energy": np.zeros((0, points)),
        }
    sampled = [_resample(path, [time, energy], points) for path, time, energy in routes]
    return {
        "route_path": np.stack([r[0] for r in sampled]),
        "route_time": np.stack([r[1] for r in sampled]),
        "route_energy": np.stack([r[2] for r in sampled]),
    }


def _same_set(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    if a.shape != b.shape:
        return False
    if len(a) == 0:
        return True
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return bool(d.min(axis=1).max() <= tol and d.min(axis=0).max() <= tol)


def _images(symmetry, elements: np.ndarray, attrs: dict[str, Any], tol: float):
    """Distinct images of a node: for each element, the index of its image; the image states."""
    x = np.asarray(attrs["x"], dtype=float)
    members = np.asarray(attrs.get("members", x[None]), dtype=float)
    if len(members) == 0:
        members = x[None]
    kept: list[tuple[np.ndarray, np.ndarray]] = []
    which = np.empty(len(elements), dtype=np.int64)
    for e, g in enumerate(elements):
        gx, gm = symmetry.act(g, x), symmetry.act(g, members)
        scale = tol * float(relative_scale(gm).max())
        for j, (_, km) in enumerate(kept):
            if _same_set(gm, km, scale):
                which[e] = j
                break
        else:
            which[e] = len(kept)
            kept.append((gx, gm))
    return which, kept


def _state_length(G: nx.DiGraph) -> int | None:
    for _, attrs in G.nodes(data=True):
        x = np.asarray(attrs.get("x", []), dtype=float)
        if x.size:
            return x.size
    return None


def expand_graph(G: nx.DiGraph, symmetry, *, tol: float = 1e-6) -> nx.DiGraph:
    """Expand a graph of group orbits into the full graph of critical points.

    Each node (an orbit) becomes one node per distinct image ``g.x`` of its state (of its set of
    points, for a manifold node), with ``orbit`` set to the orbit's node id; each edge becomes
    the images ``g.s -> g.t`` with the path mapped by ``g``. Special nodes (``"escape"``,
    ``"unresolved"``) stay single.

    Parameters
    ----------
    G : networkx.DiGraph
        A graph from :func:`critical_point_graph` built with ``symmetry``.
    symmetry : dynsys.symmetry.StateGroup
        The same group; its elements are enumerated (cost ``order x (nodes + edges)``).
    tol : float
        Relative tolerance under which two images are one node.

    Returns
    -------
    networkx.DiGraph
        The expanded graph, attributes as in ``G`` (``G.graph["expanded"] = True``).

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``symmetry`` is not a StateGroup.

    Notes
    -----
    An edge of the graph of orbits may stand for several routes: trajectories from the saddle's
    representative to different points of the target orbit (e.g. to a teacher and to its
    permutation). They are stored in ``route_path``, ``route_time``, ``route_energy`` (resampled
    to ``path_points`` states, the first being the edge's own ``path``), and each is expanded;
    scalar edge attributes (``arc_length``, ``t_final``, ...) are those of the first route.

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.symmetry import PermutationSymmetry
    >>> G = nx.DiGraph()
    >>> G.add_node(0, x=np.array([1.0, 2.0]), kind="minimum", multiplicity=2)
    >>> H = expand_graph(G, PermutationSymmetry(2, 1))
    >>> sorted(H.nodes[k]["x"].tolist() for k in H)
    [[1.0, 2.0], [2.0, 1.0]]
    """
    symmetry = check_group(symmetry, _state_length(G))
    elements = np.array(list(symmetry.elements()))
    H = nx.DiGraph()
    H.graph.update(G.graph, expanded=True)
    image_ids: dict[Any, np.ndarray] = {}
    image_states: dict[Any, list] = {}
    for q, attrs in G.nodes(data=True):
        x = np.asarray(attrs.get("x", []), dtype=float)
        if x.size == 0 or not np.all(np.isfinite(x)):
            new = len(H)
            H.add_node(new, **{**attrs, "orbit": attrs.get("orbit", q)})
            image_ids[q] = np.full(len(elements), new)
            image_states[q] = []
            continue
        which, kept = _images(symmetry, elements, attrs, tol)
        first = len(H)
        for j, (gx, gm) in enumerate(kept):
            image = {**attrs, "x": gx, "members": gm, "orbit": attrs.get("orbit", q)}
            if "isotropy_generators" in attrs:  # the isotropy of g.x is g H g^-1
                g = elements[int(np.flatnonzero(which == j)[0])]
                h = np.asarray(attrs["isotropy_generators"], dtype=np.int64)
                image["isotropy_generators"] = symmetry.compose(
                    g, symmetry.compose(h, symmetry.inverse(g))
                ).reshape(h.shape)
            H.add_node(len(H), **image)
        image_ids[q] = first + which
        image_states[q] = kept
    route_keys = ("route_path", "route_time", "route_energy")
    for s, t, attrs in G.edges(data=True):
        base = {k: v for k, v in attrs.items() if k not in route_keys}
        path = np.asarray(attrs.get("path", np.zeros((0, symmetry.n))), dtype=float)
        routes = [(path, base.get("path_time"), base.get("path_energy"))]
        if "route_path" in attrs:
            routes += list(
                zip(
                    attrs["route_path"][1:],
                    attrs["route_time"][1:],
                    attrs["route_energy"][1:],
                    strict=True,
                )
            )
        for route, time, energy in routes:
            for e, g in enumerate(elements):
                source = int(image_ids[s][e])
                moved = symmetry.act(g, route) if len(route) else route
                target = int(image_ids[t][e])
                if image_states[t] and len(moved):
                    d = [np.linalg.norm(gm - moved[-1], axis=-1).min() for _, gm in image_states[t]]
                    target = int(np.min(image_ids[t]) + int(np.argmin(d)))
                if not H.has_edge(source, target):
                    H.add_edge(
                        source,
                        target,
                        **{**base, "path": moved, "path_time": time, "path_energy": energy},
                    )
    return H
