"""The status table shared by every batch algorithm.

Batch results never raise for one bad item; they store a :class:`Status` code per item (an
``int8`` variable with CF ``flag_values``/``flag_meanings`` attributes), and :func:`explain`
turns a code into a message that suggests the fix.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["Status", "explain", "status_attrs", "status_names"]


class Status(IntEnum):
    """Outcome of one item of a batch computation."""

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


_MESSAGES: dict[Status, str] = {
    Status.CONVERGED: "converged: the convergence test was met.",
    Status.TIME_LIMIT: (
        "time limit: the final time was reached before convergence; increase `t_max` if the "
        "orbit should settle."
    ),
    Status.MAX_STEPS: (
        "maximum number of steps reached; increase `max_steps` or loosen the tolerances."
    ),
    Status.ESCAPED: (
        "escaped: the state norm exceeded the escape bound; the orbit probably runs to infinity "
        "(raise `escape_radius` if it does not)."
    ),
    Status.NONFINITE: (
        "non-finite values (NaN or inf) in the state or the vector field; check the start state "
        "and the domain of the vector field."
    ),
    Status.STEP_UNDERFLOW: (
        "step size underflow: the step needed fell below `min_step`; the problem may be stiff "
        "(use trajectory() with method='Radau') or singular."
    ),
    Status.MAX_ITER: (
        "maximum number of Newton iterations reached; give a better seed or raise `max_iter`."
    ),
    Status.SINGULAR_JACOBIAN: (
        "singular Jacobian: Newton cannot proceed; the point may be non-hyperbolic (a fold, or a "
        "manifold of equilibria)."
    ),
    Status.UNMATCHED: (
        "unmatched: the end point matches no known attractor within the tolerance; widen "
        "`match_tol` or add the attractor."
    ),
    Status.NOT_DIFFERENTIABLE: (
        "not differentiable: the state lies where the vector field is not defined or not smooth "
        "(for ReLU networks, a hidden unit with zero weight vector)."
    ),
    Status.RUNNING: "running: the computation was stopped before this item finished.",
}


def explain(code: int | Status) -> str:
    """Return the message for a status code.

    Examples
    --------
    >>> explain(Status.ESCAPED).split(":")[0]
    'escaped'
    """
    return _MESSAGES[Status(int(code))]


def status_attrs() -> dict[str, object]:
    """CF-style attributes for a ``status`` variable (``flag_values``, ``flag_meanings``)."""
    return {
        "long_name": "outcome per item",
        "flag_values": np.array([s.value for s in Status], dtype=np.int8),
        "flag_meanings": " ".join(s.name.lower() for s in Status),
    }


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
