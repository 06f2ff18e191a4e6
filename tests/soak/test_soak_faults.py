"""Soak tests of long basin runs under faults (``make soak``; skipped by ``make test``).

- A dask LocalCluster with two worker processes loses one of them, killed from outside in the
  middle of a run of thousands of orbits: dask reschedules the lost chunks, the result is that
  of the in-process run.
- A run is killed (SIGKILL) or interrupted (SIGINT to its process group, as Ctrl-C in a terminal
  does) at random times, again and again, in process, on a process pool and with a dask client;
  each time the run folder is consistent, and the last run gives the uninterrupted result.
- Chunks that kill their worker: once, the run completes (dask ``KilledWorker`` is retried, a
  broken process pool restarted); every time, the run stops with WorkerLostError after a bounded
  number of retries, with the other chunks kept.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dynsys._execution import MAX_RETRIES, _load_chunk
from dynsys.basins import BasinOptions, UniformBox, basin_probabilities
from dynsys.basins import _engine as engine
from dynsys.basins._work import FlowWork
from dynsys.errors import WorkerLostError
from dynsys.models import double_well

pytestmark = pytest.mark.soak

SEED = 11
OPTIONS = BasinOptions(chunk_size=50, workers=2)
SAMPLER = UniformBox([-2.0, -1.0], [2.0, 1.0])
N_LONG = 4000  # the run a worker is killed in: 80 chunks
N_KILLS = 2000  # the run killed again and again: 40 chunks


def _run(n, **kw):
    return basin_probabilities(double_well(), SAMPLER, n, seed=SEED, options=OPTIONS, **kw)


def _strip(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


@pytest.fixture(scope="module")
def reference():
    """Uninterrupted in-process results, by number of orbits."""
    cache = {}

    def get(n):
        if n not in cache:
            cache[n] = _strip(_run(n))
        return cache[n]

    return get


def _chunk_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob("chunk_*.nc"))


def _temp_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.iterdir() if p.name.startswith("."))


def _check_folder(run_dir: Path, n_chunks: int | None = None) -> None:
    """Every chunk file is whole; with ``n_chunks``, all of them and nothing else are there."""
    for path in _chunk_files(run_dir):
        _load_chunk(path)
    if n_chunks is not None:
        names = sorted(p.name for p in run_dir.iterdir())
        assert names == [*(f"chunk_{i:06d}.nc" for i in range(n_chunks)), "manifest.json"]


# ------------------------------------------------------------------ a dask worker killed
def test_dask_worker_killed_from_outside_is_replaced(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    run_dir = tmp_path / "run"
    n_chunks = N_LONG // OPTIONS.chunk_size
    killed = {}

    def kill_a_worker(client, stop):
        while len(_chunk_files(run_dir)) < n_chunks // 4:  # the first results have arrived
            if stop.wait(0.01):
                return
        pids = client.run(os.getpid)
        victim = max(pids.values())
        assert victim != os.getpid()
        killed["files"] = len(_chunk_files(run_dir))
        os.kill(victim, signal.SIGKILL)
        killed["pid"] = victim

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        stop = threading.Event()
        killer = threading.Thread(target=kill_a_worker, args=(client, stop), daemon=True)
        killer.start()
        try:
            result = _run(N_LONG, run_dir=run_dir, executor=client)
        finally:
            stop.set()
            killer.join(timeout=30)
        client.wait_for_workers(2, timeout=60)
        after = client.run(os.getpid)
    assert "pid" in killed and killed["files"] < n_chunks  # killed in the middle of the run
    assert killed["pid"] not in after.values()  # and replaced by the nanny
    xr.testing.assert_identical(_strip(result), reference(N_LONG))
    _check_folder(run_dir, n_chunks)


# ------------------------------------------------------------------ runs killed at random times
_SCRIPT = """
import json, sys

from dynsys.basins import BasinOptions, UniformBox, basin_probabilities
from dynsys.models import double_well


def main():
    run_dir, executor, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if executor == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        )
        executor = Client(cluster)
    elif executor == "inprocess":
        executor = None
    try:
        basin_probabilities(
            double_well(), UniformBox([-2.0, -1.0], [2.0, 1.0]), n, seed={seed},
            options=BasinOptions(chunk_size=50, workers=2), run_dir=run_dir, executor=executor,
        )
    except BaseException as exc:
        report = {{"mro": [c.__name__ for c in type(exc).__mro__], "message": str(exc)}}
        for key in ("done", "total", "kept"):
            report[key] = getattr(exc, key, None)
        print(json.dumps(report), flush=True)
        return
    print(json.dumps({{"finished": True}}), flush=True)


if __name__ == "__main__":
    main()
