"""The adaptive step loop shared by the batch integrators with error control.

A *stepper* (the explicit pairs of ``_rk.py``, the Rosenbrock method of ``_rosenbrock.py``) makes
one step attempt of every active orbit and returns the new states with an error norm per orbit;
:func:`adaptive_flow` owns everything else: each orbit's time and step size, the step size
controller, landing on save times, the stop tests and retiring finished orbits from the batch.

Error control follows Hairer, Norsett and Wanner, *Solving Ordinary Differential Equations I*,
2nd ed., Springer (1993), section II.4: the stepper measures its error estimate in the RMS norm
relative to ``atol + rtol * max(|y_old|, |y_new|)``, a step is accepted when that norm is at most
1, and the next step size comes from a PI controller (plain I control when ``beta = 0``) with
safety factor and bounded growth and shrinkage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from .._status import Status
from ._batch import BatchRecord, row_sum_sq, start_batch, stop_codes

__all__ = ["Saves", "Stepper", "adaptive_flow", "initial_step", "rms", "step_factor"]

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
_RUNNING = np.int8(Status.RUNNING)


class Stepper(Protocol):
    """One step attempt of every active row, with the per-row state a method keeps between steps.

    ``error_order``: the error estimate is ``O(h^(error_order + 1))``; ``beta``: weight of the
    previous error in the PI controller (0: I control); ``interpolate``: a continuous extension
    ``(y, y_new, stages, h, theta) -> states`` at ``t + theta h``, or None (steps are then shortened
    to land on the save times).
    """

    error_order: int
    beta: float
    interpolate: Callable | None

    def attempt(self, y: np.ndarray, v: np.ndarray, h: np.ndarray):
        """``(y_new, f(y_new), error norm, stages, hopeless)`` for steps ``h`` from ``y`` with
        ``v = f(y)``. ``hopeless`` (a boolean mask, or None) marks rows that no step size can
        advance (their error norm is NaN); they stop as ``nonfinite``."""
        ...

    def advance(self, accept: np.ndarray) -> None:
        """Rows ``accept`` moved to their new state (the others keep theirs)."""
        ...

    def keep(self, k: np.ndarray) -> None:
        """Keep only the rows ``k`` (after orbits have finished)."""
        ...


def rms(z: np.ndarray) -> np.ndarray:
    """Root mean square of each row of ``z``, row by row (see :func:`row_sum_sq`)."""
    return np.sqrt(row_sum_sq(z) / z.shape[1])


def initial_step(field, y, v, order: int, rtol: float, atol: float) -> np.ndarray:
    """Starting step sizes per orbit (Hairer, Norsett and Wanner 1993, section II.4)."""
    scale = atol + np.abs(y) * rtol
    d0 = rms(y / scale)
    d1 = rms(v / scale)
    small = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = np.where(small, 1e-6, 0.01 * d0 / np.where(small, 1.0, d1))
    v1 = field(y + h0[:, None] * v)
    d2 = rms((v1 - v) / scale) / h0
    dmax = np.maximum(d1, d2)
    tiny = ~(dmax > 1e-15)  # also catches NaN from a non-finite trial
    h1 = np.where(
        tiny, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.where(tiny, 1.0, dmax)) ** (1 / (order + 1))
    )
    return np.minimum(100 * h0, h1)


def step_factor(
    err_norm, err_prev, accept, after_reject, trial_bad, *, error_order: int, beta: float
):
    """Step size factor: PI control after an accepted step, plain I control after a rejection;
    no growth right after a rejection; a non-finite trial shrinks by the largest factor.

    With ``beta = 0`` the factor is ``0.9 err^(-1/(error_order + 1))``, clipped to ``[0.2, 10]``
    (``[0.2, 1]`` after a rejection).
    """
    alpha = 1.0 / (error_order + 1) - 0.75 * beta
    positive = err_norm > 0
    safe_err = np.where(positive, err_norm, 1.0)
    grow = SAFETY * safe_err**-alpha
    if beta:
        grow *= err_prev**beta
    grow[~positive] = MAX_FACTOR
    grow = np.clip(grow, MIN_FACTOR, np.where(after_reject, 1.0, MAX_FACTOR))
    rejected = np.flatnonzero(~accept)
    if rejected.size:
        shrink = SAFETY * safe_err[rejected] ** (-1.0 / (error_order + 1))
        shrink = np.clip(shrink, MIN_FACTOR, 1.0)
        grow[rejected] = np.where(trial_bad[rejected], MIN_FACTOR, shrink)
    return grow


def adaptive_flow(
    field,
    x0: np.ndarray,
    stepper: Stepper,
    record: BatchRecord,
    *,
    t_max: float,
    rtol: float,
    atol: float,
    converge_tol: float | None,
    escape_radius: float,
    max_steps: int,
    first_step: float | None,
    min_step: float,
    max_step: float,
    save_times: np.ndarray,
    converge_block: int | None = None,
    region_test: Callable[[np.ndarray], np.ndarray] | None = None,
    region_out: np.ndarray | None = None,
) -> None:
    """Integrate ``x' = field(x)`` from every row of ``x0`` with ``stepper``; fill ``record``.

    ``max_steps`` bounds the step attempts (accepted or rejected) of each orbit. Without a
    continuous extension, steps are shortened to land exactly on the save times. With
    ``region_test(states) -> region or -1``, an orbit still running whose accepted state lies in
    a region stops as converged, the region stored in ``region_out``.
    """
    if save_times.size and record.x_saved is not None:
        record.x_saved[:, save_times <= 0.0] = x0[:, None, :]
    if region_test is not None:
        inner = stop_codes

        def stop_codes_here(x, v, *args, rows_now):
            codes, v_sq = inner(x, v, *args)
            running = np.flatnonzero(codes == _RUNNING)
            if running.size:
                found = region_test(x[running])
                hit = found >= 0
                codes[running[hit]] = Status.CONVERGED
                region_out[rows_now[running[hit]]] = found[hit]
            return codes, v_sq

    rows, y, v = start_batch(field, x0, record, converge_tol, escape_radius, converge_block)
    if region_test is not None and rows.size:
        found = region_test(y)
        hit = np.flatnonzero(found >= 0)
        if hit.size:
            region_out[rows[hit]] = found[hit]
            record.finish(rows[hit], y[hit], 0.0, row_sum_sq(v[hit]), 0, 0, Status.CONVERGED)
            keep = found < 0
            rows, y, v = rows[keep], y[keep], v[keep]
    m = y.shape[0]
    if m == 0:
        return
    t = np.zeros(m)
    if first_step is None:
        h = initial_step(field, y, v, stepper.error_order, rtol, atol)
    else:
        h = np.full(m, first_step)
    h = np.minimum(h, max_step)
    err_prev = np.ones(m)
    n_acc = np.zeros(m, dtype=np.int64)
    n_rej = np.zeros(m, dtype=np.int64)
    after_reject = np.zeros(m, dtype=bool)
    saves = Saves(record, save_times, stepper.interpolate, m)
    clip_to_saves = save_times.size > 0 and stepper.interpolate is None

    # Invariants of the loop, row by row (row i is orbit rows[i] of the batch): y is the last
    # accepted state at time t and v = field(y) (first same as last: the next attempt reuses
    # it); h is the step to try next; err_prev the error norm of the last accepted step (for
    # the PI controller); the stepper's own per-row state (a Jacobian, say) belongs to the same
    # rows. Every row attempts one step per pass (one field call per stage on the whole active
    # batch); a rejected row keeps y, v, t and retries with a smaller h. The stop tests run on
    # accepted states only, and finished rows are removed (from the stepper too), so each row's
    # result is independent of the others (only elementwise operations).
    while m:
        h_step = np.minimum(h, t_max - t)
        last = h >= t_max - t
        if clip_to_saves:
            room = saves.t_next - t
            on_save = h_step >= room
            h_step = np.where(on_save, room, h_step)
            last &= ~on_save | (saves.t_next >= t_max)
        y_new, v_new, err_norm, stages, hopeless = stepper.attempt(y, v, h_step)
        accept = err_norm <= 1.0
        trial_bad = ~np.isfinite(err_norm)
        factor = step_factor(
            err_norm,
            err_prev,
            accept,
            after_reject,
            trial_bad,
            error_order=stepper.error_order,
            beta=stepper.beta,
        )
        h_new = h_step * factor
        if clip_to_saves:  # a step shortened to land on a save time does not shrink the next
            h_new = np.where(accept & on_save, np.maximum(h_new, h), h_new)
        h = np.minimum(h_new, max_step)
        t_new = np.where(on_save, saves.t_next, t + h_step) if clip_to_saves else t + h_step
        t_new[last] = t_max
        if save_times.size:
            saves.record(accept, rows, t, t_new, h_step, y, y_new, stages)
        rejected = np.flatnonzero(~accept)
        if rejected.size:  # keep the old state of rejected rows (few, usually)
            y_new[rejected] = y[rejected]
            v_new[rejected] = v[rejected]
            t_new[rejected] = t[rejected]
        y, v, t = y_new, v_new, t_new
        stepper.advance(accept)
        err_prev = np.where(accept, np.maximum(err_norm, 1e-4), err_prev)
        n_acc += accept
        n_rej += ~accept
        after_reject = ~accept

        if region_test is None:
            codes, _ = stop_codes(y, v, converge_tol, escape_radius, converge_block)
        else:
            codes, _ = stop_codes_here(
                y, v, converge_tol, escape_radius, converge_block, rows_now=rows
            )
        codes[rejected] = _RUNNING  # a rejected attempt leaves the (already tested) state as is
        codes[accept & last & (codes == _RUNNING)] = Status.TIME_LIMIT
        if rejected.size:
            floor = np.maximum(min_step, 10.0 * np.spacing(np.abs(t[rejected])))
            under = rejected[h[rejected] < floor]
            codes[under] = np.where(trial_bad[under], Status.NONFINITE, Status.STEP_UNDERFLOW)
        if hopeless is not None:
            codes[hopeless] = Status.NONFINITE
        codes[(codes == _RUNNING) & (n_acc + n_rej >= max_steps)] = Status.MAX_STEPS
        done = codes != _RUNNING
        if done.any():
            d = np.flatnonzero(done)
            v_sq_d = row_sum_sq(v[d])
            record.finish(rows[d], y[d], t[d], v_sq_d, n_acc[d], n_rej[d], codes[d])
            k = np.flatnonzero(~done)
            rows, y, v, t, h = rows[k], y[k], v[k], t[k], h[k]
            err_prev, n_acc, n_rej, after_reject = err_prev[k], n_acc[k], n_rej[k], after_reject[k]
            saves.keep(k)
            stepper.keep(k)
            m = k.size


class Saves:
    """Each orbit's next save time; stores the states at save times crossed by accepted steps.

    With ``interpolate`` the states come from the method's continuous extension; without, the
    step was shortened to end on the save time and its end state is stored.
    """

    def __init__(
        self, record: BatchRecord, times: np.ndarray, interpolate: Callable | None, m: int
    ) -> None:
        self.x_saved = record.x_saved
        self.interpolate = interpolate
        self.times = np.append(times, np.inf)
        self.next = np.full(m, np.searchsorted(times, 0.0, side="right"))
        self.t_next = self.times[self.next]

    def record(self, accept, rows, t, t_new, h, y, y_new, stages) -> None:
        sel = np.flatnonzero(accept & (self.t_next <= t_new))
        while sel.size:
            if self.interpolate is not None:
                theta = (self.t_next[sel] - t[sel]) / h[sel]
                values = self.interpolate(
                    y[sel], y_new[sel], [k[sel] for k in stages], h[sel], theta
                )
            else:  # the step was shortened to end on the save time
                values = y_new[sel]
            self.x_saved[rows[sel], self.next[sel]] = values
            self.next[sel] += 1
            self.t_next[sel] = self.times[self.next[sel]]
            sel = sel[self.t_next[sel] <= t_new[sel]]

    def keep(self, k: np.ndarray) -> None:
        """Keep the rows ``k`` (after orbits have finished)."""
        self.next, self.t_next = self.next[k], self.t_next[k]
