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
    polynomial, from dense samples refined by Newton on ``x_i'(t) = 0``."""
    t = np.linspace(0.0, 1.0, _SAMPLES * (col.points - 1), endpoint=False)
    Y = col.profile_at(X, t)
    out = []
    for pick in (np.argmin, np.argmax):
        values = np.empty(col.n)
        for i in range(col.n):
            k = int(pick(Y[:, i]))
            best_t, best = t[k], Y[k, i]
            s = best_t
            for _ in range(_REFINE):
                d1 = col.profile_at(X, [s], 1)[0, i]
                d2 = col.profile_at(X, [s], 2)[0, i]
                if d2 == 0.0 or not np.isfinite(d1 / d2):
                    break
                s = s - d1 / d2
                if abs(s - best_t) > 2.0 / (col.points - 1):
                    break
                value = col.profile_at(X, [s])[0, i]
                if (value < best) if pick is np.argmin else (value > best):
                    best = value
            values[i] = best
        out.append(values)
    return out[0], out[1]


def amplitude(col: Collocation, X: np.ndarray) -> float:
    """Peak-to-peak amplitude of the first state, ``max x_0 - min x_0`` over one period."""
    low, high = extremes(col, X)
    return float(high[0] - low[0])


def collapsed(col: Collocation, X: np.ndarray, min_amplitude: float) -> bool:
    """Whether the profile is (numerically) constant: an equilibrium, not a cycle."""
    mean = col.weights @ X
    spread = float(np.max(np.abs(X - mean)))
    return spread <= min_amplitude * (1.0 + float(np.max(np.abs(mean))))
