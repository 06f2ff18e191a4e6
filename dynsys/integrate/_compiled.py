"""Compiled vector fields, and the per-orbit compiled Dormand-Prince loop that follows them.

A model declares its field in compiled code with :class:`CompiledField` (a numba function named by
``"module:function"``, so that it pickles as a name and numba is imported only when it runs) and
:meth:`dynsys.System.with_compiled_field`. :func:`dynsys.integrate.flow` then runs ``dopri5``
without save times orbit by orbit in :func:`._compiled_orbits.dopri5_orbits`, on several threads
(the loop releases the GIL), with the arithmetic of the batched numpy loop: the results are those
of the numpy path. A field that also has a lane form (``CompiledField.lanes``) runs 32 orbits at a
time in :func:`._compiled_lanes.dopri5_lanes`, bit for bit the same orbits. Everything else (other
methods, save times, block convergence, more than 16 states, numba missing) stays on the numpy
path.
"""

from __future__ import annotations

import functools
import importlib.util
import multiprocessing
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .._execution import CHUNK_THREADS
from .._trapping import TrappingRegions
from ..system import CompiledField
from ._batch import BatchRecord
from ._options import FlowOptions
from ._rk import DOPRI5

__all__ = [
    "CompiledField",
    "StopRegions",
    "compiled_field_signature",
    "compiled_lyapunov_signature",
    "compiled_threads",
    "lane_field_signature",
    "lane_lyapunov_signature",
    "run_compiled",
    "uses_compiled",
]

_MAX_STATES = 16  # the numpy loop sums squares state by state up to here (row_sum_sq)
_MIN_PER_THREAD = 64  # orbits per thread below which one thread does it all


