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

Faults. With a ``run_dir`` the folder is the only state of a run, and it is always consistent:

- Every chunk file is written atomically by :func:`dynsys.io.save`, which appends a checksum
  that :func:`dynsys.io.load` verifies. A process killed outright while writing may leave a
  temporary file ``.chunk_<index>.nc.<pid>.<random>.tmp``; the next run on the folder deletes
  those of processes that no longer exist.
- A chunk file that cannot be read or does not match its checksum (truncated, overwritten) is
  never recomputed silently: the run stops with a :class:`~dynsys.errors.FileFormatError` that
  names the file and says to delete it and run again (the other chunks are kept).
- A chunk that cannot be written (disk full, read-only folder, no permission) stops the run
  with a one-line :class:`~dynsys.errors.WriteError` (an ``OSError`` with the ``errno`` of the
  cause) naming the folder and the cause; the chunks written before are kept and a later run
  resumes from them.
- A worker that dies (killed, out of memory) loses its chunks: dask reschedules them by itself;
  when dask gives up on a chunk (``KilledWorker``) it is submitted again, and a process pool
  started here (``"processes"``) is restarted for the unfinished chunks, at most
  ``MAX_RETRIES`` times; then the run stops with :class:`~dynsys.errors.WorkerLostError`.
  A result is never partial.

Interrupts. A ``KeyboardInterrupt`` (Ctrl-C) during :func:`run_chunks` cancels the chunks not
started and saves those that had finished (with ``executor="processes"`` also those that were
running: after Ctrl-C in a terminal the workers stop them at once, otherwise they are waited for,
as the pool's shutdown would anyway). No file is left half written. It then propagates as
:class:`RunInterrupted`, a subclass of ``KeyboardInterrupt`` (``except KeyboardInterrupt`` still
catches it) that carries ``run_dir``, ``done``, ``total`` and ``kept`` (the chunk files in the
folder), for a caller such as the command line to say what was kept and how to resume. It is
deliberately not a ``DynsysError``, which is an ``Exception``: an interrupt caught by some
``except Exception`` (say, in a loop that skips failed parameters) would not stop the program.
An interrupt outside :func:`run_chunks` (while the end points are labelled, say) stays a plain
``KeyboardInterrupt``; the chunks are all saved by then.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib
import json
import multiprocessing
import os
import pickle
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import (
    DynsysError,
    FileFormatError,
    InputError,
    InputTypeError,
    WorkerLostError,
    WriteError,
)

__all__ = [
    "MAX_RETRIES",
    "ChunkTask",
    "RunInterrupted",
    "SystemRef",
    "open_executor",
    "pack_system",
    "plan_chunks",
    "run_chunks",
    "unpack_system",
]

_MANIFEST = "manifest.json"
# temporary files of dynsys.io.atomic_write_path: ".<name>.<pid>.<random>.tmp"
_TEMP = re.compile(r"^\.(?:chunk_\d+\.nc|manifest\.json)\.(\d+)\.[0-9a-f]+\.tmp$")
MAX_RETRIES = 2
"""How many times a chunk lost with its worker is submitted again (dask ``KilledWorker``), or a
process pool started for the run is restarted after a worker died (``BrokenProcessPool``)."""
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
            "'dynsys-toolkit[dask]'`) or pass `SystemRef('package.module:factory', kwargs)`."
        ) from None
    return cloudpickle.dumps(system)


def unpack_system(packed):
    """Inverse of :func:`pack_system`."""
    if isinstance(packed, SystemRef):
        return packed.build()
    if isinstance(packed, bytes):
        return pickle.loads(packed)
    return packed