"""


def _start(tmp_path: Path, run_dir: Path, executor: str, n: int, attempt: int):
    script = tmp_path / "run_basins.py"
    script.write_text(textwrap.dedent(_SCRIPT).format(seed=SEED))
    out = tmp_path / f"out_{attempt}.txt"
    with open(out, "w") as stdout, open(tmp_path / f"err_{attempt}.txt", "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(run_dir), executor, str(n)],
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
            start_new_session=True,
        )
    return proc, out


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
@pytest.mark.parametrize("executor", ["inprocess", "processes", "dask"])
def test_run_stopped_at_random_times_resumes(tmp_path, reference, executor, how):
    if executor == "dask":
        pytest.importorskip("distributed")
    rng = np.random.default_rng([SEED, ["inprocess", "processes", "dask"].index(executor)])
    run_dir = tmp_path / "run"
    n_chunks = N_KILLS // OPTIONS.chunk_size
    stops = interrupted = 0
    for attempt in range(3):
        before = len(_chunk_files(run_dir)) if run_dir.exists() else 0
        proc, out = _start(tmp_path, run_dir, executor, N_KILLS, attempt)
        try:
            # wait for this attempt's first new chunk, then a random time
            deadline = time.monotonic() + 120
            while proc.poll() is None and time.monotonic() < deadline:
                if run_dir.exists() and len(_chunk_files(run_dir)) > before:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.8))
            if proc.poll() is None:
                if how == "SIGKILL":
                    os.kill(proc.pid, signal.SIGKILL)
                else:  # Ctrl-C in a terminal: SIGINT to the whole foreground process group
                    os.killpg(proc.pid, signal.SIGINT)
                stops += 1
            code = proc.wait(timeout=120)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        lines = out.read_text().splitlines()
        report = json.loads(lines[-1]) if lines else None
        err = (tmp_path / f"err_{attempt}.txt").read_text()[-3000:]
        if report == {"finished": True}:
            break
        if how == "SIGKILL":
            assert code == -signal.SIGKILL, (report, err)
        else:
            assert report is not None and "KeyboardInterrupt" in report["mro"], (report, err)
            if "RunInterrupted" in report["mro"]:  # stopped in run_chunks: what finished is kept
                assert report["kept"] == len(_chunk_files(run_dir)), report
                interrupted += 1
            else:  # stopped after the chunks (labelling the end points): all of them are kept
                assert len(_chunk_files(run_dir)) == n_chunks, report
            assert _temp_files(run_dir) == []
        _check_folder(run_dir)
    assert stops >= 1
    assert how == "SIGKILL" or interrupted >= 1
    resumed = _run(N_KILLS, run_dir=run_dir)
    xr.testing.assert_identical(_strip(resumed), reference(N_KILLS))
    _check_folder(run_dir, n_chunks)


# ------------------------------------------------------------------ chunks that kill workers
@dataclass(frozen=True)
class _Killer(FlowWork):
    """FlowWork whose worker process kills itself (SIGKILL) when it starts chunk ``chunk``:
    once (the file ``marker`` records it), or every time. Never in the process ``parent``."""

    chunk: int = -1
    marker: str = ""
    always: bool = False
    parent: int = 0

    def __call__(self, task):
        if task.index == self.chunk and os.getpid() != self.parent:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                first = False
            else:
                os.close(fd)
                first = True
            if first or self.always:
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(task)


def _killer(monkeypatch, tmp_path, *, always: bool) -> Path:
    marker = tmp_path / "killed"
    factory = partial(_Killer, chunk=3, marker=str(marker), always=always, parent=os.getpid())
    monkeypatch.setattr(engine, "FlowWork", factory)
    return marker


def test_process_pool_restarted_after_a_worker_died(tmp_path, monkeypatch, reference):
    marker = _killer(monkeypatch, tmp_path, always=False)
    result = _run(600, run_dir=tmp_path / "run", executor="processes")
    assert marker.exists()
    xr.testing.assert_identical(_strip(result), reference(600))


def test_chunk_that_always_kills_its_pool_worker_stops_the_run(tmp_path, monkeypatch):
    _killer(monkeypatch, tmp_path, always=True)
    run_dir = tmp_path / "run"
    with pytest.raises(WorkerLostError, match=f"process pool broke {MAX_RETRIES + 1} times"):
        _run(600, run_dir=run_dir, executor="processes")
    assert len(_chunk_files(run_dir)) >= 1 and _temp_files(run_dir) == []
    _check_folder(run_dir)


@pytest.fixture
def strict_cluster():
    """A LocalCluster of two worker processes whose scheduler gives up on a task at the first
    worker that dies running it (KilledWorker), so that run_chunks has to retry."""
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _count_submits(monkeypatch, client) -> list[int]:
    submits = []
    original = client.submit

    def submit(*args, **kw):
        submits.append(args[1].index)
        return original(*args, **kw)

    monkeypatch.setattr(client, "submit", submit)
    return submits


def test_dask_killed_worker_is_retried(tmp_path, monkeypatch, reference, strict_cluster):
    marker = _killer(monkeypatch, tmp_path, always=False)
    submits = _count_submits(monkeypatch, strict_cluster)
    result = _run(600, run_dir=tmp_path / "run", executor=strict_cluster)
    assert marker.exists()
    assert submits.count(3) == 2  # dask gave up on chunk 3 (KilledWorker); run_chunks did not
    xr.testing.assert_identical(_strip(result), reference(600))


def test_dask_chunk_that_always_kills_its_worker_stops_the_run(
    tmp_path, monkeypatch, strict_cluster
):
    _killer(monkeypatch, tmp_path, always=True)
    submits = _count_submits(monkeypatch, strict_cluster)
    run_dir = tmp_path / "run"
    with pytest.raises(WorkerLostError, match=f"was lost {MAX_RETRIES + 1} times"):
        _run(600, run_dir=run_dir, executor=strict_cluster)
    assert submits.count(3) == MAX_RETRIES + 1
    assert _temp_files(run_dir) == []
    _check_folder(run_dir)
