"""Embedded Runge-Kutta pairs that step a whole batch of orbits, each with its own step size.

Every orbit keeps its own time, step size and error history; all active orbits attempt a step
together (one call of the vector field per stage on the active batch), each accepts or rejects its
own attempt, and orbits that stop are dropped from the batch. Only elementwise array operations are
used, so an orbit's result does not depend on which other orbits share the batch.

Error control follows Hairer, Norsett and Wanner, *Solving Ordinary Differential Equations I*,
2nd ed., Springer (1993), section II.4: the error estimate is measured in the RMS norm relative
to ``atol + rtol * max(|y_old|, |y_new|)``, a step is accepted when that norm is at most 1, and the
next step size comes from a PI controller with safety factor and bounded growth and shrinkage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._status import Status
from ._batch import BatchRecord, row_sum_sq, start_batch, stop_codes

__all__ = ["TABLEAUX", "Tableau", "rk_flow"]

_SAFETY = 0.9
_MIN_FACTOR = 0.2
_MAX_FACTOR = 10.0
_RUNNING = np.int8(Status.RUNNING)


@dataclass(frozen=True)
class Tableau:
    """An explicit embedded pair for autonomous systems, with the first-same-as-last property.

    ``a[i]`` are the weights of stages ``0..i`` that form stage ``i + 1``; ``b`` the weights of the
    propagated solution ``y_new = y + h sum_j b_j k_j``; ``e`` (one longer than ``b``, the last
    weight on ``f(y_new)``) the weights of the error estimate ``h sum_j e_j k_j``. ``f(y_new)`` is
    the first stage of the next step. DOP853 combines two estimates, ``e`` and ``e_aux``.
    """

    name: str
    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    e: tuple[float, ...]
    order: int
    error_order: int
    beta: float
    e_aux: tuple[float, ...] | None = None
    dense: bool = False


# Dormand and Prince, J. Comput. Appl. Math. 6, 19 (1980); the 4th-order continuous extension is
# the one of Hairer, Norsett and Wanner (1993), section II.6.
DOPRI5 = Tableau(
    name="dopri5",
    a=(
        (1 / 5,),
        (3 / 40, 9 / 40),
        (44 / 45, -56 / 15, 32 / 9),
        (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
        (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    ),
    b=(35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
    e=(71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40),
    order=5,
    error_order=4,
    beta=0.04,
    dense=True,
)
_DOPRI5_DENSE = (
    -12715105075 / 11282082432,
    0.0,
    87487479700 / 32700410799,
    -10690763975 / 1880347072,
    701980252875 / 199316789632,
    -1453857185 / 822651844,
    69997945 / 29380423,
)


def _dop853() -> Tableau:
    """Dormand-Prince 8(5,3), with scipy's coefficient tables (no continuous extension here)."""
    from scipy.integrate import DOP853

    A = np.asarray(DOP853.A, dtype=float)
    s = int(DOP853.n_stages)
    return Tableau(
        name="dop853",
        a=tuple(tuple(A[i + 1, : i + 1]) for i in range(s - 1)),
        b=tuple(np.asarray(DOP853.B, dtype=float)),
        e=tuple(np.asarray(DOP853.E5, dtype=float)),
        e_aux=tuple(np.asarray(DOP853.E3, dtype=float)),
        order=8,
        error_order=7,
        beta=0.0,
    )


TABLEAUX = {"dopri5": DOPRI5, "dop853": _dop853()}


