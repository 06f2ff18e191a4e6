"""Chunked execution: in-process, on a local process pool, or on a dask.distributed cluster;
finished chunks written to a run folder so that an interrupted run resumes where it stopped.

A run is a list of :class:`ChunkTask` and one picklable *work* callable ``work(task) -> Dataset``.
:func:`run_chunks` returns the chunk results in task order whatever order they finished in, so a
result never depends on where or when a chunk ran (each chunk draws from its own random stream,
:func:`dynsys._montecarlo.chunk_rng`).

Shipping a system to other processes. A :class:`~dynsys.System` built inside a factory holds
closures, which the standard :mod:`pickle` cannot serialise (``ProcessPoolExecutor`` uses it).
:func:`pack_system` therefore tries, in order: the system as it is when it is a
:class:`SystemRef` (``"module:function"`` plus keyword arguments, rebuilt in each worker); standard
pickle; ``cloudpickle`` (installed with dask), whose output plain ``pickle.loads`` reads back. When
none works the error says to pass a ``SystemRef``.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib
import json
import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import InputError, InputTypeError

__all__ = [
    "ChunkTask",
    "SystemRef",
    "open_executor",
    "pack_system",
    "plan_chunks",
    "run_chunks",
    "unpack_system",
]

_MANIFEST = "manifest.json"
_ADDRESS_PREFIXES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")


@dataclass(frozen=True)
class ChunkTask:
    """One chunk: its number, the global index of its first item, its size, and (for grids) its
    initial states."""

    index: int
    start: int
    size: int
    x0: np.ndarray | None = field(default=None, compare=False, repr=False)


def plan_chunks(n_items: int, chunk_size: int, *, first_index: int = 0, start: int = 0):
    """Cut ``n_items`` consecutive items into tasks of ``chunk_size`` (the last may be smaller).

    Examples
    --------
    >>> [(t.index, t.start, t.size) for t in plan_chunks(5, 2)]
    [(0, 0, 2), (1, 2, 2), (2, 4, 1)]
    """
    if chunk_size < 1:
        raise InputError(f"`chunk_size` must be a positive integer; got {chunk_size!r}.")
    tasks = []
    for k, offset in enumerate(range(0, n_items, chunk_size)):
        size = min(chunk_size, n_items - offset)
        tasks.append(ChunkTask(first_index + k, start + offset, size))
    return tasks


# ------------------------------------------------------------------------- shipping systems
@dataclass(frozen=True)
class SystemRef:
    """A system named by an importable factory, rebuilt wherever it is needed.

    Parameters
    ----------
    factory : str
        ``"package.module:function"``; the function returns a System.
    kwargs : mapping
        Keyword arguments of the factory.
    params : mapping
        Parameter values applied with ``with_params`` after building.

    Examples
    --------
    >>> ref = SystemRef("dynsys.models.classic:duffing", {"delta": 0.5})
    >>> ref.build().params["delta"]
    0.5
    """

    factory: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module, sep, attr = self.factory.partition(":")
        if not (module and sep and attr):
            raise InputError(
                f"`factory` must look like 'package.module:function'; got {self.factory!r}."
            )
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        object.__setattr__(self, "params", dict(self.params))

    def build(self):
        """Import the factory, call it, apply ``params``; return the System."""
        module, _, attr = self.factory.partition(":")
        fn = getattr(importlib.import_module(module), attr, None)
        if not callable(fn):
            raise InputTypeError(f"SystemRef: module {module!r} has no callable {attr!r}.")
        system = fn(**self.kwargs)
        return system.with_params(**self.params) if self.params else system


def pack_system(system) -> SystemRef | bytes:
    """A picklable stand-in for ``system``: itself if a SystemRef, else pickled bytes.

    Raises
    ------
    TypeError
        If the system cannot be pickled (closures without cloudpickle): pass a SystemRef.
    """
    if isinstance(system, SystemRef):
        return system
    try:
        return pickle.dumps(system)
    except (pickle.PicklingError, AttributeError, TypeError):
        pass
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle comes with the dask extra
        raise InputTypeError(
            f"the system {system.name!r} cannot be pickled for other processes (it holds "
            "closures) and cloudpickle is not installed. Install dask (`pip install "
            "'dynsys[dask]'`) or pass `SystemRef('package.module:factory', kwargs)`."
        ) from None
    return cloudpickle.dumps(system)


def unpack_system(packed):
    """Inverse of :func:`pack_system`."""
    if isinstance(packed, SystemRef):
        return packed.build()
    if isinstance(packed, bytes):
        return pickle.loads(packed)
    return packed


# ------------------------------------------------------------------------- run folder
def _fingerprint_json(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(fingerprint, sort_keys=True, default=_json_default))


def _json_default(value):
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _prepare_run_dir(run_dir: Path, fingerprint: Mapping[str, Any]) -> None:
    from .io import atomic_write_path

    run_dir.mkdir(parents=True, exist_ok=True)
    wanted = _fingerprint_json(fingerprint)
    manifest = run_dir / _MANIFEST
    if manifest.exists():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found != wanted:
            diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            key = diff[0]
            raise InputError(
                f"the run folder {str(run_dir)!r} holds a run with other settings (`{key}` was "
                f"{found.get(key)!r}, now {wanted.get(key)!r}; {len(diff)} setting(s) differ). "
                "Use a new `run_dir`, or delete this one to start over."
            )
        return
    with atomic_write_path(manifest) as temp:
        temp.write_text(json.dumps(wanted, indent=1, sort_keys=True), encoding="utf-8")


def _chunk_path(run_dir: Path, task: ChunkTask) -> Path:
    return run_dir / f"chunk_{task.index:06d}.nc"


def _load_finished(run_dir: Path, task: ChunkTask) -> xr.Dataset | None:
    from .io import load

    path = _chunk_path(run_dir, task)
    if not path.exists():
        return None
    ds = load(path)
    if int(ds.attrs.get("chunk_start", -1)) != task.start or ds.sizes.get("orbit") != task.size:
        raise InputError(
            f"{path} holds items {ds.attrs.get('chunk_start')}.. ({ds.sizes.get('orbit')} of "
            f"them), but this run expects {task.start}.. ({task.size}); the run folder does not "
            "belong to this run. Use a new `run_dir`."
        )
    return ds


# ------------------------------------------------------------------------- executors
def _is_dask_client(obj) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


class _Runner:
    """Submit tasks to the chosen executor and yield ``(task, result)`` as they finish."""

    def __init__(self, executor, workers: int | None) -> None:
        self.own = None
        self.kind = "inprocess"
        if executor is None or executor == "inprocess":
            return
        if executor == "processes":
            ctx = multiprocessing.get_context("spawn")
            size = workers or os.cpu_count()
            self.pool = cf.ProcessPoolExecutor(
                max_workers=size, mp_context=ctx, initializer=single_threaded_worker
            )
            self.own, self.kind = self.pool, "futures"
        elif isinstance(executor, str) and executor.startswith(_ADDRESS_PREFIXES):
            from distributed import Client

            self.pool = self.own = Client(executor, set_as_default=False)
            self.kind = "dask"
        elif _is_dask_client(executor):
            self.pool, self.kind = executor, "dask"
        elif isinstance(executor, cf.Executor):
            self.pool, self.kind = executor, "futures"
        else:
            raise InputError(
                "`executor` must be None or 'inprocess', 'processes', a dask scheduler address "
                "('tcp://host:port'), a distributed.Client, or a concurrent.futures.Executor; "
                f"got {executor!r}."
            )

    def run(self, work: Callable, tasks: Sequence[ChunkTask]):
        if self.kind == "inprocess":
            for task in tasks:
                yield task, work(task)
            return
        if self.kind == "dask":
            from distributed import as_completed

            futures = {self.pool.submit(work, t, pure=False): t for t in tasks}
            try:
                for future in as_completed(list(futures), loop=self.pool.loop):
                    yield futures[future], future.result()
            finally:
                self.pool.cancel(list(futures))
            return
        futures = {self.pool.submit(work, t): t for t in tasks}
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        if self.own is None:
            return
        if self.kind == "futures":
            self.own.shutdown(wait=True, cancel_futures=True)
        else:
            self.own.close()


_BLAS_LIMITS = []


def single_threaded_worker() -> None:
    """Initializer of pool workers: one BLAS/OpenMP thread per worker process.

    The pool already has a process per core; BLAS threads on top of it oversubscribe the cores
    (measured: a K = d = 18 descent table took 183 s instead of 41 s on two cores).
    """
    from threadpoolctl import threadpool_limits

    _BLAS_LIMITS.append(threadpool_limits(limits=1))


@contextmanager
def open_executor(executor=None, workers: int | None = None) -> Iterator[Any]:
    """Resolve ``executor`` once for several calls (of :func:`run_chunks`, or of the basin
    functions: pass the yielded object as their ``executor`` so that they share one pool).

    "processes" starts a process pool (spawned workers, one BLAS thread each) and a scheduler
    address connects a dask client, both closed when the block ends; anything else is yielded
    as it is.

    Examples
    --------
    >>> with open_executor(None) as ex:
    ...     print(ex)
    None
    """
    if executor == "processes" or (
        isinstance(executor, str) and executor.startswith(_ADDRESS_PREFIXES)
    ):
        runner = _Runner(executor, workers)
        try:
            yield runner.pool
        finally:
            runner.close()
    else:
        _Runner(executor, workers)  # validate
        yield executor


def run_chunks(
    work: Callable[[ChunkTask], xr.Dataset],
    tasks: Sequence[ChunkTask],
    *,
    executor=None,
    workers: int | None = None,
    run_dir: str | os.PathLike | None = None,
    fingerprint: Mapping[str, Any] | None = None,
    progress: bool = False,
    desc: str = "basins",
) -> list[xr.Dataset]:
    """Run ``work`` on every task and return the results in task order.

    Parameters
    ----------
    work : callable
        ``work(task) -> xarray.Dataset`` with an ``orbit`` dimension of length ``task.size``;
        picklable for process pools (a module-level class instance), cloudpickle-able for dask.
    tasks : sequence of ChunkTask
        The chunks; their ``index`` names their file in ``run_dir``.
    executor : None, str, concurrent.futures.Executor or distributed.Client
        ``None``/"inprocess": one after another in this process. "processes": a local
        ``ProcessPoolExecutor`` (spawned workers; scripts need an ``if __name__ == "__main__":``
        guard). A scheduler address ("tcp://..."): a dask.distributed cluster, connected for the
        run. An Executor or Client: used as given (not shut down).
    workers : int, optional
        Size of the process pool for "processes" (default: the number of CPUs).
    run_dir : path, optional
        Folder for the chunk files. Finished chunks found there are loaded, not recomputed;
        each new chunk is written (atomically) as soon as it finishes.
    fingerprint : mapping, optional
        Settings that determine the chunks' content, stored in ``manifest.json``; a folder made
        with other settings is refused.
    progress : bool
        A tqdm bar counting finished orbits.
    desc : str
        Label of the progress bar.

    Returns
    -------
    list of xarray.Dataset
        One per task, in task order, each with attrs ``chunk_index``, ``chunk_start``.

    Examples
    --------
    >>> def work(task):
    ...     return xr.Dataset({"x": ("orbit", np.arange(task.start, task.start + task.size))})
    >>> out = run_chunks(work, plan_chunks(5, 2))
    >>> xr.concat(out, "orbit")["x"].values.tolist()
    [0, 1, 2, 3, 4]
    """
    from .io import save

    directory = Path(run_dir) if run_dir is not None else None
    results: dict[int, xr.Dataset] = {}
    if directory is not None:
        _prepare_run_dir(directory, fingerprint or {})
        for task in tasks:
            found = _load_finished(directory, task)
            if found is not None:
                results[task.index] = found
    pending = [t for t in tasks if t.index not in results]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = sum(t.size for t in tasks)
        bar = tqdm(
            total=total, initial=total - sum(t.size for t in pending), desc=desc, unit="orbit"
        )
    runner = _Runner(executor, workers) if pending else None
    try:
        if runner is not None:
            for task, ds in runner.run(work, pending):
                ds = ds.assign_attrs(chunk_index=task.index, chunk_start=task.start)
                if directory is not None:
                    save(ds, _chunk_path(directory, task))
                results[task.index] = ds
                if bar is not None:
                    bar.update(task.size)
    finally:
        if runner is not None:
            runner.close()
        if bar is not None:
            bar.close()
    return [results[t.index] for t in tasks]
