"""Compiled gradient descent for the last few runs of a batch (private).

Profile (K = d = 20, one network left in the batch): a descent iteration in numpy costs about
80 us, of which the arithmetic (800 unit pairs, 3.2e4 multiply-adds, 800 arccos) is under 10 us;
the rest is the dispatch of some 50 small array operations. Batches are fine (about 6 us per
network and iteration at 1,000 networks, numpy's vectorised arccos is hard to beat), but runs
that approach a minimum with a small Hessian eigenvalue take 1e5 to 1e6 iterations and end up
alone in their batch: in the spurious-minimum experiment they were most of the wall time. This
module runs such runs to the end in one compiled loop per run (numba), with the stopping rules of
:func:`dynsys.integrate.flow` (gradient descent).
"""

from __future__ import annotations

import numpy as np

from ...system import DescentKernel
from ._fixed import FixedTeacherGradient

__all__ = ["TeacherDescentTail"]


def _kernels():
    """The compiled descent loop (numba is imported on first use)."""
    from ._tail_kernels import descend

    return descend


class TeacherDescentTail(DescentKernel):
    """Finish descent runs of a fixed-output-weight teacher-student network one at a time in a
    compiled loop (see the module notes); ``max_batch`` says from which batch size on.

    At K = d = 20 a compiled iteration costs about 15 us per run, a numpy iteration about
    60 us plus 6 us per run: from about a dozen runs down, and whenever the remaining runs need
    very different numbers of iterations, one run at a time in the compiled loop is cheaper.

    Examples
    --------
    >>> from dynsys._status import Status
    >>> tail = TeacherDescentTail(FixedTeacherGradient(np.eye(2), np.ones(2), np.ones(2)))
    >>> x, k, code, g_sq = tail.run(np.array([0.9, 0.1, 0.1, 0.9]), 0, learning_rate=0.5,
    ...     converge_tol=1e-10, converge_block=None, escape_radius=1e8, k_time=10**6,
    ...     max_steps=10**6)
    >>> np.round(x, 8).tolist(), int(code) == int(Status.CONVERGED)
    ([1.0, 0.0, 0.0, 1.0], True)
    """

    max_batch = 12

    def __init__(self, gradient: FixedTeacherGradient) -> None:
        # the numpy path's teacher geometry, in the layout the compiled loop reads
        self.gradient = gradient
        self.T = np.ascontiguousarray(gradient.teacher)
        self.TU = np.ascontiguousarray(gradient.teacher_units_T.T)
        self.a = np.ascontiguousarray(gradient.a)
        self.b_t = np.ascontiguousarray(gradient.b_teacher)
        self.beta_t = np.ascontiguousarray(gradient.beta_teacher)

    def run(
        self,
        x: np.ndarray,
        k: int,
        *,
        learning_rate: float,
        converge_tol: float | None,
        converge_block: int | None,
        escape_radius: float,
        k_time: int,
        max_steps: int,
        g: np.ndarray | None = None,
    ) -> tuple[np.ndarray, int, int, float]:
        """Iterate from state ``x`` (gradient ``g``, computed if None) at iteration ``k`` until a
        stopping rule holds; return ``(x, k, status code, |grad|^2)`` as descent_flow records."""
        descend = _kernels()
        x = np.array(x, dtype=float)
        if g is None:
            g = self.gradient(x)  # None at a zero hidden unit: the loop then reports non-finite
            g = np.full_like(x, np.nan) if g is None else g
        else:
            g = np.array(g, dtype=float)
        tol_sq = 0.0 if converge_tol is None else float(converge_tol) ** 2
        esc_sq = float(escape_radius) ** 2 if np.isfinite(escape_radius) else np.inf
        x_end, k_end, code, g_sq = descend(
            x,
            g,
            int(k),
            float(learning_rate),
            tol_sq,
            int(converge_block or 0),
            esc_sq,
            int(k_time),
            int(max_steps),
            self.T,
            self.TU,
            self.a,
            self.b_t,
            self.beta_t,
        )
        return np.array(x_end), int(k_end), int(code), float(g_sq)
