"""Fault injection for long basin runs: a run killed at a chunk boundary or while it writes a
chunk file, in process, on a process pool or with a dask client, resumes from its run folder to
the result of an uninterrupted run; damaged chunk files, full disks and read-only folders stop a
run with a one-line error and lose no finished chunk; dead workers are replaced.

Longer versions (many kill points, kills at random times, workers killed from outside, chunks
that kill every worker) are in tests/soak (``make soak``).
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

import dynsys.io
from dynsys._execution import (
    RunInterrupted,
    _load_chunk,
    open_executor,
    plan_chunks,
    run_chunks,
)
from dynsys.basins import BasinOptions, UniformBox, basin_probabilities
from dynsys.basins import _engine as engine
from dynsys.basins._work import FlowWork
from dynsys.errors import DynsysError, FileFormatError, WriteError
from dynsys.models import double_well

N, SEED, N_CHUNKS = 300, 7, 6
OPTIONS = BasinOptions(chunk_size=50, workers=2)
SAMPLER = UniformBox([-2.0, -1.0], [2.0, 1.0])
ALL_CHUNKS = [f"chunk_{i:06d}.nc" for i in range(N_CHUNKS)]
# five different kill points (chunks saved before the kill), drawn once with a fixed seed
KILL_POINTS = [int(k) for k in np.random.default_rng(2024).permutation(N_CHUNKS)[:5]]


def _run(**kw):
    return basin_probabilities(double_well(), SAMPLER, N, seed=SEED, options=OPTIONS, **kw)


def _strip(ds: xr.Dataset) -> xr.Dataset:
    """The result without its creation time stamp."""
    out = ds.copy()
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run, and its run folder."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    ds = _strip(_run(run_dir=run_dir))
    xr.testing.assert_identical(ds, _strip(_run()))  # a run folder changes nothing
    return SimpleNamespace(ds=ds, run_dir=run_dir, manifest=(run_dir / "manifest.json").read_text())


def _counting(monkeypatch) -> list[int]:
    """The indices of the chunks computed in this process from now on."""
    calls = []
    original = FlowWork.__call__

    def counted(self, task):
        calls.append(task.index)
        return original(self, task)

    monkeypatch.setattr(FlowWork, "__call__", counted)
    return calls


@pytest.fixture
def computed(monkeypatch):
    return _counting(monkeypatch)


def _chunk_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.glob("chunk_*.nc"))


def _temp_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.iterdir() if p.name.startswith("."))


def _resume_and_check(run_dir: Path, reference, computed: list[int], **kw) -> None:
    """Resume the run in ``run_dir``: only the missing chunks are computed, the result is that of
    the uninterrupted run, and the folder holds every chunk once, the same manifest and nothing
    else."""
    before = {int(name[6:12]) for name in _chunk_files(run_dir)}
    computed.clear()
    resumed = _run(run_dir=run_dir, **kw)
    xr.testing.assert_identical(_strip(resumed), reference.ds)
    assert sorted(computed) == sorted(set(range(N_CHUNKS)) - before)
    assert sorted(p.name for p in run_dir.iterdir()) == [*ALL_CHUNKS, "manifest.json"]
    assert (run_dir / "manifest.json").read_text() == reference.manifest
    for name in ALL_CHUNKS:  # every chunk file is whole and matches its checksum
        _load_chunk(run_dir / name)


# ------------------------------------------------------------------ (a) in process, interrupted
@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_in_process_run_interrupted_at_a_chunk_boundary_resumes(
    tmp_path, monkeypatch, reference, kill_after
):
    """Ctrl-C right after the ``kill_after``-th chunk file was saved (or, for 0, inside the
    first chunk's work)."""
    run_dir = tmp_path / "run"
    original_save = dynsys.io.save
    saved = []

    def save(obj, path, **kw):
        out = original_save(obj, path, **kw)
        if Path(path).name.startswith("chunk_"):
            saved.append(path)
            if len(saved) == kill_after:
                raise KeyboardInterrupt
        return out

    if kill_after == 0:
        monkeypatch.setattr(FlowWork, "__call__", _raise(KeyboardInterrupt))
    monkeypatch.setattr(dynsys.io, "save", save)
    with pytest.raises(RunInterrupted) as info:
        _run(run_dir=run_dir)
    exc = info.value
    assert isinstance(exc, KeyboardInterrupt) and not isinstance(exc, Exception)
    assert (exc.run_dir, exc.done, exc.total, exc.kept) == (
        run_dir,
        kill_after,
        N_CHUNKS,
        kill_after,
    )
    assert f"interrupted after {kill_after} of {N_CHUNKS} chunks" in str(exc)
    assert _chunk_files(run_dir) == ALL_CHUNKS[:kill_after]
    assert _temp_files(run_dir) == []
    monkeypatch.undo()
    _resume_and_check(run_dir, reference, _counting(monkeypatch))


def _raise(exc_type):
    def work(self, task):
        raise exc_type

    return work


def _while_writing(monkeypatch, chunk: int, action) -> list[Path]:
    """Call ``action(temp)`` once the file of ``chunk`` is written in full into its temporary
    file, before the rename; return the list that receives the temporary file's path."""
    original = dynsys.io.atomic_write_path
    seen = []

    @contextmanager
    def hooked(path, **kw):
        with original(path, **kw) as temp:
            yield temp
            if Path(path).name == f"chunk_{chunk:06d}.nc":
                seen.append(temp)
                action(temp)

    monkeypatch.setattr(dynsys.io, "atomic_write_path", hooked)
    return seen


def _half(temp: Path) -> None:
    with open(temp, "r+b") as handle:  # half of the file reached the disk
        handle.truncate(os.path.getsize(temp) // 2)


def _die_while_writing(monkeypatch, chunk: int, exc_type) -> list[Path]:
    """The write of the file of ``chunk`` stops half-way with ``exc_type``."""

    def die(temp):
        _half(temp)
        raise exc_type

    return _while_writing(monkeypatch, chunk, die)


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_in_process_run_stopped_while_writing_a_chunk_resumes(
    tmp_path, monkeypatch, reference, exc_type
):
    run_dir = tmp_path / "run"
    partial = _die_while_writing(monkeypatch, 2, exc_type)
    with pytest.raises(exc_type) as info:
        _run(run_dir=run_dir)
    assert len(partial) == 1 and not partial[0].exists()  # the half-written file was removed
    if exc_type is KeyboardInterrupt:
        assert isinstance(info.value, RunInterrupted)
        assert (info.value.done, info.value.kept) == (2, 2)
    else:  # SystemExit is not an interrupt: it propagates as it is
        assert not isinstance(info.value, RunInterrupted)
    assert _chunk_files(run_dir) == ALL_CHUNKS[:2]
    assert _temp_files(run_dir) == []
    monkeypatch.undo()
    _resume_and_check(run_dir, reference, _counting(monkeypatch))


# ------------------------------------------------------------------ killed outright (SIGKILL)
_KILL_SCRIPT = """
import json, os, signal, sys
from contextlib import contextmanager
from pathlib import Path

import dynsys.io
from dynsys.basins import BasinOptions, UniformBox, basin_probabilities
from dynsys.models import double_well


def main():
    run_dir, executor, mode, kill_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    saved = []
    original_save, original_atomic = dynsys.io.save, dynsys.io.atomic_write_path

    def save(obj, path, **kw):
        out = original_save(obj, path, **kw)
        if Path(path).name.startswith("chunk_"):
            saved.append(path)
            if mode == "boundary" and len(saved) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        return out

    @contextmanager
    def atomic_write_path(path, **kw):
        name = Path(path).name
        with original_atomic(path, **kw) as temp:
            yield temp
            if mode == "write" and name.startswith("chunk_") and len(saved) == kill_after:
                with open(temp, "r+b") as handle:
                    handle.truncate(os.path.getsize(temp) // 2)
                os.kill(os.getpid(), signal.SIGKILL)
        if mode == "boundary" and kill_after == 0 and name == "manifest.json":
            os.kill(os.getpid(), signal.SIGKILL)  # before the first chunk

    dynsys.io.save, dynsys.io.atomic_write_path = save, atomic_write_path
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
            double_well(), UniformBox([-2.0, -1.0], [2.0, 1.0]), {n}, seed={seed},
            options=BasinOptions(chunk_size=50, workers=2), run_dir=run_dir, executor=executor,
        )
    except BaseException as exc:
        print(json.dumps({{
            "mro": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
            "errno": getattr(exc, "errno", None),
        }}), flush=True)
        return
    print(json.dumps({{"finished": True}}), flush=True)


if __name__ == "__main__":
    main()
"""


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "kill_run.py"
    path.write_text(textwrap.dedent(_KILL_SCRIPT).format(n=N, seed=SEED))
    return path


def _run_script(tmp_path, run_dir, executor, mode, kill_after=0, timeout=180):
    """Run the script in its own process group; return (return code, its JSON report)."""
    out = tmp_path / f"out_{mode}_{kill_after}.txt"
    with open(out, "w") as stdout, open(tmp_path / "err.txt", "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(_script(tmp_path)), str(run_dir), executor, mode, str(kill_after)],
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        finally:  # pool workers left orphaned by the kill: end them (our own process group)
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    lines = out.read_text().splitlines()
    return code, (json.loads(lines[-1]) if lines else None)


@pytest.mark.parametrize(
    ("executor", "mode", "kill_after"),
    [
        ("inprocess", "boundary", KILL_POINTS[0]),
        ("inprocess", "write", KILL_POINTS[1]),
        pytest.param("processes", "boundary", KILL_POINTS[2], marks=pytest.mark.slow),
        pytest.param("processes", "write", KILL_POINTS[3], marks=pytest.mark.slow),
        ("dask", "boundary", KILL_POINTS[4]),
        ("dask", "write", KILL_POINTS[0]),
    ],
)
def test_run_killed_outright_resumes(tmp_path, reference, computed, executor, mode, kill_after):
    """SIGKILL of the process running the run (the parent of a pool, the dask client) right
    after a chunk file was saved, or while the next one is half written."""
    if executor == "dask":
        pytest.importorskip("distributed")
    run_dir = tmp_path / "run"
    code, report = _run_script(tmp_path, run_dir, executor, mode, kill_after)
    assert code == -signal.SIGKILL, (report, (tmp_path / "err.txt").read_text()[-2000:])
    assert len(_chunk_files(run_dir)) == kill_after
    temps = _temp_files(run_dir)
    if mode == "write":  # the killed writer left its half-written temporary file
        assert len(temps) == 1 and temps[0].startswith(".chunk_") and temps[0].endswith(".tmp")
    else:
        assert temps == []
    assert (run_dir / "manifest.json").read_text() == reference.manifest
    if executor == "dask":
        distributed = pytest.importorskip("distributed")
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            _resume_and_check(run_dir, reference, computed, executor=client)
    else:
        _resume_and_check(run_dir, reference, computed)


# ------------------------------------------------------------------ (b) process pool
@pytest.fixture(scope="module")
def pool():
    """One pool of two spawned workers for the tests of this module (starting one costs
    seconds), as the basin functions get it from open_executor("processes")."""
    with open_executor("processes", workers=2) as shared:
        yield shared


def test_process_pool_interrupted_keeps_the_chunks_that_finished(
    tmp_path, monkeypatch, reference, pool
):
    """Ctrl-C in the parent of a pool: what finished is saved, nothing is half written, and the
    run resumes."""
    run_dir = tmp_path / "run"
    original_save = dynsys.io.save
    saved = []

    def save(obj, path, **kw):
        out = original_save(obj, path, **kw)
        if Path(path).name.startswith("chunk_"):
            saved.append(path)
            if len(saved) == 2:
                raise KeyboardInterrupt
        return out

    monkeypatch.setattr(dynsys.io, "save", save)
    with pytest.raises(RunInterrupted) as info:
        _run(run_dir=run_dir, executor=pool)
    assert 2 <= info.value.done == info.value.kept == len(_chunk_files(run_dir)) <= N_CHUNKS
    assert _temp_files(run_dir) == []
    monkeypatch.undo()
    _resume_and_check(run_dir, reference, _counting(monkeypatch))


@dataclass(frozen=True)
class _KillOnce(FlowWork):
    """FlowWork whose worker process kills itself (SIGKILL) the first time it starts chunk
    ``kill_chunk``; the file ``marker`` records that it did. Never in the process ``parent``."""

    kill_chunk: int = -1
    marker: str = ""
    parent: int = 0

    def __call__(self, task):
        if task.index == self.kill_chunk and os.getpid() != self.parent:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(task)


@pytest.fixture
def kill_a_worker_once(tmp_path, monkeypatch):
    """Chunk 2 kills the worker process that runs it, once; the marker file says it happened."""
    marker = tmp_path / "killed"
    factory = partial(_KillOnce, kill_chunk=2, marker=str(marker), parent=os.getpid())
    monkeypatch.setattr(engine, "FlowWork", factory)
    return marker


@pytest.mark.slow
def test_process_pool_with_a_killed_worker_is_restarted(
    tmp_path, reference, pool, kill_a_worker_once
):
    run_dir = tmp_path / "run"
    result = _run(run_dir=run_dir, executor=pool)
    assert kill_a_worker_once.exists()
    xr.testing.assert_identical(_strip(result), reference.ds)
    assert _chunk_files(run_dir) == ALL_CHUNKS and _temp_files(run_dir) == []


# ------------------------------------------------------------------ (c) dask: a worker killed
@pytest.mark.slow
def test_dask_worker_killed_mid_run_is_replaced(tmp_path, reference, kill_a_worker_once):
    """Short version of the soak test: a worker process of a LocalCluster dies while it runs a
    chunk; dask reschedules its chunks and the result is that of the in-process run."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = _run(run_dir=tmp_path / "run", executor=client)
    assert kill_a_worker_once.exists()
    xr.testing.assert_identical(_strip(result), reference.ds)


# ------------------------------------------------------------------ damaged chunk files
def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    elif how == "zeros_in_data":  # over the stored end points: HDF5 itself cannot tell
        import h5py

        with h5py.File(path, "r") as handle:
            offset = handle["x_final"].id.get_offset()
        start = offset + 200
        assert any(data[start : start + 400])
        data[start : start + 400] = bytes(400)
    elif how == "zeros_in_middle":
        start = len(data) // 2 - 512
        assert any(data[start : start + 1024])
        data[start : start + 1024] = bytes(1024)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "empty", "zeros_in_data", "zeros_in_middle"])
def test_damaged_chunk_file_stops_the_run_and_names_the_file(tmp_path, reference, computed, how):
    run_dir = tmp_path / "run"
    shutil.copytree(reference.run_dir, run_dir)
    damaged = run_dir / "chunk_000003.nc"
    _damage(damaged, how)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    computed.clear()
    with pytest.raises(FileFormatError) as info:
        _run(run_dir=run_dir)
    message = str(info.value)
    assert "\n" not in message
    assert f"the chunk file {damaged} of the run folder is damaged" in message
    assert "delete it and run again to resume (the other finished chunks are kept)" in message
    assert "dynsys.io.save" not in message
    # nothing was computed over it, nothing deleted, nothing added
    assert computed == []
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    damaged.unlink()  # what the message says
    _resume_and_check(run_dir, reference, computed)


def test_damaged_manifest_is_reported(tmp_path, reference):
    run_dir = tmp_path / "run"
    shutil.copytree(reference.run_dir, run_dir)
    (run_dir / "manifest.json").write_text(reference.manifest[:40])
    with pytest.raises(FileFormatError, match=r"manifest\.json of the run folder is damaged"):
        _run(run_dir=run_dir)


# ------------------------------------------------------------------ disk full, read-only
def _write_error_checks(exc: BaseException, run_dir: Path, code: int) -> None:
    assert isinstance(exc, DynsysError) and isinstance(exc, OSError)
    assert isinstance(exc, WriteError)
    assert exc.errno == code
    message = str(exc)
    assert "\n" not in message
    assert f"run folder {str(run_dir)!r}" in message and os.strerror(code) in message
    assert "chunk file(s) written before are kept" in message
    assert "run again with the same run_dir to resume" in message


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_chunk_that_cannot_be_written_stops_the_run_cleanly(
    tmp_path, monkeypatch, reference, computed, code
):
    """The third chunk file fails half-way with ENOSPC (disk full), EROFS or EACCES."""
    run_dir = tmp_path / "run"
    original = dynsys.io.atomic_write_path

    def fail(temp):
        _half(temp)
        raise OSError(code, os.strerror(code), str(temp))

    _while_writing(monkeypatch, 2, fail)
    with pytest.raises(DynsysError) as info:
        _run(run_dir=run_dir)
    _write_error_checks(info.value, run_dir, code)
    assert _chunk_files(run_dir) == ALL_CHUNKS[:2] and _temp_files(run_dir) == []
    monkeypatch.setattr(dynsys.io, "atomic_write_path", original)
    _resume_and_check(run_dir, reference, computed)


def test_run_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DynsysError, match=r"cannot create the run folder .*file/run'") as info:
        _run(run_dir=blocker / "run")
    assert isinstance(info.value, OSError) and "\n" not in str(info.value)


@contextmanager
def _tmpfs(path: Path, size: str):
    """A small file system of its own at ``path`` (needs root and the right to mount)."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root with the right to mount)")
    try:
        yield lambda options: subprocess.run(
            ["mount", "-o", f"remount,{options}", str(path)], check=True, capture_output=True
        )
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@pytest.mark.skipif(shutil.which("mount") is None, reason="no mount command")
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_disk_stops_the_run_and_a_rerun_resumes(tmp_path, reference, computed):
    """A real full disk: a 40 KiB tmpfs holds the manifest and two chunk files; the run (in a
    subprocess: a library that crashes on a full disk would not take the test runner down) stops
    with a write error and exits normally; once the disk is larger the run resumes."""
    with _tmpfs(tmp_path / "disk", "40k") as remount:
        run_dir = tmp_path / "disk" / "run"
        code, report = _run_script(tmp_path, run_dir, "inprocess", "none")
        assert code == 0 and report is not None, (tmp_path / "err.txt").read_text()[-2000:]
        assert "DynsysError" in report["mro"] and "OSError" in report["mro"], report
        assert report["errno"] == errno.ENOSPC and "\n" not in report["message"]
        assert f"run folder {str(run_dir)!r}" in report["message"], report
        assert os.strerror(errno.ENOSPC) in report["message"]
        kept = _chunk_files(run_dir)
        assert 1 <= len(kept) < N_CHUNKS and _temp_files(run_dir) == []
        remount("size=4m")
        _resume_and_check(run_dir, reference, computed)


@contextmanager
def _read_only_switch(tmp_path: Path):
    """Yield (run_dir, make_read_only, make_writable): a truly read-only folder, by permissions
    for a normal user, by remounting a tmpfs for root (who ignores permissions)."""
    if os.geteuid() != 0:
        run_dir = tmp_path / "run"
        yield run_dir, lambda: run_dir.chmod(0o555), lambda: run_dir.chmod(0o755)
        run_dir.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("root ignores permissions and there is no mount command")
    with _tmpfs(tmp_path / "disk", "4m") as remount:
        yield tmp_path / "disk" / "run", lambda: remount("ro"), lambda: remount("rw")


def test_read_only_run_folder_stops_the_run_and_a_rerun_resumes(
    tmp_path, monkeypatch, reference, computed
):
    with _read_only_switch(tmp_path) as (run_dir, make_read_only, make_writable):
        original_save = dynsys.io.save

        def save(obj, path, **kw):
            out = original_save(obj, path, **kw)
            if Path(path).name == "chunk_000001.nc":
                make_read_only()
            return out

        monkeypatch.setattr(dynsys.io, "save", save)
        with pytest.raises(DynsysError) as info:
            _run(run_dir=run_dir)
        code = errno.EROFS if os.geteuid() == 0 else errno.EACCES
        _write_error_checks(info.value, run_dir, code)
        assert _chunk_files(run_dir) == ALL_CHUNKS[:2] and _temp_files(run_dir) == []
        make_writable()
        monkeypatch.setattr(dynsys.io, "save", original_save)
        _resume_and_check(run_dir, reference, computed)


# ------------------------------------------------------------------ interrupts without a folder
def test_interrupt_without_run_dir_says_nothing_was_kept():
    def work(task):
        if task.index == 1:
            raise KeyboardInterrupt
        return xr.Dataset({"x": ("orbit", np.zeros(task.size))})

    with pytest.raises(RunInterrupted, match="after 1 of 3 chunks; nothing was kept") as info:
        run_chunks(work, plan_chunks(6, 2))
    assert (info.value.run_dir, info.value.done, info.value.kept) == (None, 1, 0)
