"""Fixed-step gradient descent ``x <- x - eta * g(x)`` on a batch, with per-orbit stopping.

For a gradient system ``g = grad V`` (training); for a general system ``g = -f`` (explicit Euler).
All running orbits take the same iteration together, so the iteration counter is shared; orbits
that stop are dropped from the batch.
"""

from __future__ import annotations

import numpy as np

from .._status import Status
from ._batch import BatchRecord, row_sum_sq, start_batch, stop_codes

__all__ = ["descent_flow", "iteration_limit"]

_RUNNING = np.int8(Status.RUNNING)


def iteration_limit(t_max: float, learning_rate: float, max_steps: int) -> tuple[int, int]:
    """Iterations that reach time ``t_max`` (``k * eta >= t_max``) and the overall bound.

    Returns ``(k_time, k_limit)`` with ``k_limit = min(k_time, max_steps)``; ``k_time`` is
    ``max_steps + 1`` when ``t_max`` is infinite or too far to matter.

    Examples
    --------
    >>> iteration_limit(1.0, 0.1, 1000)
    (10, 10)
    """
    ratio = t_max / learning_rate
    if not np.isfinite(ratio) or ratio > max_steps:
        return max_steps + 1, max_steps
    k_time = max(int(np.ceil(ratio * (1.0 - 1e-12))), 1)  # 1.0 / 0.1 is 10.000000000000002
    return k_time, min(k_time, max_steps)


def descent_flow(
    direction,
    x0: np.ndarray,
    record: BatchRecord,
    *,
    learning_rate: float,
    t_max: float,
    converge_tol: float | None,
    escape_radius: float,
    max_steps: int,
    save_every: int | None,
    converge_block: int | None = None,
    tail=None,
) -> None:
    """Iterate ``x <- x - learning_rate * direction(x)`` from every row of ``x0``; fill ``record``.

    The stopping tests use ``|direction(x)|`` for convergence. ``t_final`` is the number of
    iterations times the learning rate. An orbit whose iterate turns non-finite is reported at its
    last finite iterate. Saves are taken every ``save_every`` iterations
    (iteration 0 included).

    ``tail`` (optional, without saves): the system's :class:`~dynsys.system.DescentKernel`, which
    finishes the last ``tail.max_batch`` orbits one at a time with the same rules (a compiled
    loop: small batches cost numpy's call overhead per iteration).
    """
    eta = learning_rate
    k_time, _ = iteration_limit(t_max, eta, max_steps)
    limits = {
        "converge_tol": converge_tol,
        "converge_block": converge_block,
        "escape_radius": escape_radius,
        "k_time": k_time,
        "max_steps": max_steps,
    }
    if save_every:
        record.x_saved[:, 0] = x0
    rows, x, g = start_batch(direction, x0, record, converge_tol, escape_radius, converge_block)
    k = 0
    while rows.size:
        x_prev, g_prev = x, g
        x = x - eta * g
        g = direction(x)
        k += 1
        if save_every and k % save_every == 0:
            record.x_saved[rows, k // save_every] = x
        codes, g_sq = stop_codes(x, g, converge_tol, escape_radius, converge_block)
        if k >= k_time:
            codes[codes == _RUNNING] = Status.TIME_LIMIT
        elif k >= max_steps:
            codes[codes == _RUNNING] = Status.MAX_STEPS
        done = codes != _RUNNING
        if done.any():
            d = np.flatnonzero(done & (codes != Status.NONFINITE))
            record.finish(rows[d], x[d], k * eta, g_sq[d], k, 0, codes[d])
            # a non-finite iterate: report the last finite one
            d = np.flatnonzero(codes == Status.NONFINITE)
            g_sq_prev = row_sum_sq(g_prev[d])
            record.finish(rows[d], x_prev[d], (k - 1) * eta, g_sq_prev, k - 1, 0, codes[d])
            keep = np.flatnonzero(~done)
            rows, x, g = rows[keep], x[keep], g[keep]
        if tail is not None and not save_every and 0 < rows.size <= tail.max_batch:
            _finish_with_tail(tail, rows, x, g, k, record, eta, **limits)
            return


def _finish_with_tail(tail, rows, x, g, k: int, record: BatchRecord, eta: float, **limits) -> None:
    """Finish each remaining orbit with ``tail.run`` and record it."""
    for i in range(rows.size):
        x_end, k_end, code, g_sq = tail.run(x[i], k, g=g[i], learning_rate=eta, **limits)
        record.n_evaluations += k_end - k
        record.finish(
            rows[i : i + 1],
            x_end[None],
            k_end * eta,
            np.array([g_sq]),
            k_end,
            0,
            np.array([code], dtype=np.int8),
        )