def _combine(weights, stages, out: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``out = sum_j weights[j] * stages[j]`` by elementwise operations, skipping zero weights."""
    first = True
    for w, k in zip(weights, stages, strict=False):
        if w == 0.0:
            continue
        if first:
            np.multiply(k, w, out=out)
            first = False
        else:
            np.multiply(k, w, out=tmp)
            out += tmp
    return out


def _dense_dopri5(y, y_new, stages, h, theta):
    """The continuous extension of DOPRI5 at ``t + theta h`` (rows of a batch)."""
    th = theta[:, None]
    hc = h[:, None]
    dy = y_new - y
    r3 = hc * stages[0] - dy
    r4 = dy - hc * stages[-1] - r3
    r5 = hc * sum(d * k for d, k in zip(_DOPRI5_DENSE, stages, strict=True) if d != 0.0)
    return y + th * (dy + (1 - th) * (r3 + th * (r4 + (1 - th) * r5)))


def _rms(z: np.ndarray) -> np.ndarray:
    return np.sqrt(row_sum_sq(z) / z.shape[1])


def _initial_step(field, y, v, order: int, rtol: float, atol: float) -> np.ndarray:
    """Starting step sizes per orbit (Hairer, Norsett and Wanner 1993, section II.4)."""
    scale = atol + np.abs(y) * rtol
    d0 = _rms(y / scale)
    d1 = _rms(v / scale)
    small = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = np.where(small, 1e-6, 0.01 * d0 / np.where(small, 1.0, d1))
    v1 = field(y + h0[:, None] * v)
    d2 = _rms((v1 - v) / scale) / h0
    dmax = np.maximum(d1, d2)
    tiny = ~(dmax > 1e-15)  # also catches NaN from a non-finite trial
    h1 = np.where(
        tiny, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.where(tiny, 1.0, dmax)) ** (1 / (order + 1))
    )
    return np.minimum(100 * h0, h1)


def rk_flow(
    field,
    x0: np.ndarray,
    tableau: Tableau,
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
) -> None:
    """Integrate ``x' = field(x)`` from every row of ``x0`` until each orbit stops; fill ``record``.

    ``max_steps`` bounds the step attempts (accepted or rejected) of each orbit. Without a
    continuous extension, steps are shortened to land exactly on the save times.
    """
    if save_times.size and record.x_saved is not None:
        record.x_saved[:, save_times <= 0.0] = x0[:, None, :]
    rows, y, v = start_batch(field, x0, record, converge_tol, escape_radius, converge_block)
    m = y.shape[0]
    if m == 0:
        return
    tab = tableau
    alpha = 1.0 / (tab.error_order + 1) - 0.75 * tab.beta
    t = np.zeros(m)
    if first_step is None:
        h = _initial_step(field, y, v, tab.error_order, rtol, atol)
    else:
        h = np.full(m, first_step)
    h = np.minimum(h, max_step)
    err_prev = np.ones(m)
    n_acc = np.zeros(m, dtype=np.int64)
    n_rej = np.zeros(m, dtype=np.int64)
    after_reject = np.zeros(m, dtype=bool)
    saves = _Saves(record, save_times, tab.dense, m)
    clip_to_saves = save_times.size > 0 and not tab.dense

    # Invariants of the loop, row by row (row i is orbit rows[i] of the batch): y is the last
    # accepted state at time t and v = field(y) (first same as last: the next attempt reuses
    # it); h is the step to try next; err_prev the error norm of the last accepted step (for
    # the PI controller). Every row attempts one step per pass (one field call per stage on the
    # whole active batch); a rejected row keeps y, v, t and retries with a smaller h. The stop
    # tests run on accepted states only, and finished rows are removed, so each row's result is
    # independent of the others (only elementwise operations).
    while m:
        h_step = np.minimum(h, t_max - t)
        last = h >= t_max - t
        if clip_to_saves:
            room = saves.t_next - t
            on_save = h_step >= room
            h_step = np.where(on_save, room, h_step)
            last &= ~on_save | (saves.t_next >= t_max)
        y_new, v_new, err_norm, stages = _attempt(field, tab, y, v, h_step, rtol, atol)
        accept = err_norm <= 1.0
        trial_bad = ~np.isfinite(err_norm)
        factor = _step_factor(tab, alpha, err_norm, err_prev, accept, after_reject, trial_bad)
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
        err_prev = np.where(accept, np.maximum(err_norm, 1e-4), err_prev)
        n_acc += accept
        n_rej += ~accept
        after_reject = ~accept

        codes, _ = stop_codes(y, v, converge_tol, escape_radius, converge_block)
        codes[rejected] = _RUNNING  # a rejected attempt leaves the (already tested) state as is
        codes[accept & last & (codes == _RUNNING)] = Status.TIME_LIMIT
        if rejected.size:
            floor = np.maximum(min_step, 10.0 * np.spacing(np.abs(t[rejected])))
            under = rejected[h[rejected] < floor]
            codes[under] = np.where(trial_bad[under], Status.NONFINITE, Status.STEP_UNDERFLOW)
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
            m = k.size


def _attempt(field, tab: Tableau, y, v, h, rtol: float, atol: float):
    """One step attempt of every row: ``(y_new, f(y_new), error norm, stages)``."""
    m, n = y.shape
    hc = h[:, None]
    out = np.empty((m, n))
    tmp = np.empty((m, n))
    stages = [v]
    for weights in tab.a:
        stages.append(field(y + hc * _combine(weights, stages, out, tmp)))
    y_new = y + hc * _combine(tab.b, stages, out, tmp)
    v_new = field(y_new)
    stages.append(v_new)
    scale = np.maximum(np.abs(y), np.abs(y_new))
    scale *= rtol
    scale += atol
    err = _combine(tab.e, stages, out, tmp)
    err /= scale
    if tab.e_aux is None:
        err_norm = h * _rms(err)
    else:  # DOP853: the 5th-order estimate, corrected by the 3rd-order one
        err3 = _combine(tab.e_aux, stages, np.empty((m, n)), tmp) / scale
        e5 = row_sum_sq(err)
        denom = e5 + 0.01 * row_sum_sq(err3)
        err_norm = h * e5 / np.sqrt(np.where(denom > 0, denom, 1.0) * n)
    return y_new, v_new, err_norm, stages


def _step_factor(tab: Tableau, alpha, err_norm, err_prev, accept, after_reject, trial_bad):
    """Step size factor: PI control after an accepted step, plain I control after a rejection;
    no growth right after a rejection; a non-finite trial shrinks by the largest factor."""
    positive = err_norm > 0
    safe_err = np.where(positive, err_norm, 1.0)
    grow = _SAFETY * safe_err**-alpha
    if tab.beta:
        grow *= err_prev**tab.beta
    grow[~positive] = _MAX_FACTOR
    grow = np.clip(grow, _MIN_FACTOR, np.where(after_reject, 1.0, _MAX_FACTOR))
    rejected = np.flatnonzero(~accept)
    if rejected.size:
        shrink = _SAFETY * safe_err[rejected] ** (-1.0 / (tab.error_order + 1))
        shrink = np.clip(shrink, _MIN_FACTOR, 1.0)
        grow[rejected] = np.where(trial_bad[rejected], _MIN_FACTOR, shrink)
    return grow


class _Saves:
    """Each orbit's next save time; stores the states at save times crossed by accepted steps."""

    def __init__(self, record: BatchRecord, times: np.ndarray, dense: bool, m: int) -> None:
        self.x_saved = record.x_saved
        self.dense = dense
        self.times = np.append(times, np.inf)
        self.next = np.full(m, np.searchsorted(times, 0.0, side="right"))
        self.t_next = self.times[self.next]

    def record(self, accept, rows, t, t_new, h, y, y_new, stages) -> None:
        sel = np.flatnonzero(accept & (self.t_next <= t_new))
        while sel.size:
            if self.dense:
                theta = (self.t_next[sel] - t[sel]) / h[sel]
                values = _dense_dopri5(y[sel], y_new[sel], [k[sel] for k in stages], h[sel], theta)
            else:  # the step was shortened to end on the save time
                values = y_new[sel]
            self.x_saved[rows[sel], self.next[sel]] = values
            self.next[sel] += 1
            self.t_next[sel] = self.times[self.next[sel]]
            sel = sel[self.t_next[sel] <= t_new[sel]]

    def keep(self, k: np.ndarray) -> None:
        """Keep the rows ``k`` (after orbits have finished)."""
        self.next, self.t_next = self.next[k], self.t_next[k]