# ------------------------------------------------------------------------- interrupts, faults
class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (``KeyboardInterrupt``) after saving its finished chunks.

    Attributes
    ----------
    run_dir : pathlib.Path or None
        The run folder (``None`` when the run had none: nothing was kept).
    done, total : int
        Chunks of the interrupted :func:`run_chunks` call that were finished, of all of them.
    kept : int
        Chunk files in ``run_dir`` (of every round of the run), which a rerun with the same
        ``run_dir`` and settings loads instead of computing.

    Examples
    --------
    >>> exc = RunInterrupted(Path("runs/a"), done=3, total=8, kept=3)
    >>> isinstance(exc, KeyboardInterrupt), isinstance(exc, Exception)
    (True, False)
    >>> for part in str(exc).split("; "):
    ...     print(part)
    interrupted after 3 of 8 chunks
    3 finished chunk file(s) are kept in runs/a: run again with the same run_dir to resume
    """

    def __init__(self, run_dir: Path | None, *, done: int, total: int, kept: int) -> None:
        self.run_dir = run_dir
        self.done = done
        self.total = total
        self.kept = kept
        if run_dir is None:
            where = "nothing was kept (pass a run_dir to make a run resumable)"
        else:
            where = (
                f"{kept} finished chunk file(s) are kept in {run_dir}: run again with the same "
                "run_dir to resume"
            )
        super().__init__(f"interrupted after {done} of {total} chunks; {where}")


def _write_error(message: str, cause: OSError, path: Path) -> WriteError:
    return WriteError(message, errno=cause.errno, filename=str(path))


def _cause(exc: BaseException) -> str:
    """The reason of an OSError in a few words (``No space left on device``)."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return _one_line(f"{type(exc).__name__}: {exc}")


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ------------------------------------------------------------------------- run folder
def _fingerprint_json(fingerprint: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(fingerprint, sort_keys=True, default=_json_default))


def _json_default(value):
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():  # this process is not writing into the folder now
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def _remove_stale_temps(run_dir: Path) -> None:
    """Delete the temporary files left by writers killed outright (SIGKILL, power loss)."""
    with suppress(OSError):  # housekeeping only: a folder that cannot be changed keeps them
        for path in run_dir.iterdir():
            match = _TEMP.match(path.name)
            if match and not _writer_alive(int(match.group(1))):
                path.unlink(missing_ok=True)


def _prepare_run_dir(run_dir: Path, fingerprint: Mapping[str, Any]) -> None:
    from .io import atomic_write_path

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(
            f"cannot create the run folder {str(run_dir)!r}: {_cause(exc)}; choose a `run_dir` "
            "in a writable place.",
            exc,
            run_dir,
        ) from exc
    wanted = _fingerprint_json(fingerprint)
    manifest = run_dir / _MANIFEST
    if manifest.exists():
        try:
            found = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            found, why = None, _cause(exc)
        else:
            why = f"it holds a JSON {type(found).__name__}, not an object"
        if not isinstance(found, dict):
            raise FileFormatError(
                f"the manifest {manifest} of the run folder is damaged ({why}), so its chunks "
                "cannot be checked against the settings; delete the folder to start over, or use "
                "a new `run_dir`."
            )
        if found != wanted:
            diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            key = diff[0]
            raise InputError(
                f"the run folder {str(run_dir)!r} holds a run with other settings (`{key}` was "
                f"{found.get(key)!r}, now {wanted.get(key)!r}; {len(diff)} setting(s) differ). "
                "Use a new `run_dir`, or delete this one to start over."
            )
        _remove_stale_temps(run_dir)
        return
    try:
        _remove_stale_temps(run_dir)
        with atomic_write_path(manifest) as temp:
            temp.write_text(json.dumps(wanted, indent=1, sort_keys=True), encoding="utf-8")
    except OSError as exc:
        raise _write_error(
            f"cannot write {_MANIFEST} into the run folder {str(run_dir)!r}: {_cause(exc)}; "
            "free space or make the folder writable (or choose another `run_dir`), then run again.",
            exc,
            manifest,
        ) from exc


def _chunk_path(run_dir: Path, task: ChunkTask) -> Path:
    return run_dir / f"chunk_{task.index:06d}.nc"


def _count_chunk_files(run_dir: Path | None) -> int:
    if run_dir is None:
        return 0
    try:
        return sum(1 for _ in run_dir.glob("chunk_*.nc"))
    except OSError:
        return 0


def _damaged(path: Path, reason: str) -> FileFormatError:
    return FileFormatError(
        f"the chunk file {path} of the run folder is damaged ({reason}); delete it and run "
        "again to resume (the other finished chunks are kept)."
    )


