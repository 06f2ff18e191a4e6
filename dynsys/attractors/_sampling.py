"""Samples of a batch of orbits: every ``dt`` of a flow (:func:`dynsys.integrate.flow` with save
times), every iterate of a map. An orbit that fails stops with its outcome code; its samples
after the failure are NaN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._status import Status
from ..integrate import FlowOptions, flow
from ..maps import Map
from ._options import AttractorOptions

__all__ = ["OK", "sample_orbits"]

OK = int(Status.CONVERGED)
_NONFINITE = int(Status.NONFINITE)
_ESCAPED = int(Status.ESCAPED)
_TIME_LIMIT = int(Status.TIME_LIMIT)
_FLOW_STEPS_PER_SAMPLE = 1000  # step budget of the integrator per sample


def sample_orbits(
    system, params: Mapping[str, Any], x: np.ndarray, count: int, options: AttractorOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next ``count`` samples of the orbits from states ``x (B, n)``.

    Returns ``(samples (B, count, n), valid (B,), code (B,))``: ``valid`` counts the leading
    finite samples of each orbit, ``code`` is ``OK`` for orbits that produced them all and the
    outcome (escaped, nonfinite, max_steps, step_underflow) for the others.
    """
    if isinstance(system, Map):
        return _iterate(system, params, x, count, options.escape_radius)
    times = options.dt * np.arange(1, count + 1)
    flow_options = FlowOptions(
        method=options.method,
        t_max=float(times[-1]),
        rtol=options.rtol,
        atol=options.atol,
        escape_radius=options.escape_radius,
        max_steps=_FLOW_STEPS_PER_SAMPLE * count,
        save_times=tuple(times.tolist()),
    )
    ds = flow(system, x, params=params, options=flow_options)
    samples = ds.x_saved.values
    code = ds.status.values.astype(np.int64)
    code = np.where(code == _TIME_LIMIT, OK, code)
    valid = np.cumprod(np.isfinite(samples).all(axis=-1), axis=1).sum(axis=1)
    return samples, valid, code


def _iterate(system: Map, params, x: np.ndarray, count: int, escape_radius: float):
    B, n = x.shape
    samples = np.full((B, count, n), np.nan)
    code = np.full(B, OK, dtype=np.int64)
    valid = np.zeros(B, dtype=np.int64)
    alive = np.arange(B)
    current = np.array(x, dtype=float)
    with np.errstate(all="ignore"):
        for step in range(count):
            if alive.size == 0:
                break
            y = np.asarray(system.g(current, params), dtype=float)
            norm = np.sqrt((y * y).sum(axis=-1))
            ok = norm <= escape_radius  # False for NaN
            if not ok.all():
                bad = alive[~ok]
                code[bad] = np.where(np.isnan(norm[~ok]), _NONFINITE, _ESCAPED)
                alive, y = alive[ok], y[ok]
            samples[alive, step] = y
            valid[alive] += 1
            current = y
    return samples, valid, code
