"""Embedded Runge-Kutta pairs that step a whole batch of orbits, each with its own step size.

Every orbit keeps its own time, step size and error history; all active orbits attempt a step
together (one call of the vector field per stage on the active batch), each accepts or rejects its
own attempt, and orbits that stop are dropped from the batch. Only elementwise array operations are
used, so an orbit's result does not depend on which other orbits share the batch.

This module holds the tableaux and one step attempt; the loop (step size control after Hairer,
Norsett and Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., Springer (1993),
section II.4, save times, stop tests) is :func:`._stepping.adaptive_flow`, shared with the
Rosenbrock method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._batch import BatchRecord, row_sum_sq
from ._stepping import adaptive_flow, rms

__all__ = ["TABLEAUX", "Tableau", "rk_flow"]


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


def rk_flow(
    field,
    x0: np.ndarray,
    tableau: Tableau,
    record: BatchRecord,
    *,
    rtol: float,
    atol: float,
    **loop,
) -> None:
    """Integrate ``x' = field(x)`` from every row of ``x0`` until each orbit stops; fill ``record``.

    ``loop``: the stopping rules, step bounds and save times of :func:`._stepping.adaptive_flow`.
    Without a continuous extension, steps are shortened to land exactly on the save times.
    """
    stepper = _RKStepper(field, tableau, rtol, atol)
    adaptive_flow(field, x0, stepper, record, rtol=rtol, atol=atol, **loop)


class _RKStepper:
    """Step attempts of an explicit pair (no state between steps besides ``y`` and ``f(y)``)."""

    def __init__(self, field, tableau: Tableau, rtol: float, atol: float) -> None:
        self.field, self.tab, self.rtol, self.atol = field, tableau, rtol, atol
        self.error_order = tableau.error_order
        self.beta = tableau.beta
        self.interpolate = _dense_dopri5 if tableau.dense else None

    def attempt(self, y, v, h):
        y_new, v_new, err_norm, stages = _attempt(
            self.field, self.tab, y, v, h, self.rtol, self.atol
        )
        return y_new, v_new, err_norm, stages, None

    def advance(self, accept) -> None:
        pass

    def keep(self, k) -> None:
        pass


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
        err_norm = h * rms(err)
    else:  # DOP853: the 5th-order estimate, corrected by the 3rd-order one
        err3 = _combine(tab.e_aux, stages, np.empty((m, n)), tmp) / scale
        e5 = row_sum_sq(err)
        denom = e5 + 0.01 * row_sum_sq(err3)
        err_norm = h * e5 / np.sqrt(np.where(denom > 0, denom, 1.0) * n)
    return y_new, v_new, err_norm, stages