def _read_reason(path: Path, exc: BaseException) -> str:
    """Why ``dynsys.io.load`` could not read ``path``, in a few words and without its advice."""
    with suppress(OSError):
        if path.stat().st_size == 0:
            return "the file is empty"
    text = " ".join(str(exc).split())
    found = re.search(r"is damaged or truncated \((.*)\); ", text)
    if found:
        return _one_line(found.group(1))
    text = text.replace(str(path), "", 1).strip()
    return _one_line(re.split(r"\. |; ", text)[0])


def _load_chunk(path: Path) -> xr.Dataset:
    """Load a chunk file; one that cannot be read (``dynsys.io.load`` checks the checksum that
    ``save`` appends) is reported as damaged, with what to do."""
    from .io import load

    try:
        ds = load(path, max_bytes=None)  # our own file, its checksum verified: no size limit
    except MemoryError:
        raise
    except Exception as exc:
        raise _damaged(path, _read_reason(path, exc)) from exc
    if not isinstance(ds, xr.Dataset):
        raise _damaged(path, f"it holds a {type(ds).__name__}, not a Dataset")
    return ds


def _load_finished(run_dir: Path, task: ChunkTask) -> xr.Dataset | None:
    path = _chunk_path(run_dir, task)
    if not path.exists():
        return None
    ds = _load_chunk(path)
    if int(ds.attrs.get("chunk_start", -1)) != task.start or ds.sizes.get("orbit") != task.size:
        raise InputError(
            f"{path} holds items {ds.attrs.get('chunk_start')}.. ({ds.sizes.get('orbit')} of "
            f"them), but this run expects {task.start}.. ({task.size}); the run folder does not "
            "belong to this run. Use a new `run_dir`."
        )
    return ds


def _save_chunk(run_dir: Path, task: ChunkTask, ds: xr.Dataset) -> None:
    """Write a chunk file atomically; a failure to write (disk full, read-only folder) raises a
    one-line WriteError and leaves the other chunk files as they were."""
    from .io import save

    path = _chunk_path(run_dir, task)
    try:
        save(ds, path)
    except OSError as exc:  # dynsys.errors.WriteError, or any OSError on the way
        raise _write_error(
            f"could not write chunk {task.index} into the run folder {str(run_dir)!r}: "
            f"{_cause(exc)}; the {_count_chunk_files(run_dir)} chunk file(s) written before are "
            "kept: free space or make the folder writable, then run again with the same run_dir "
            "to resume.",
            exc,
            path,
        ) from exc


# ------------------------------------------------------------------------- executors
def _is_dask_client(obj) -> bool:
    return type(obj).__name__ == "Client" and type(obj).__module__.startswith("distributed")


