"""The critical-point graph: saddles and minima joined by the trajectories between them.

:func:`critical_point_graph` follows the flow itself: from each saddle, trajectories leave along
its unstable directions and run until they settle at another critical point, which becomes the
edge's target (found and added when it was not known). With a symmetry group the graph is one of
group orbits (:func:`expand_graph` restores the full one). The graph is a ``networkx.DiGraph``;
it converts to a Dataset (:func:`to_dataset`, :func:`from_dataset`, saved with
:func:`dynsys.io.save`) and to GraphML (:func:`write_graphml`, :func:`read_graphml`). The
queries (:func:`minima`, :func:`lowest_barrier`, :func:`disconnectivity_tree`, ...) work on it and
on any hand-built DiGraph with the same attributes.

Nodes (integer ids ``0, 1, ...``)
---------------------------------
``x`` (n,)
    The state (with a group: a canonical representative of the orbit).
``kind``, ``index``, ``nullity``
    Classification (:func:`dynsys.stability.classify`): unstable directions, zero eigenvalues.
``energy``
    The potential (NaN for general systems). ``residual``: ``|f(x)|``.
``eigenvalue_real``, ``eigenvalue_imag`` (n,)
    Jacobian eigenvalues, real part descending.
``members`` (m, n)
    The known points of the node: ``x`` alone for an isolated point; for a manifold of critical
    points (``nullity > 0``) the points found on it (with a group: on the whole manifold).
``orbit``, ``multiplicity``
    The id of the node's group orbit (its own id unless expanded) and the orbit size (1 without a
    group; for a manifold, the number of distinct images of the manifold).
``found_by``
    ``"input"`` (given), ``"flow"`` (found at the end of a trajectory).
``traced``
    Whether trajectories were started from it.

Two special nodes collect the trajectories that do not end at a verified critical point:
``kind`` ``"escape"`` and ``"unresolved"``. They exist only when needed, have
``index = nullity = -1`` and NaN states.

Edges (saddle -> end)
---------------------
``path`` (p, n), ``path_time`` (p,), ``path_energy`` (p,)
    The trajectory, at most ``path_points`` states evenly spaced in arc length, ending with the
    final state.
``arc_length``
    Length of the trajectory (measured on ``path_resolution`` saved states).
``energy_drop``
    ``E(saddle) - E(end)`` (the barrier seen from the end node); NaN for general systems.
``t_final``
    Integration time.
``status``
    The code of the one outcome table (:class:`dynsys.Status`; :func:`dynsys.explain` says what
    a code means). To a node: ``converged``, or ``time_limit`` / ``max_steps`` when the
    trajectory stopped at a limit with ``|f| <= rescue_factor * converge_tol`` already and its end
    point was a known point or Newton verified one there. To ``"escape"``: ``escaped``. To
    ``"unresolved"``: the flow's failure (``time_limit``, ``max_steps``, ``nonfinite``,
    ``step_underflow``) or the refinement's (``unverified``: Newton's root lies farther than
    ``refine_tol`` from the end point; ``max_iter``, ``singular_jacobian``, ``nonfinite``: Newton
    failed from it).
``direction``, ``offset``
    The number of the direction in the saddle's list, and the distance of the start from it.
``n_trajectories``, ``n_routes``
    How many traced directions gave this edge (one trajectory is stored), and how many distinct
    end points they reached.
``route_path`` (r, P, n), ``route_time`` (r, P), ``route_energy`` (r, P)
    Graphs built with a group only: every route of the edge (trajectories from the saddle's
    representative to different points of the target orbit), each resampled to ``P =
    path_points`` states evenly in arc length; route 0 is ``path``. :func:`expand_graph` expands
    each of them.

Dataset layout (:func:`to_dataset`)
-----------------------------------
Dims ``node``, ``edge``, ``state``, ``mode``, ``member``, ``sample``. Coordinates ``node`` (ids),
``state`` (names). Variables: each node attribute over ``node`` (``x(node, state)``,
``eigenvalue_real(node, mode)``, ``members(node, member, state)`` padded with NaN,
``n_member(node)``), each edge attribute over ``edge`` (``path(edge, sample, state)``,
``path_time(edge, sample)``, ``path_energy(edge, sample)`` padded with NaN, ``n_sample(edge)``;
with a group ``route_path(edge, route, route_sample, state)``, ``n_route(edge)``), and
``source(edge)``, ``target(edge)`` (positions along ``node``). Attributes: ``G.graph``
(provenance, options, ``n_rounds``, ``complete``, and the arrival threshold:
``converge_tol_requested`` (``"auto"``: chosen by the rule), ``converge_tol_used`` (the largest
over the rounds; NaN when nothing was traced), ``converge_tol_note`` (when a request was raised)).

References
----------
D. J. Wales, Energy Landscapes, Cambridge University Press (2003): disconnectivity graphs.
O. M. Becker and M. Karplus, J. Chem. Phys. 106, 1495 (1997).
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._build import ESCAPE, UNRESOLVED, critical_point_graph
    from ._disconnectivity import disconnectivity_tree
    from ._io import from_dataset, read_graphml, to_dataset, write_graphml
    from ._options import GraphOptions
    from ._orbits import expand_graph
    from ._queries import (
        Barrier,
        EnergyPath,
        attracting_components,
        graph_summary,
        is_special,
        lowest_barrier,
        minima,
        minimum_energy_path,
        saddles,
        saddles_of_minimum,
        spurious_minima,
    )

__getattr__, __dir__ = lazy_names(
    globals(),
    {
        "ESCAPE": "._build",
        "UNRESOLVED": "._build",
        "critical_point_graph": "._build",
        "disconnectivity_tree": "._disconnectivity",
        "from_dataset": "._io",
        "read_graphml": "._io",
        "to_dataset": "._io",
        "write_graphml": "._io",
        "GraphOptions": "._options",
        "expand_graph": "._orbits",
        "Barrier": "._queries",
        "EnergyPath": "._queries",
        "attracting_components": "._queries",
        "graph_summary": "._queries",
        "is_special": "._queries",
        "lowest_barrier": "._queries",
        "minima": "._queries",
        "minimum_energy_path": "._queries",
        "saddles": "._queries",
        "saddles_of_minimum": "._queries",
        "spurious_minima": "._queries",
    },
)

__all__ = [
    "ESCAPE",
    "UNRESOLVED",
    "Barrier",
    "EnergyPath",
    "GraphOptions",
    "attracting_components",
    "critical_point_graph",
    "disconnectivity_tree",
    "expand_graph",
    "from_dataset",
    "graph_summary",
    "is_special",
    "lowest_barrier",
    "minima",
    "minimum_energy_path",
    "read_graphml",
    "saddles",
    "saddles_of_minimum",
    "spurious_minima",
    "to_dataset",
    "write_graphml",
]
