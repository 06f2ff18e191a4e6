"""find_attractors: attractors of any kind, found by recurrence in a grid of cells."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._status import Status
from .._validate import as_float_array, as_state_batch
from ..errors import InputError, InputTypeError
from ..maps import Map
from ..system import System
from ._dataset import attractor_dataset
from ._describe import describe
from ._grid import CellGrid
from ._options import AttractorOptions
from ._sampling import OK, sample_orbits
from ._scan import COLLECTED, ESCAPED, RECOGNISED, OrbitScan
from ._table import Attractor, AttractorTable, status_of_kind, table_from_dataset

__all__ = ["find_attractors"]

_FIRST_WINDOW = 50  # samples of the first integration window of a batch (many orbits are
_WINDOW = 200  # recognised early), then of every further window
_FIRST_BATCH = 8  # batches grow from this size, so that early orbits find the attractors


def _as_seeds(seeds, n: int) -> np.ndarray:
    arr = as_float_array(seeds, "seeds")
    if n == 1 and arr.ndim == 1:
        arr = arr[:, None]
    arr = as_state_batch(arr, n, name="seeds", allow_nonfinite=True).reshape(-1, n)
    if len(arr) == 0:
        raise InputError(f"`seeds` is empty; give at least one start state of shape ({n},).")
    return arr


def find_attractors(
    system: System | Map,
    seeds,
    *,
    params: Mapping[str, Any] | None = None,
    options: AttractorOptions | None = None,
    known: xr.Dataset | None = None,
) -> xr.Dataset:
    """Find the attractors reached from ``seeds`` - points, cycles, chaotic and quasi-periodic
    sets - by recurrence of their orbits in a grid of cells, and describe each one.

    Each orbit is sampled every ``dt`` (a flow) or every iterate (a map) and the cell of every
    sample is recorded in a sparse table (a dict of visited cells, so any dimension works). An
    orbit that keeps landing in cells it has visited before, ``recurrence_count`` samples in a
    row, has settled on a recurrent set of the grid: its next ``collect_samples`` samples are
    kept and the set is described (see Notes) and registered with its cells. Later orbits that
    land ``recognition_count`` samples in a row in cells of a known attractor are labelled with
    it. Orbits are followed in batches of ``batch_size``, in the order of the seeds.

    Parameters
    ----------
    system : System or Map
        A flow or a map.
    seeds : array_like, shape (..., n)
        Start states, flattened into the ``seed`` dimension; for a one-state map a flat array of
        states is accepted. Non-finite seeds get the outcome ``nonfinite``; the others run.
    params : mapping, optional
        Parameter values overriding the system's defaults.
    options : AttractorOptions
        The grid (``cell_size`` is required), the counts of the recurrence test, tolerances.
    known : xarray.Dataset, optional
        A result of an earlier search of the same system with the same grid: its attractors
        are the first rows of the new table, in the same order and with their cells, so that
        orbits that reach them are recognised (not described again) and new attractors are
        numbered after them. A search in rounds stays consistent this way.

    Returns
    -------
    xarray.Dataset
        Per seed (dim ``seed``): ``x0``, ``x_final(seed, state)`` (the last sample),
        ``label(seed)`` (the row of the attractor reached, or minus the outcome code:
        ``dynsys.explain(-label)``), ``status(seed)`` (``converged`` at a point, ``periodic``
        on a cycle, ``recurrent`` on a chaotic, quasi-periodic or undecided set; otherwise
        ``max_steps``, ``escaped``, ``nonfinite``, ``step_underflow``, ``not_attracting``,
        ``unverified``), ``n_samples(seed)``.
        The attractor table (dim ``attractor``: rows ``0..m-1``, then ``-code`` for each outcome
        that occurs, as in basin results): ``attractor_kind`` ("point", "cycle", "chaotic",
        "quasi-periodic", "recurrent", or the outcome's name), ``attractor_x(attractor,
        state)`` (the fixed point; a point of the cycle, on its Poincare section for a flow; the
        last sample of a recurrent set), ``attractor_period`` (time of a flow's cycle, iterates
        of a map's cycle, 1 for a map's point; NaN otherwise), ``attractor_period_error`` (the
        spread of the return times used), ``attractor_residual`` (``|f|`` at a point, ``|g^q(x)
        - x|`` at a map's cycle, the distance between the last repeated returns of a flow's
        cycle), ``attractor_eigenvalue_real/imag(attractor, mode)`` (Jacobian eigenvalues of a
        flow's point; multipliers of a map's point or cycle; Floquet multipliers of a flow's
        cycle, largest modulus first), ``attractor_lyapunov(attractor, exponent)`` and
        ``attractor_lyapunov_stderr`` (exact from the eigenvalues or multipliers, 0 error;
        from :func:`~dynsys.attractors.lyapunov_spectrum` for recurrent sets, the largest
        ``min(n, 10)``), ``attractor_lyapunov_method`` ("eigenvalues", "multipliers",
        "floquet", "qr"), ``attractor_low/high(attractor, state)`` (bounding box of the
        samples), ``attractor_section_normal(attractor, state)`` (flows' cycles),
        ``attractor_samples(attractor, sample, state)`` (points on it, NaN-padded: a cycle
        over one period, a recurrent set's collected samples), ``attractor_n_cells``,
        ``attractor_note`` (why a set is undecided, or that two attractors share cells),
        ``n_seeds(attractor)`` and ``fraction(attractor)``.
        The cells (dim ``cell``): ``cell_index(cell, state)``, ``cell_attractor(cell)``, and
        the grid: ``cell_size(state)``, ``grid_origin(state)`` (a cell is
        ``floor((x - grid_origin) / cell_size)``), ``grid_low/high(state)`` when bounded.
        Attributes: provenance, the options, ``dynamics`` ("flow" or "map"), ``n_attractors``.

    Raises
    ------
    InputTypeError
        If ``system`` is not a System or Map, or ``options`` is not AttractorOptions.
    InputError
        If ``seeds`` is malformed, ``cell_size`` is missing, the grid's shape does not match
        the system, or ``known`` was found on another grid.

    Notes
    -----
    Description: a flow whose last half of collected samples stays within one cell is at a
    point, refined by Newton (:func:`dynsys.fixedpoints.find_fixed_points`) within one cell of
    the orbit and attracting by its eigenvalues; a flow that moves is tested for a cycle by its
    returns to a Poincare section through its last sample (period: the time between returns
    that repeat within ``cycle_tol``, accurate to about the integration tolerance), with
    Floquet multipliers from the monodromy matrix; a map's cycle is the smallest period with
    which its iterates repeat, refined by Newton on ``g^q(x) - x``. Anything else is a
    recurrent set, "chaotic" when its largest Lyapunov exponent exceeds ``lyapunov_resolution``
    by 3 standard errors, "quasi-periodic" when it is within ``lyapunov_resolution`` of 0 by
    3 standard errors (and, for a flow, returns to the section excluded a long cycle),
    "recurrent" (undecided, with a note) otherwise. An orbit that settles on a point or cycle
    that does not attract (it started on a stable manifold of a saddle, or lingers near an
    unstable cycle) ends ``not_attracting``. A cycle of a flow is described for a refinement as
    a periodic orbit (collocation): a point on it (``attractor_x``, on the section through it
    with normal ``attractor_section_normal``, a phase condition), the period, and
    ``attractor_samples``, the states at ``n_draw`` equal steps of time over one period from
    ``attractor_x`` (first and last nearly equal), a first mesh.

    Seeds outside a bounded grid are followed like any other (an orbit may enter the grid);
    they end ``escaped`` only if they stay outside for ``max_outside`` samples: the grid bounds
    the region where attractors are sought, not where orbits may start.

    Examples
    --------
    >>> from dynsys.models import logistic
    >>> ds = find_attractors(logistic(r=3.2), [0.1, 0.3, 0.9],
    ...                      options=AttractorOptions(cell_size=0.01))
    >>> str(ds.attractor_kind[0].values), int(ds.attractor_period[0])
    ('cycle', 2)
    >>> ds.label.values.tolist()
    [0, 0, 0]
    >>> again = find_attractors(logistic(r=3.2), [0.5], known=ds,
    ...                         options=AttractorOptions(cell_size=0.01))
    >>> again.label.values.tolist(), again.attrs["n_attractors"]
    ([0], 1)
    """
    if not isinstance(system, System | Map):
        raise InputTypeError(
            f"`system` must be a dynsys System (a flow) or Map; got {type(system).__name__}."
        )
    options = AttractorOptions() if options is None else options
    if not isinstance(options, AttractorOptions):
        raise InputTypeError(
            f"`options` must be an AttractorOptions; got {type(options).__name__}."
        )
    n = system.n
    grid = CellGrid.from_options(options, n)
    seeds = _as_seeds(seeds, n)
    p = system.resolve_params(params)
    dynamics = "map" if system.is_map else "flow"
    if known is not None and known.attrs.get("dynamics") != dynamics:
        raise InputError(f"`known` was not found for a {dynamics}; pass a result for this system.")
    table = AttractorTable(grid) if known is None else table_from_dataset(known, grid)
    k = len(seeds)
    result = {
        "label": np.zeros(k, dtype=np.int64),
        "status": np.full(k, int(Status.RUNNING), dtype=np.int64),
        "n_samples": np.zeros(k, dtype=np.int64),
        "x_final": seeds.copy(),
    }
    finite = np.isfinite(seeds).all(axis=1)
    result["status"][~finite] = Status.NONFINITE
    todo = np.flatnonzero(finite)
    with np.errstate(all="ignore"):
        start, size = 0, min(_FIRST_BATCH, options.batch_size)
        while start < todo.size:
            _run_batch(system, p, seeds, todo[start : start + size], grid, table, options, result)
            start, size = start + size, min(4 * size, options.batch_size)
    labelled = result["status"] == OK
    result["label"][~labelled] = -result["status"][~labelled]
    kinds = np.array([status_of_kind(item.kind) for item in table.items] or [OK])
    result["status"][labelled] = kinds[result["label"][labelled]]
    return attractor_dataset(system, p, seeds, result, table, grid, options)


def _run_batch(system, p, seeds, items, grid, table, options, result) -> None:
    """Follow the orbits ``items`` until each is labelled or ends; fill ``result``.

    While it runs, ``result["status"]`` is OK for orbits labelled with ``result["label"]``."""
    scans = {int(i): OrbitScan() for i in items}
    x = {int(i): seeds[i] for i in items}
    active = [int(i) for i in items]
    window = _FIRST_WINDOW
    while active:
        room = max(options.max_steps - scans[i].n_samples for i in active)
        count, window = int(min(window, room)), _WINDOW
        samples, valid, code = sample_orbits(
            system, p, np.array([x[i] for i in active]), count, options
        )
        still = []
        for j, i in enumerate(active):
            usable = int(min(valid[j], options.max_steps - scans[i].n_samples))
            decided, used = _feed(
                system, p, i, scans[i], samples[j, :usable], grid, table, options, result
            )
            if used:
                result["x_final"][i] = x[i] = samples[j, used - 1]
            if decided:
                continue
            if usable == valid[j] and code[j] != OK:
                result["status"][i] = code[j]
            elif scans[i].n_samples >= options.max_steps:
                result["status"][i] = Status.MAX_STEPS
            else:
                still.append(i)
        active = still
        for i in items:
            result["n_samples"][i] = scans[int(i)].n_samples


def _feed(system, p, i, scan: OrbitScan, samples, grid, table, options, result):
    """Scan the samples of orbit ``i``; ``(decided, samples used)``."""
    keys = grid.keys(samples)
    used = 0
    while used < len(keys):
        event, row, step = scan.scan(keys[used:], samples[used:], table.owner, options)
        used += step
        if event == RECOGNISED:
            result["status"][i], result["label"][i] = OK, row
            return True, used
        if event == ESCAPED:
            result["status"][i] = Status.ESCAPED
            return True, used
        if event == COLLECTED:
            found = describe(system, p, np.array(scan.collected), grid, options)
            if isinstance(found, Attractor):
                result["status"][i], result["label"][i] = OK, table.add(found)
                return True, used
            if found is not None:
                result["status"][i] = found
                return True, used
            scan.restart_search()
    return False, used