class _ProcessPool(cf.Executor):
    """The pool of ``executor="processes"``: spawned workers with one BLAS thread each, which
    :func:`run_chunks` restarts when a worker died (a broken ``ProcessPoolExecutor`` cannot be
    used again)."""

    def __init__(self, workers: int | None) -> None:
        self.workers = workers
        self._pool = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers or os.cpu_count(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=single_threaded_worker,
        )

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def restart(self) -> None:
        """Replace the pool (after a worker died) by a new one of the same size."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._start()


CHUNK_THREADS = "dynsys-chunk"
"""The name prefix of the threads that run chunks side by side in this process (for work that
releases the GIL; see :func:`run_chunks`); code that would start threads of its own checks it."""


def _in_process_threads(work: Callable, tasks: Sequence[ChunkTask]) -> int:
    """Threads to run ``tasks`` on in this process: what the work allows
    (``work.in_process_threads()``, 1 for work without it), when there are at least four chunks
    per thread (fewer would leave threads idle while the work could have used them itself)."""
    allowed = getattr(work, "in_process_threads", None)
    threads = int(allowed()) if callable(allowed) else 1
    return threads if threads > 1 and len(tasks) >= 4 * threads else 1


class _Runner:
    """Submit tasks to the chosen executor and yield ``(task, result)`` as they finish.

    Lost workers are handled here (see the module docstring); :meth:`interrupt` stops the run
    and hands back the results that finished but were not yielded yet.
    """

    def __init__(self, executor, workers: int | None) -> None:
        self.own = None
        self.kind = "inprocess"
        self.futures: dict[Any, ChunkTask] = {}
        self.handed: set[int] = set()
        if executor is None or executor == "inprocess":
            return
        if executor == "processes":
            self.pool = self.own = _ProcessPool(workers)
            self.kind = "futures"
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
            threads = _in_process_threads(work, tasks)
            if threads > 1:  # chunks side by side on threads (the work releases the GIL)
                self.pool = self.own = cf.ThreadPoolExecutor(
                    threads, thread_name_prefix=CHUNK_THREADS
                )
                self.kind = "futures"
                yield from self._run_futures(work, tasks)
                return
            for task in tasks:
                result = work(task)
                self.handed.add(task.index)
                yield task, result
        elif self.kind == "dask":
            yield from self._run_dask(work, tasks)
        else:
            yield from self._run_futures(work, tasks)

    def _run_dask(self, work, tasks):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        self.futures = {self.pool.submit(work, t, pure=False): t for t in tasks}
        lost = dict.fromkeys((t.index for t in tasks), 0)
        pending = as_completed(list(self.futures), loop=self.pool.loop)
        for future in pending:
            task = self.futures[future]
            try:
                result = future.result()
            except KilledWorker as exc:
                lost[task.index] += 1
                if lost[task.index] > MAX_RETRIES:
                    raise WorkerLostError(
                        f"chunk {task.index} was lost {lost[task.index]} times with the dask "
                        "worker running it (killed, or out of memory: see the worker logs); "
                        "give the workers more memory or use smaller chunks, then run again "
                        "(with a run_dir, the finished chunks are kept)."
                    ) from exc
                del self.futures[future]
                again = self.pool.submit(work, task, pure=False)
                self.futures[again] = task
                pending.add(again)
                continue
            self.handed.add(task.index)
            yield task, result

    def _run_futures(self, work, tasks):
        from concurrent.futures.process import BrokenProcessPool

        remaining = list(tasks)
        restarts = 0
        while remaining:
            try:
                self.futures = {self.pool.submit(work, t): t for t in remaining}
                for future in cf.as_completed(self.futures):
                    task = self.futures[future]
                    result = future.result()
                    self.handed.add(task.index)
                    yield task, result
                return
            except BrokenProcessPool as exc:
                broken = exc
            # results that arrived before the pool broke are kept
            for task, result in self._finished():
                self.handed.add(task.index)
                yield task, result
            remaining = [t for t in remaining if t.index not in self.handed]
            if not isinstance(self.pool, _ProcessPool):
                raise WorkerLostError(
                    f"the process pool given as `executor` broke (a worker process died: killed, "
                    f"or out of memory) with {len(remaining)} chunk(s) unfinished; pass a new "
                    "pool, or executor='processes', and run again (with a run_dir, the finished "
                    "chunks are kept)."
                ) from broken
            if restarts >= MAX_RETRIES:
                raise WorkerLostError(
                    f"the process pool broke {restarts + 1} times (a worker process died: "
                    f"killed, or out of memory) with {len(remaining)} chunk(s) unfinished; use "
                    "fewer `workers` or smaller chunks, then run again (with a run_dir, the "
                    "finished chunks are kept)."
                ) from broken
            restarts += 1
            self.pool.restart()

    def _finished(self) -> list[tuple[ChunkTask, xr.Dataset]]:
        """Results finished on the executor but not yielded yet."""
        out = []
        for future, task in list(self.futures.items()):
            if task.index in self.handed:
                continue
            if self.kind != "dask":
                if future.done() and not future.cancelled() and future.exception() is None:
                    out.append((task, future.result()))
                continue
            if future.status != "finished":
                continue
            with suppress(cf.CancelledError, TimeoutError, OSError):  # lost on the way after all
                out.append((task, future.result(timeout=10)))
        return out

    def interrupt(self) -> list[tuple[ChunkTask, xr.Dataset]]:
        """Stop: cancel what has not started; return the finished results not yet yielded (on
        the pool of ``executor="processes"``, after the chunks that were running finished)."""
        if self.kind == "inprocess":
            return []
        if self.kind == "dask":
            finished = self._finished()
            self.cancel()
            return finished
        self.cancel()
        if isinstance(self.pool, _ProcessPool):  # its shutdown would wait for them anyway
            cf.wait(list(self.futures))
        return self._finished()

    def cancel(self) -> None:
        """Cancel the chunks not started (on dask: release every future of the run)."""
        if self.kind == "dask":
            if self.futures:
                self.pool.cancel(list(self.futures))
            self.futures = {}
        else:
            for future in self.futures:
                future.cancel()

    def close(self) -> None:
        if self.own is None:
            return
        own, self.own = self.own, None
        if self.kind == "futures":
            own.shutdown(wait=True, cancel_futures=True)
        else:
            own.close()


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
        ``None``/"inprocess": in this process, one after another, or side by side on
        threads when the work allows it (``work.in_process_threads()``: work that releases the
        GIL, such as orbits on the compiled path) and there are four chunks per thread.
        "processes": a local ``ProcessPoolExecutor`` (spawned workers; scripts need an
        ``if __name__ == "__main__":`` guard). A scheduler address ("tcp://..."): a
        dask.distributed cluster, connected for the run. An Executor or Client: used as given
        (not shut down).
    workers : int, optional
        Size of the process pool for "processes" (default: the number of CPUs).
    run_dir : path, optional
        Folder for the chunk files. Finished chunks found there are loaded, not recomputed;
        each new chunk is written (atomically, with a checksum) as soon as it finishes.
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

    Raises
    ------
    RunInterrupted
        On Ctrl-C, after the finished chunks were saved (a ``KeyboardInterrupt``).
    dynsys.errors.FileFormatError
        If a chunk file in ``run_dir`` is damaged (the message names it: delete it, run again).
    dynsys.errors.DynsysError
        ``WriteError`` (an ``OSError`` too) if the run folder cannot be written;
        ``WorkerLostError`` if workers died more often than :data:`MAX_RETRIES`; ``InputError``
        if ``run_dir`` belongs to another run.

    Examples
    --------
    >>> def work(task):
    ...     return xr.Dataset({"x": ("orbit", np.arange(task.start, task.start + task.size))})
    >>> out = run_chunks(work, plan_chunks(5, 2))
    >>> xr.concat(out, "orbit")["x"].values.tolist()
    [0, 1, 2, 3, 4]
    """
    directory = Path(run_dir) if run_dir is not None else None
    results: dict[int, xr.Dataset] = {}
    bar = None
    runner = None

    def keep(task: ChunkTask, ds: xr.Dataset) -> None:
        ds = ds.assign_attrs(chunk_index=task.index, chunk_start=task.start)
        if directory is not None:
            _save_chunk(directory, task, ds)
        results[task.index] = ds
        if bar is not None:
            bar.update(task.size)

    try:
        if directory is not None:
            _prepare_run_dir(directory, fingerprint or {})
            for task in tasks:
                found = _load_finished(directory, task)
                if found is not None:
                    results[task.index] = found
        pending = [t for t in tasks if t.index not in results]
        if progress:
            from tqdm.auto import tqdm

            total = sum(t.size for t in tasks)
            bar = tqdm(
                total=total, initial=total - sum(t.size for t in pending), desc=desc, unit="orbit"
            )
        if pending:
            runner = _Runner(executor, workers)
            for task, ds in runner.run(work, pending):
                keep(task, ds)
    except KeyboardInterrupt as exc:
        if isinstance(exc, RunInterrupted):
            raise
        if runner is not None:
            try:
                for task, ds in runner.interrupt():
                    if directory is not None:
                        keep(task, ds)
            except KeyboardInterrupt:  # interrupted again: stop saving, the files stay whole
                pass
            except (DynsysError, OSError):  # a chunk not saved now is computed by the next run
                pass
        if directory is None:
            done = sum(1 for t in tasks if t.index in results)
        else:  # a chunk interrupted right after its file was written is done too
            done = sum(1 for t in tasks if _chunk_path(directory, t).exists())
        interrupted = RunInterrupted(
            directory, done=done, total=len(tasks), kept=_count_chunk_files(directory)
        )
        raise interrupted.with_traceback(exc.__traceback__) from None
    finally:
        if runner is not None:
            runner.cancel()
            runner.close()
        if bar is not None:
            bar.close()
    return [results[t.index] for t in tasks]