@dataclass(frozen=True)
class StopRegions:
    """Regions in which an orbit stops as converged: ellipsoids
    ``(x - c_k)^T P_k (x - c_k) <= level_k``, then trapping regions
    ``V(x) < trap_levels_k, trap_normals_k . x > trap_offsets_k`` of a model's Lyapunov function
    ``V`` (:class:`dynsys.TrappingRegions`, at the parameter values ``lyapunov_params``).

    ``centers (k, n)``, ``forms (k, n, n)`` (symmetric positive definite), ``levels (k,)``;
    ``rows`` names what each region belongs to (an attractor row, say), the ellipsoids' first
    and the trapping regions' after them. Basin computations make them for known attracting points
    (:mod:`dynsys.basins._regions`, :mod:`dynsys.basins._traps`); :func:`flow` takes them as
    ``stop_regions``.

    Examples
    --------
    >>> regions = StopRegions(np.array([[1.0, 0.0]]), np.eye(2)[None], np.array([0.01]),
    ...                       np.array([0]))
    >>> regions.contains([[1.05, 0.0], [1.2, 0.0]]).tolist()
    [0, -1]
    """

    centers: np.ndarray
    forms: np.ndarray
    levels: np.ndarray
    rows: np.ndarray
    lyapunov: TrappingRegions | None = None
    lyapunov_params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trap_levels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    trap_normals: np.ndarray | None = None
    trap_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        if self.trap_normals is None:
            object.__setattr__(self, "trap_normals", np.zeros((0, self.centers.shape[1])))

    @classmethod
    def empty(cls, n: int) -> StopRegions:
        return cls(np.zeros((0, n)), np.zeros((0, n, n)), np.zeros(0), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.levels.shape[0] + self.trap_levels.shape[0])

    def contains(self, x: np.ndarray) -> np.ndarray:
        """The region holding each state of ``x (m, n)`` (the first one), or -1."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out = np.full(x.shape[0], -1, dtype=np.int64)
        k_ellipsoids = int(self.levels.shape[0])
        if self.trap_levels.shape[0]:
            side = x @ self.trap_normals.T > self.trap_offsets  # (m, k)
            some = side.any(axis=1)
            value = np.full(x.shape[0], np.inf)
            if some.any():
                value[some] = self.lyapunov.lyapunov_function()(x[some], self.lyapunov_params)
            for k in range(self.trap_levels.shape[0] - 1, -1, -1):
                out[side[:, k] & (value < self.trap_levels[k])] = k_ellipsoids + k
        for k in range(k_ellipsoids - 1, -1, -1):
            e = x - self.centers[k]
            inside = np.einsum("mi,ij,mj->m", e, self.forms[k], e) <= self.levels[k]
            out[inside] = k
        return out


def compiled_field_signature():
    """The numba signature a :class:`CompiledField` is compiled with (imports numba):
    ``field(y, params, out)``, three 1-D C-contiguous float64 arrays.

    Examples
    --------
    >>> [str(a) for a in compiled_field_signature().args]
    ['array(float64, 1d, C)', 'array(float64, 1d, C)', 'array(float64, 1d, C)']
    """
    from ._compiled_types import FIELD_SIGNATURE

    return FIELD_SIGNATURE


def compiled_lyapunov_signature():
    """The numba signature the compiled Lyapunov function of :class:`dynsys.TrappingRegions` is
    compiled with (imports numba): ``V(y, params) -> float64``, two 1-D C-contiguous float64
    arrays.

    Examples
    --------
    >>> str(compiled_lyapunov_signature().return_type)
    'float64'
    """
    from ._compiled_types import LYAPUNOV_SIGNATURE

    return LYAPUNOV_SIGNATURE


def lane_field_signature():
    """The numba signature a field in lane form (``CompiledField.lanes``) is compiled with
    (imports numba): ``lanes(Y, params, OUT)``, ``Y`` and ``OUT`` of shape ``(n, k)`` (one state
    per column), ``params`` 1-D, all C-contiguous float64.

    Examples
    --------
    >>> [str(a) for a in lane_field_signature().args]
    ['array(float64, 2d, C)', 'array(float64, 1d, C)', 'array(float64, 2d, C)']
    """
    from ._compiled_types import LANE_FIELD_SIGNATURE

    return LANE_FIELD_SIGNATURE


def lane_lyapunov_signature():
    """The numba signature a Lyapunov function in lane form (``TrappingRegions.lanes``) is
    compiled with (imports numba): ``lanes(Y, params, out)`` writes ``V`` of each column of
    ``Y (n, k)`` into ``out (k,)``; all C-contiguous float64.

    Examples
    --------
    >>> [str(a) for a in lane_lyapunov_signature().args]
    ['array(float64, 2d, C)', 'array(float64, 1d, C)', 'array(float64, 1d, C)']
    """
    from ._compiled_types import LANE_LYAPUNOV_SIGNATURE

    return LANE_LYAPUNOV_SIGNATURE


def uses_compiled(system, options: FlowOptions, save_times: np.ndarray) -> bool:
    """Whether :func:`dynsys.integrate.flow` runs ``system`` on the compiled path."""
    return (
        getattr(system, "compiled_field", None) is not None
        and options.method == "dopri5"
        and save_times.size == 0
        and options.converge_block is None
        and system.n <= _MAX_STATES
        and importlib.util.find_spec("numba") is not None
    )


def chunk_threads(system, options: FlowOptions) -> int:
    """Threads on which batches of orbits of ``system`` may be followed side by side in this
    process (as :func:`dynsys._execution.run_chunks` runs the chunks of a basin map): the
    compiled loop's threads when :func:`flow` follows ``system`` on the compiled path, which
    releases the GIL (each batch then runs on one thread); 1 otherwise.

    Parameters
    ----------
    system : System
        The system whose orbits are followed.
    options : FlowOptions
        The options of the flow.

    Returns
    -------
    int
        The number of threads, at least 1.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> chunk_threads(double_well(), FlowOptions())  # a field in numpy: the GIL is held
    1
    """
    save_times = np.asarray(options.save_times or (), dtype=float)
    if not uses_compiled(system, options, save_times):
        return 1
    return compiled_threads()


def compiled_threads() -> int:
    """Threads for the compiled loop: the CPUs this process may use, or one inside a worker
    process (of a process pool or a dask cluster, which already runs a process per core) and in
    a thread that runs chunks beside others."""
    if threading.current_thread().name.startswith(CHUNK_THREADS):
        return 1
    if multiprocessing.parent_process() is not None or _in_dask_worker():
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker
    except ImportError:  # pragma: no cover - dask is optional
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """A thread pool of this size, kept for the life of the process (starting threads for
    every batch costs more than a small batch takes); a forked child makes its own."""
    key = (os.getpid(), threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(threads, thread_name_prefix="dynsys-compiled")
    return _POOLS[key]


def run_compiled(
    system,
    p,
    x0: np.ndarray,
    record: BatchRecord,
    options: FlowOptions,
    regions: StopRegions | None = None,
) -> np.ndarray:
    """Integrate every row of ``x0`` on the compiled path; fill ``record`` and return the stop
    region each orbit ended in (-1: none)."""
    from .._first_class import first_class
    from ._compiled_kernels import no_lyapunov
    from ._compiled_types import (
        FIELD_SIGNATURE,
        LANE_FIELD_SIGNATURE,
        LANE_LYAPUNOV_SIGNATURE,
        LANES,
        LYAPUNOV_SIGNATURE,
    )

    function = first_class(system.compiled_field.load(), FIELD_SIGNATURE)
    lanes = system.compiled_field.load_lanes()
    regions = StopRegions.empty(system.n) if regions is None else regions
    traps = regions.lyapunov
    lyapunov_lanes = None if traps is None else traps.lanes_function()
    # lanes when the field (and V, with trapping regions) has a lane form, and the orbits are
    # not so few that the one-orbit loop wastes nothing; each loop is compiled only when used
    in_lanes = lanes is not None and (traps is None or lyapunov_lanes is not None)
    if in_lanes and x0.shape[0] >= 4 * LANES:
        from ._compiled_lanes import dopri5_lanes, no_lyapunov_lanes

        lyapunov_lanes = no_lyapunov_lanes if lyapunov_lanes is None else lyapunov_lanes
        kernel = functools.partial(
            dopri5_lanes,
            function,
            first_class(lanes, LANE_FIELD_SIGNATURE),
            first_class(lyapunov_lanes, LANE_LYAPUNOV_SIGNATURE),
        )
    else:
        from ._compiled_orbits import dopri5_orbits

        in_lanes = False
        kernel = functools.partial(dopri5_orbits, function)
    params = np.array([float(p[name]) for name in system.compiled_field.params])
    m, n = x0.shape
    x0 = np.ascontiguousarray(x0, dtype=float)
    out = {
        "x_final": np.empty((m, n)),
        "t_final": np.zeros(m),  # zeros and -1: the loops write these only where they change
        "status": np.empty(m, dtype=np.int8),
        "n_steps": np.zeros(m, dtype=np.int64),
        "n_rejected": np.zeros(m, dtype=np.int64),
        "speed_sq": np.empty(m),
        "region": np.full(m, -1, dtype=np.int64),
        "evaluations": np.zeros(m, dtype=np.int64),
    }
    conv = options.converge_tol
    settings = (
        float(options.t_max),
        float(options.rtol),
        float(options.atol),
        -1.0 if conv is None else float(conv) * float(conv),
        float(options.escape_radius) ** 2,
        int(options.max_steps),
        -1.0 if options.first_step is None else float(options.first_step),
        float(options.min_step),
        float(options.max_step),
        float(DOPRI5.beta),
    )
    centers = np.ascontiguousarray(regions.centers, dtype=float)
    forms = np.ascontiguousarray(regions.forms, dtype=float)
    levels = np.ascontiguousarray(regions.levels, dtype=float)
    traps = (
        first_class(
            no_lyapunov if regions.lyapunov is None else regions.lyapunov.compiled_function(),
            LYAPUNOV_SIGNATURE,
        ),
        *(
            np.ascontiguousarray(a, dtype=float)
            for a in (
                regions.lyapunov_params,
                regions.trap_levels,
                regions.trap_normals,
                regions.trap_offsets,
            )
        ),
    )

    def run(lo: int, hi: int) -> None:
        kernel(
            params,
            x0[lo:hi],
            centers,
            forms,
            levels,
            *traps,
            *settings,
            *(v[lo:hi] for v in out.values()),
        )

    threads = min(compiled_threads(), max(1, m // _MIN_PER_THREAD))
    if threads == 1:
        run(0, m)
    else:
        # more blocks than threads: a thread that finishes early takes the next block; in
        # lanes, blocks of at least 8 lanes' worth of orbits, so that lanes seldom stand empty
        per_thread = 8 if not in_lanes else max(1, min(8, m // (threads * 8 * LANES)))
        bounds = np.linspace(0, m, per_thread * threads + 1).astype(int)
        list(_pool(threads).map(run, bounds[:-1], bounds[1:]))
    record.finish(
        np.arange(m),
        out["x_final"],
        out["t_final"],
        out["speed_sq"],
        out["n_steps"],
        out["n_rejected"],
        out["status"],
    )
    total = int(out["evaluations"].sum())
    record.n_calls += total
    record.n_evaluations += total
    return out["region"]
