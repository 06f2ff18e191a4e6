"""Measures of a cycle's profile: extremes of each state, amplitude, and the test for a profile
that has collapsed onto an equilibrium."""

from __future__ import annotations

import numpy as np

from ._collocation import Collocation

__all__ = ["amplitude", "collapsed", "extremes"]

_SAMPLES = 4  # samples per representation interval before refinement
_REFINE = 4  # Newton steps on x_i'(t) = 0 from the best sample


def extremes(col: Collocation, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x_min, x_max)``, each ``(n,)``: the extremes of each state over the piecewise
    polynomial, from dense samples refined by Newton on ``x_i'(t) = 0`` (all at once)."""
    n = col.n
    t = np.linspace(0.0, 1.0, _SAMPLES * (col.points - 1), endpoint=False)
    Y = col.profile_at(X, t)
    picks = np.concatenate([np.argmin(Y, axis=0), np.argmax(Y, axis=0)])  # (2n,)
    state = np.tile(np.arange(n), 2)
    best = Y[picks, state]
    s = t[picks]
    start = s.copy()
    reach = 2.0 / (col.points - 1)
    for _ in range(_REFINE):
        d1 = col.profile_at(X, s, 1)[np.arange(2 * n), state]
        d2 = col.profile_at(X, s, 2)[np.arange(2 * n), state]
        with np.errstate(divide="ignore", invalid="ignore"):
            trial = s - d1 / d2
        ok = np.isfinite(trial) & (np.abs(trial - start) <= reach)
        s = np.where(ok, trial, s)
        value = col.profile_at(X, s)[np.arange(2 * n), state]
        better = np.concatenate([value[:n] < best[:n], value[n:] > best[n:]]) & ok
        best = np.where(better, value, best)
    return best[:n], best[n:]


def amplitude(col: Collocation, X: np.ndarray) -> float:
    """Peak-to-peak amplitude of the first state, ``max x_0 - min x_0`` over one period."""
    low, high = extremes(col, X)
    return float(high[0] - low[0])


def collapsed(col: Collocation, X: np.ndarray, min_amplitude: float) -> bool:
    """Whether the profile is (numerically) constant: an equilibrium, not a cycle."""
    mean = col.weights @ X
    spread = float(np.max(np.abs(X - mean)))
    return spread <= min_amplitude * (1.0 + float(np.max(np.abs(mean))))
