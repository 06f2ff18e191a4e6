"""The one outcome table of dynsys: every per-item result of every batch computation.

A flow orbit, a Newton seed, a basin label, a continuation run and a graph edge each end with one
:class:`Status` code from this table. Datasets store the codes the CF way: an ``int8`` flag
variable (``status``) with ``flag_values`` and ``flag_meanings`` attributes whose meanings are the
lower-case names below; basin labels below zero are minus a code. :func:`explain` gives a code's
meaning and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache

import numpy as np

from .errors import InputError

__all__ = ["RESULTS", "Status", "explain", "status_attrs", "status_names"]


class Status(IntEnum):
    """Outcome of one item of a batch computation (see :data:`RESULTS` for where each occurs)."""

    CONVERGED = 0
    TIME_LIMIT = 1
    MAX_STEPS = 2
    ESCAPED = 3
    NONFINITE = 4
    STEP_UNDERFLOW = 5
    MAX_ITER = 6
    SINGULAR_JACOBIAN = 7
    UNMATCHED = 8
    NOT_DIFFERENTIABLE = 9
    RUNNING = 10
    NOT_ATTRACTING = 11
    UNVERIFIED = 12
    PARAM_BOUND = 13
    STATE_BOUND = 14
    MAX_POINTS = 15
    CLOSED_LOOP = 16
    PERIOD_BOUND = 17
    PERIODIC = 18
    RECURRENT = 19
    HOPF_POINT = 20
    WRONG_INDEX = 21
    UNCONNECTED = 22
    CERTIFIED = 23


@dataclass(frozen=True)
class _Entry:
    meaning: str
    fix: str
    results: tuple[str, ...]  # the batch results in which the code occurs


# the kinds of batch result (every one can end converged)
_KINDS = (
    "flow",
    "newton",
    "fixed_points",
    "basins",
    "continuation",
    "graph",
    "cycles",
    "saddles",
    "descent",
)
_FLOW = ("flow", "basins", "graph", "descent")
_TABLE: dict[Status, _Entry] = {
    Status.CONVERGED: _Entry(
        "the convergence test was met (a flow arrived, Newton converged, a point was verified).",
        "none needed.",
        _KINDS,
    ),
    Status.TIME_LIMIT: _Entry(
        "the final time was reached before the orbit settled.",
        "raise `t_max` if the orbit should settle; it may also approach an attractor that is "
        "not a point (a cycle, a chaotic set): basin computations follow such orbits by "
        "recurrence with attractor_kinds='any'.",
        _FLOW,
    ),
    Status.MAX_STEPS: _Entry(
        "the largest number of steps (iterations for gradient descent and maps) was used up; "
        "in find_attractors and the recurrence phase of basin computations, the sample budget "
        "`max_steps` of AttractorOptions (`recurrence.max_steps`) ran out before the orbit "
        "found or recognised an attractor.",
        "raise `max_steps` (`recurrence.max_steps`), or loosen the tolerances; a stiff system "
        "needs the implicit method='rosenbrock23' of flow() / FlowOptions (and of "
        "`recurrence.method`).",
        _FLOW,
    ),
    Status.ESCAPED: _Entry(
        "the state norm exceeded `escape_radius`; the orbit probably runs to infinity (in "
        "find_attractors, also: the orbit stayed outside the bounded grid for `max_outside` "
        "samples).",
        "raise `escape_radius` if it does not (widen the grid).",
        _FLOW,
    ),
    Status.NONFINITE: _Entry(
        "NaN or inf in the state, the vector field or a Newton step.",
        "check the start state and the domain where the vector field is defined.",
        ("flow", "newton", "basins", "graph", "cycles", "saddles", "descent"),
    ),
    Status.STEP_UNDERFLOW: _Entry(
        "the step size needed fell below the smallest allowed (`min_step` of a flow, `ds_min` "
        "of a continuation).",
        "the problem may be stiff (use method='rosenbrock23' of flow() / FlowOptions) or "
        "singular there; lower the bound.",
        ("flow", "basins", "graph", "continuation"),
    ),
    Status.MAX_ITER: _Entry(
        "an iteration used up its budget without meeting its tolerance: Newton's `max_iter`, or "
        "`locate_max_iter` when a special point of a branch is located (there the point is a "
        "guess between the last two steps).",
        "start closer to the root, or raise `max_iter` / `locate_max_iter`.",
        ("newton", "basins", "continuation", "graph", "cycles", "saddles"),
    ),
    Status.SINGULAR_JACOBIAN: _Entry(
        "the Jacobian is singular, so Newton cannot proceed; the point may be non-hyperbolic (a "
        "fold, or a manifold of equilibria).",
        "start elsewhere, or restrict Newton to a subspace where the root is isolated.",
        ("newton", "basins", "graph", "cycles", "saddles"),
    ),
    Status.UNMATCHED: _Entry(
        "the orbit arrived, but at no point of the table and discovery was off.",
        "give the attractor, turn discovery on, or widen `match_tol`.",
        ("basins",),
    ),
    Status.NOT_DIFFERENTIABLE: _Entry(
        "the state lies where the vector field is not defined or not smooth (for ReLU networks, "
        "a hidden unit with zero weight vector).",
        "start away from that set.",
        ("flow", "newton", "basins", "descent"),
    ),
    Status.RUNNING: _Entry(
        "the computation stopped before this item finished.",
        "run it again (a resumable run folder keeps the finished part).",
        ("flow", "newton"),
    ),
    Status.NOT_ATTRACTING: _Entry(
        "the orbit arrived at a verified fixed point that is not an attractor: a saddle (an "
        "unstable direction), or a non-hyperbolic point of a general system, whose "
        "linearisation cannot say; it started on, or stalled next to, its stable manifold "
        "(in find_attractors, also a cycle with a multiplier on or outside the unit circle).",
        "none needed: such starts have measure zero, or the flow is very slow there; raise "
        "`t_max` to let stalled orbits leave.",
        ("basins",),
    ),
    Status.UNVERIFIED: _Entry(
        "the orbit stopped where a fixed point seemed near (it met the arrival test, or a limit "
        "with |f| small), but Newton found none within `refine_tol` of its end point with a "
        "residual below the Newton tolerance, so no point could be verified there (an explicit "
        "method on a stiff system stalls where |f| is not small).",
        "tighten the flow's `converge_tol` or `rtol`, or use an implicit method for stiff systems.",
        ("basins", "graph", "saddles"),
    ),
    Status.PARAM_BOUND: _Entry(
        "the branch reached a bound of the parameter (`p_min` or `p_max`); its last point lies "
        "on the bound.",
        "widen `p_min`/`p_max` to follow it further.",
        ("continuation",),
    ),
    Status.STATE_BOUND: _Entry(
        "a state component of the branch exceeded `x_max`.",
        "raise `x_max` if the branch should go on.",
        ("continuation",),
    ),
    Status.MAX_POINTS: _Entry(
        "the branch used up `max_points` points.",
        "raise `max_points` or `ds_max`.",
        ("continuation",),
    ),
    Status.CLOSED_LOOP: _Entry(
        "the branch returned to its start: it is a closed curve.",
        "none needed.",
        ("continuation",),
    ),
    Status.PERIOD_BOUND: _Entry(
        "the period of the cycles along the branch exceeded `period_max`: the branch approaches "
        "a homoclinic (or heteroclinic) orbit, where the period grows without bound.",
        "none needed if that is the end of the family; raise `period_max` to follow it closer.",
        ("continuation", "cycles"),
    ),
    Status.PERIODIC: _Entry(
        "the orbit settled on a periodic cycle (of a flow or a map), not a point; its period is "
        "recorded with it.",
        "none needed.",
        ("flow", "basins"),
    ),
    Status.RECURRENT: _Entry(
        "the orbit settled on a recurrent set that is neither a point nor a cycle (a chaotic or "
        "quasi-periodic attractor).",
        "none needed.",
        ("flow", "basins"),
    ),
    Status.HOPF_POINT: _Entry(
        "the cycles along the branch shrank onto an equilibrium: the branch ends at a Hopf "
        "point, its last point (of zero amplitude).",
        "none needed; the equilibria continue with continue_branch.",
        ("continuation",),
    ),
    Status.WRONG_INDEX: _Entry(
        "a saddle-search candidate refined by Newton to a critical point whose Hessian index is "
        "not 1 (a minimum, a maximum or a higher-index saddle): it is not reported as a saddle "
        "between minima.",
        "none needed: the point is recorded with its index; search from other minima or seeds "
        "(another seed of the string's initial displacements) for the index-1 saddles nearby.",
        ("saddles",),
    ),
    Status.UNCONNECTED: _Entry(
        "a saddle-search candidate refined to an index-1 saddle, but the two halves of its "
        "unstable manifold, traced by the flow, do not end at two distinct minima (they end "
        "at one minimum, at another saddle, escape, or do not settle).",
        "none needed if the landscape is so; raise the flow's `t_max` (`graph.flow.t_max` of "
        "SaddleOptions) if the trajectories stopped early.",
        ("saddles",),
    ),
    Status.CERTIFIED: _Entry(
        "gradient descent was stopped early because its outcome was proven: the iterate lay in "
        "a ball around a Newton-refined minimum on which the descent map contracts (positive "
        "definite Hessian, step below 2 / its largest eigenvalue, a bound on the Hessian's "
        "variation over the ball), so the run converges to that minimum; the certificate and "
        "the iteration it was issued at are in the result.",
        "none needed; pass certify=False to run every orbit to the convergence test.",
        ("descent",),
    ),
}

RESULTS: dict[str, tuple[Status, ...]] = {
    result: tuple(s for s in Status if result in _TABLE[s].results) for result in _KINDS
}
"""The codes each kind of batch result can carry."""


def _as_status(code: int | str | Status) -> Status:
    names = [s.name.lower() for s in Status]
    try:
        if isinstance(code, str):
            return Status[code.strip().upper().replace(" ", "_").replace("-", "_")]
        return Status(int(code))
    except (KeyError, ValueError, TypeError):
        raise InputError(
            f"{code!r} is not an outcome code or name; codes are 0..{len(names) - 1}, names "
            f"{names}."
        ) from None


def explain(code: int | str | Status) -> str:
    """The meaning of an outcome code (or its name) and what to do about it.

    Examples
    --------
    >>> explain(Status.ESCAPED).split(":")[0]
    'escaped'
    >>> explain("param_bound").startswith("param_bound: the branch reached a bound")
    True
    """
    status = _as_status(code)
    entry = _TABLE[status]
    return f"{status.name.lower()}: {entry.meaning} Fix: {entry.fix}"


def status_attrs() -> dict[str, object]:
    """CF-style attributes for a ``status`` variable (``flag_values``, ``flag_meanings``)."""
    values, meanings = _flags()
    return {
        "long_name": "outcome per item (dynsys.explain(code) says what it means)",
        "flag_values": values.copy(),
        "flag_meanings": meanings,
    }


@cache
def _flags() -> tuple[np.ndarray, str]:
    """The flag values and meanings of :class:`Status` (made once: a Dataset has several)."""
    return np.array([s.value for s in Status], dtype=np.int8), " ".join(
        s.name.lower() for s in Status
    )


def status_names(codes) -> np.ndarray:
    """Map an array of status codes to their lower-case names.

    Examples
    --------
    >>> status_names([0, 3]).tolist()
    ['converged', 'escaped']
    """
    codes = np.asarray(codes, dtype=int)
    names = np.array([s.name.lower() for s in Status], dtype=object)
    return names[codes]
