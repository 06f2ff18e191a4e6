"""Bookkeeping shared by the batch integrators: the per-orbit record and the stopping tests.

An integrator works on the *active set*: the rows of the batch that are still running, kept
contiguous (finished rows are dropped, "compacted") so that the vector field is only evaluated where
it is needed. ``rows`` maps each active row back to its orbit in the full batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._status import Status

__all__ = ["BatchRecord", "block_max_sq", "row_sum_sq", "start_batch", "stop_codes"]

_RUNNING = np.int8(Status.RUNNING)


def row_sum_sq(x: np.ndarray) -> np.ndarray:
    """Sum of squares of each row of ``x`` ``(m, n)``.

    Each row's value depends only on that row (no BLAS, no position-dependent summation), so that
    removing other orbits leaves an orbit's result unchanged bit for bit. Few columns are summed
    one by one: numpy's reduction along a short last axis is slow.

    Examples
    --------
    >>> row_sum_sq(np.array([[3.0, 4.0], [1.0, 0.0]])).tolist()
    [25.0, 1.0]
    """
    if x.shape[1] > 16:
        return (x * x).sum(axis=1)
    out = x[:, 0] * x[:, 0]
    for j in range(1, x.shape[1]):
        out += x[:, j] * x[:, j]
    return out


class BatchRecord:
    """Output arrays of a batch integration, filled in as orbits finish.

    Attributes
    ----------
    x_final, t_final, status, n_steps, n_rejected, speed_final : ndarray
        Per orbit: last state, its time, status code, accepted steps (iterations for gradient
        descent), rejected steps, and the norm of the vector field at the last state.
    x_saved : ndarray or None
        ``(orbit, save, state)`` saved states, NaN where not reached.
    n_calls, n_evaluations : int
        Calls of the vector field and the number of states evaluated over all calls.
    n_jacobian_calls, n_jacobian_evaluations : int
        The same for the Jacobian (methods that use one).
    """

    def __init__(self, n_orbits: int, n: int, n_saves: int = 0) -> None:
        self.x_final = np.full((n_orbits, n), np.nan)
        self.t_final = np.zeros(n_orbits)
        self.status = np.full(n_orbits, _RUNNING, dtype=np.int8)
        self.n_steps = np.zeros(n_orbits, dtype=np.int64)
        self.n_rejected = np.zeros(n_orbits, dtype=np.int64)
        self.speed_final = np.full(n_orbits, np.nan)
        self.x_saved = np.full((n_orbits, n_saves, n), np.nan) if n_saves else None
        self.n_calls = 0
        self.n_evaluations = 0
        self.n_jacobian_calls = 0
        self.n_jacobian_evaluations = 0
        self.on_finish: Callable[[int], None] | None = None

    def counted(self, field: Callable[[np.ndarray], np.ndarray]):
        """Wrap ``field`` so that its calls and evaluated states are counted."""

        def wrapped(x: np.ndarray) -> np.ndarray:
            self.n_calls += 1
            self.n_evaluations += x.shape[0]
            return field(x)

        return wrapped

    def counted_jacobian(self, jac: Callable[[np.ndarray], np.ndarray]):
        """Wrap ``jac`` so that its calls and evaluated states are counted."""

        def wrapped(x: np.ndarray) -> np.ndarray:
            self.n_jacobian_calls += 1
            self.n_jacobian_evaluations += x.shape[0]
            return jac(x)

        return wrapped

    def finish(self, rows, x, t, speed_sq, n_steps, n_rejected, codes) -> None:
        """Store the final values of the orbits ``rows`` (indices into the full batch)."""
        self.x_final[rows] = x
        self.t_final[rows] = t
        self.speed_final[rows] = np.sqrt(speed_sq)
        self.n_steps[rows] = n_steps
        self.n_rejected[rows] = n_rejected
        self.status[rows] = codes
        if self.on_finish is not None and len(rows):
            self.on_finish(len(rows))


def block_max_sq(v: np.ndarray, block: int) -> np.ndarray:
    """Largest sum of squares over consecutive blocks of ``block`` entries of each row of ``v``.

    Examples
    --------
    >>> block_max_sq(np.array([[3.0, 4.0, 1.0, 0.0]]), 2).tolist()
    [25.0]
    """
    m, n = v.shape
    return np.einsum("mbk,mbk->mb", *(v.reshape(m, n // block, block),) * 2).max(axis=1)


def stop_codes(
    x, v, converge_tol: float | None, escape_radius: float, converge_block: int | None = None
):
    """Status of each state ``x`` with field value ``v``: a code, or RUNNING to go on.

    Tests in order: non-finite values, escape (``|x|_2 > escape_radius``), convergence
    (``|v|_2 <= converge_tol``, or with ``converge_block`` the largest Euclidean norm of a block
    of that many consecutive entries). Returns ``(codes, |v|^2)``.
    """
    x_sq = row_sum_sq(x)
    v_sq = row_sum_sq(v)
    codes = np.full(x.shape[0], _RUNNING, dtype=np.int8)
    if converge_tol is not None:
        conv_sq = v_sq if converge_block is None else block_max_sq(v, converge_block)
        codes[conv_sq <= converge_tol * converge_tol] = Status.CONVERGED
    codes[x_sq > escape_radius * escape_radius] = Status.ESCAPED
    suspect = ~(np.isfinite(x_sq) & np.isfinite(v_sq))
    if suspect.any():
        # An infinite squared norm may be overflow of finite entries: that is an escape.
        rows = np.flatnonzero(suspect)
        finite = np.isfinite(x[rows]).all(axis=1) & np.isfinite(v[rows]).all(axis=1)
        codes[rows] = np.where(finite, np.int8(Status.ESCAPED), np.int8(Status.NONFINITE))
    return codes, v_sq


def start_batch(
    field, x0: np.ndarray, record: BatchRecord, converge_tol, escape_radius, converge_block=None
):
    """Evaluate the field at the finite starts and retire the orbits that stop at once.

    Returns ``(rows, x, v)``: the orbits still running, their states and field values.
    """
    finite = np.isfinite(x0).all(axis=1)
    bad = np.flatnonzero(~finite)
    record.finish(bad, x0[bad], 0.0, np.nan, 0, 0, np.int8(Status.NONFINITE))
    rows = np.flatnonzero(finite)
    x = x0[rows]
    v = field(x) if rows.size else np.empty_like(x)
    codes, v_sq = stop_codes(x, v, converge_tol, escape_radius, converge_block)
    done = codes != _RUNNING
    if done.any():
        record.finish(rows[done], x[done], 0.0, v_sq[done], 0, 0, codes[done])
        keep = ~done
        rows, x, v = rows[keep], x[keep], v[keep]
    return rows, x, v
