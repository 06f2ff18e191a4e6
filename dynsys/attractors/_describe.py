"""What an orbit that became recurrent settled on, from the samples collected on it.

A flow at rest is at a point; a flow that moves, or a map, is first tested for a cycle
(:mod:`._periodic`). Otherwise the set is recurrent: the Lyapunov spectrum from a few of its
points (displaced by 1e-6 of a cell, so that the orbits are independent) decides, with ``res``
the ``lyapunov_resolution`` and ``I`` the interval of 3 standard errors about the largest
exponent: chaotic when ``I`` lies above ``res``; quasi-periodic when ``I`` lies within
``[-res, res]`` (for a flow, only with enough returns to its Poincare section to exclude a
long cycle); undecided ("recurrent", with a note) otherwise. ``I`` below ``-res`` means the orbit
was still approaching a point or a cycle: it is followed further and described again, once.
"""

from __future__ import annotations

import numpy as np

from ..maps import Map
from ._grid import CellGrid
from ._lyapunov import lyapunov_spectrum
from ._options import AttractorOptions, LyapunovOptions
from ._periodic import ENOUGH_RETURNS, NoCycle, flow_cycle, flow_point, map_cycle
from ._sampling import OK, sample_orbits
from ._table import Attractor

__all__ = ["describe"]

_MAX_EXPONENTS = 10  # Lyapunov exponents estimated for a recurrent set


def describe(system, p, samples: np.ndarray, grid: CellGrid, options: AttractorOptions):
    """The attractor that ``samples (m, n)``, the end of a recurrent orbit, settled on."""
    if isinstance(system, Map):
        found = map_cycle(system, p, samples, grid, options)
        return found if found is not None else _recurrent(system, p, samples, grid, options)
    tail = samples[len(samples) // 2 :]
    if np.all(np.abs(tail - samples[-1]) <= grid.cell_size):
        return flow_point(system, p, samples[-1], tail, grid, options)
    found = flow_cycle(system, p, samples, grid, options)
    if isinstance(found, NoCycle):
        return _recurrent(system, p, samples, grid, options, returns=found.returns)
    return found


def _padded(values, n: int, fill=np.nan) -> np.ndarray:
    out = np.full(n, fill, dtype=np.result_type(np.asarray(values), float))
    out[: len(values)] = values
    return out


# ---------------------------------------------------------------------------- recurrent sets
def _lyapunov(system, p, starts, options: AttractorOptions):
    k = min(system.n, _MAX_EXPONENTS)
    numerics = LyapunovOptions(
        method=options.method if options.method in ("dop853", "dopri5") else "dop853",
        rtol=options.rtol,
        atol=options.atol,
        n_batches=1 if len(starts) > 1 else 10,
        escape_radius=options.escape_radius,
    )
    if isinstance(system, Map):
        total = options.lyapunov_iterations
        times = {"t_transient": total // 10, "t_total": total, "dt_reorthonormalize": 1}
    else:
        total = options.lyapunov_time
        dt = options.lyapunov_dt or options.dt
        times = {"t_transient": 0.1 * total, "t_total": total, "dt_reorthonormalize": dt}
    return lyapunov_spectrum(system, starts, params=p, n_exponents=k, options=numerics, **times)


def _spread(starts: np.ndarray, grid: CellGrid) -> np.ndarray:
    """The starts, all but the first displaced by 1e-6 of a cell: points of one orbit would
    otherwise retrace it (a map exactly), and the Lyapunov orbits would not be independent.
    The displacement is deterministic, so results are reproducible."""
    rng = np.random.default_rng(len(starts))
    shift = 1e-6 * grid.cell_size * rng.uniform(-1.0, 1.0, starts.shape)
    shift[0] = 0.0
    return starts + shift


def _recurrent(
    system,
    p,
    samples,
    grid: CellGrid,
    options: AttractorOptions,
    *,
    returns: int | None = None,
):
    """A recurrent set, classified by its largest Lyapunov exponent; ``returns``: the crossings
    of a flow's Poincare section seen while no cycle was found (too few cannot exclude a cycle
    of long period, so the set is not called quasi-periodic)."""
    n = system.n
    tail = samples[len(samples) // 2 :]
    picks = np.linspace(0, len(tail) - 1, options.lyapunov_orbits).round().astype(int)
    ly = _lyapunov(system, p, _spread(tail[picks], grid), options)
    lam, se = ly.lyapunov.values, ly.lyapunov_stderr.values
    notes = []
    low, high = lam[0] - 3 * se[0], lam[0] + 3 * se[0]
    res = options.lyapunov_resolution
    if not np.isfinite(lam[0]):
        kind = "recurrent"
        notes.append("no Lyapunov orbit finished (see the statuses of lyapunov_spectrum)")
    elif not np.isfinite(se[0]):
        kind = "recurrent"
        notes.append("no standard error for the largest Lyapunov exponent")
    elif low > res:
        kind = "chaotic"
    elif high < -res:
        settled = _settle(system, p, ly, grid, options)
        if settled is not None:
            return settled
        kind = "recurrent"
        notes.append(
            f"largest Lyapunov exponent {lam[0]:.3g} +- {se[0]:.2g} is negative: the orbit was "
            "still approaching a point or a cycle; raise collect_samples"
        )
    elif -res <= low and high <= res and returns is not None and returns < ENOUGH_RETURNS - 1:
        kind = "recurrent"
        notes.append(
            f"largest Lyapunov exponent {lam[0]:.3g} +- {se[0]:.2g} is zero, but only {returns} "
            "returns to a Poincare section were seen, too few to exclude a cycle of long "
            "period; raise collect_samples (or dt)"
        )
    elif -res <= low and high <= res:
        kind = "quasi-periodic"
    else:
        kind = "recurrent"
        notes.append(
            f"largest Lyapunov exponent {lam[0]:.3g} +- 3 x {se[0]:.2g} is neither above nor "
            f"within lyapunov_resolution = {res:g} of 0; raise lyapunov_time "
            "(lyapunov_iterations) or lyapunov_orbits"
        )
    picks = np.linspace(0, len(samples) - 1, min(options.n_draw, len(samples)))
    return Attractor(
        kind,
        x=samples[-1],
        samples=samples[np.unique(picks.round().astype(int))],
        cells=grid.unique_cells(samples),
        lyapunov=_padded(lam, n),
        lyapunov_stderr=_padded(se, n),
        lyapunov_method="qr",
        notes=notes,
    )


def _settle(system, p, ly, grid: CellGrid, options: AttractorOptions):
    """Describe again from the end of the Lyapunov runs, once, for an orbit that was still
    approaching a point or a cycle."""
    finished = np.flatnonzero(ly.status.values == OK)
    if finished.size == 0:
        return None
    start = ly.x_final.values[finished[0]][None]
    samples, valid, _ = sample_orbits(system, p, start, options.collect_samples, options)
    if valid[0] < options.collect_samples:
        return None
    samples = samples[0]
    if isinstance(system, Map):
        found = map_cycle(system, p, samples, grid, options)
    else:
        tail = samples[len(samples) // 2 :]
        if np.all(np.abs(tail - samples[-1]) <= grid.cell_size):
            found = flow_point(system, p, samples[-1], tail, grid, options)
        else:
            found = flow_cycle(system, p, samples, grid, options)
    return found if isinstance(found, Attractor) else None
