"""Faults around dynsys.io: a full or read-only disk while saving, decompression bombs and
damaged files while loading.

The write faults are injected at the operating-system calls (``os.open``, ``os.write``,
``os.fsync``) as a disk would raise them, and, where the system allows it, produced for real in a
1 MiB tmpfs mounted inside a private user and mount namespace (``unshare -rm``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import h5netcdf
import h5py
import numpy as np
import pytest
import xarray as xr

from dynsys.errors import (
    DynsysError,
    FileFormatError,
    InputError,
    InputTypeError,
    WriteError,
)
from dynsys.io import DEFAULT_MAX_BYTES, load, load_tree, save

MARKERS = {"created_by": "dynsys", "dynsys_format": 1, "dynsys_object": "Dataset"}


# --------------------------------------------------------------------------- helpers
def chunk_dataset(n: int = 200, seed: int = 7) -> xr.Dataset:
    """Like a chunk of a basin run: floats, small ints, labels and provenance."""
    rng = np.random.default_rng(seed)
    return xr.Dataset(
        {
            "x0": (("orbit", "state"), rng.normal(size=(n, 2))),
            "x_final": (("orbit", "state"), rng.normal(size=(n, 2))),
            "status": ("orbit", rng.integers(0, 4, n).astype(np.int8)),
            "label": ("orbit", np.array(["sink", "saddle"] * (n // 2), dtype=object)),
            "multiplier": ("orbit", rng.normal(size=n) + 1j * rng.normal(size=n)),
        },
        coords={"state": ["x", "y"]},
        attrs={"created_by": "dynsys", "chunk_start": 0, "method": "dopri5"},
    )


def diagram_tree() -> xr.DataTree:
    branch = xr.Dataset({"param": ("step", np.linspace(0.0, 1.0, 50)), "x": ("step", np.ones(50))})
    return xr.DataTree.from_dict({"/upper": branch, "/lower": -branch}, name="diagram")


def temporaries(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.tmp"))


def assert_one_line(message: str, *parts: str) -> None:
    assert "\n" not in message, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# --------------------------------------------------------------------------- write faults
class DiskFault:
    """Make the disk fail on the temporary files of one folder, the way the kernel reports it.

    ``at="open"`` fails creating them, ``at="write"`` writes ``after`` bytes (a short write
    first, as on a file system that fills up) and then fails, ``at="fsync"`` fails flushing.
    Other files, and every other folder, are untouched.
    """

    def __init__(self, monkeypatch, folder: Path, at: str, code: int, after: int = 0) -> None:
        self.folder, self.at, self.code, self.after = folder, at, code, after
        self.fds: set[int] = set()
        self.written = 0
        self.size_when_failed: int | None = None
        self.real_open, self.real_write, self.real_fsync = os.open, os.write, os.fsync
        monkeypatch.setattr(os, "open", self.open)
        monkeypatch.setattr(os, "write", self.write)
        monkeypatch.setattr(os, "fsync", self.fsync)

    def fail(self, where: str | None = None) -> OSError:
        return OSError(self.code, os.strerror(self.code), where)

    def open(self, path, flags, *args, **kwargs):
        ours = Path(path).parent == self.folder and Path(path).name.endswith(".tmp")
        if ours and self.at == "open":
            self.size_when_failed = 0
            raise self.fail(str(path))
        fd = self.real_open(path, flags, *args, **kwargs)
        if ours:
            self.fds.add(fd)
        return fd

    def write(self, fd, data):
        if fd not in self.fds or self.at != "write":
            return self.real_write(fd, data)
        room = self.after - self.written
        if room <= 0:
            self.size_when_failed = os.fstat(fd).st_size
            raise self.fail()
        count = self.real_write(fd, memoryview(data)[:room])
        self.written += count
        return count

    def fsync(self, fd):
        if fd in self.fds and self.at == "fsync":
            self.size_when_failed = os.fstat(fd).st_size
            raise self.fail()
        return self.real_fsync(fd)


WRITE_FAULTS = [
    pytest.param("write", errno.ENOSPC, "no space is left on the device", id="ENOSPC-write"),
    pytest.param("write", errno.EDQUOT, "disk quota is exceeded", id="EDQUOT-write"),
    pytest.param("fsync", errno.ENOSPC, "no space is left on the device", id="ENOSPC-fsync"),
    pytest.param("fsync", errno.EIO, "input/output error", id="EIO-fsync"),
    pytest.param("open", errno.EROFS, "the file system is read-only", id="EROFS-open"),
    pytest.param("open", errno.EACCES, "no permission to write into", id="EACCES-open"),
    pytest.param("write", errno.EINVAL, os.strerror(errno.EINVAL), id="other-errno-write"),
]


@pytest.mark.parametrize("build", [chunk_dataset, diagram_tree], ids=["Dataset", "DataTree"])
@pytest.mark.parametrize(("at", "code", "reason"), WRITE_FAULTS)
def test_failed_write_keeps_the_earlier_file_and_says_why(
    tmp_path, monkeypatch, build, at, code, reason
):
    target = save(chunk_dataset(seed=1), tmp_path / "chunk_0003.nc")
    before = target.read_bytes()
    fault = DiskFault(monkeypatch, tmp_path, at, code, after=4096)
    with pytest.raises(WriteError) as info:
        save(build(), target)
    monkeypatch.undo()
    assert fault.size_when_failed is not None, "the fault was never hit"
    if at == "write":
        assert fault.size_when_failed == 4096  # failed midway, after a short write
    error = info.value
    assert isinstance(error, DynsysError) and isinstance(error, OSError)
    assert (error.errno, error.filename) == (code, str(target))
    assert_one_line(str(error), str(target), reason, errno.errorcode[code], "intact")
    assert target.read_bytes() == before  # byte for byte
    assert temporaries(tmp_path) == [] and sorted(tmp_path.iterdir()) == [target]
    assert load(target).identical(load(save(chunk_dataset(seed=1), tmp_path / "again.nc")))


def test_failed_write_of_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "chunk_0000.nc"
    DiskFault(monkeypatch, tmp_path, "write", errno.ENOSPC, after=1000)
    with pytest.raises(WriteError, match="no space is left") as info:
        save(chunk_dataset(), target)
    assert_one_line(str(info.value), str(target), "no file was created")
    assert list(tmp_path.iterdir()) == []


# A real file system that fills up, then becomes read-only: a 1 MiB tmpfs mounted in a private
# user and mount namespace (no root needed where unprivileged user namespaces are allowed).
_IN_NAMESPACE = textwrap.dedent(
    """
    import json, subprocess, sys
    from pathlib import Path
    import numpy as np
    import xarray as xr
    from dynsys.errors import WriteError
    from dynsys.io import load, save

    folder = Path(sys.argv[1])
    rng = np.random.default_rng(1)
    target = save(xr.Dataset({"x": ("i", rng.normal(size=1000))}), folder / "run.nc")
    before = target.read_bytes()
    big = {
        "full": xr.Dataset({"x": ("i", rng.normal(size=300_000))}),  # 2.4 MB
        "full_tree": xr.DataTree.from_dict({"/a": xr.Dataset({"x": ("i", np.ones(300_000))})}),
    }
    report = {}

    def attempt(case, obj):
        try:
            save(obj, target)
            outcome = "saved"
        except WriteError as exc:
            outcome = {"errno": exc.errno, "message": str(exc)}
        report[case] = {
            "outcome": outcome,
            "intact": target.read_bytes() == before,
            "files": sorted(p.name for p in folder.iterdir()),
        }

    for case, obj in big.items():
        attempt(case, obj)
    report["loads"] = bool(load(target)["x"].size == 1000)
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    attempt("read_only", xr.Dataset({"x": ("i", [1.0])}))
    print(json.dumps(report))
    """
)


def test_real_file_system_full_then_read_only(tmp_path):
    """Save into a 1 MiB tmpfs: twice too big (ENOSPC), then after `mount -o remount,ro`."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        pytest.skip("needs Linux and unshare(1) to mount a small tmpfs")
    shell = 'mount -t tmpfs -o size=1m dynsys-test "$1" || exit 77; exec "$2" -c "$3" "$1"'
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", shell, "sh", str(tmp_path), sys.executable, _IN_NAMESPACE],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 77 or (done.returncode != 0 and "unshare:" in done.stderr):
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr  # no crash: a segmentation fault would be -11
    assert list(tmp_path.iterdir()) == []  # the tmpfs was private to the namespace
    report = json.loads(done.stdout.splitlines()[-1])
    for case, code, reason in [
        ("full", errno.ENOSPC, "no space is left on the device"),
        ("full_tree", errno.ENOSPC, "no space is left on the device"),
        ("read_only", errno.EROFS, "the file system is read-only"),
    ]:
        outcome = report[case]["outcome"]
        assert outcome != "saved", case
        assert outcome["errno"] == code, case
        assert_one_line(outcome["message"], "run.nc", reason, "intact")
        assert report[case]["intact"] and report[case]["files"] == ["run.nc"], case
    assert report["loads"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root ignores folder permissions; test_real_file_system_full_then_read_only covers it",
)
def test_read_only_folder(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    target = save(chunk_dataset(seed=1), folder / "run.nc")
    before = target.read_bytes()
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError) as info:
            save(chunk_dataset(), target)
    finally:
        folder.chmod(0o755)
    assert info.value.errno == errno.EACCES
    assert_one_line(str(info.value), str(target), "no permission to write into", "intact")
    assert target.read_bytes() == before and sorted(folder.iterdir()) == [target]


# --------------------------------------------------------------------------- decompression bombs
def write_bomb(path: Path, group: str = "/", *, shape=(20_000, 20_000), dtype="f8") -> Path:
    """A few kB on disk that declare 3.2 GB of zeros (chunked, gzip, every chunk a fill value)."""
    with h5py.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        where = handle.require_group(group)
        where.create_dataset("zeros", shape=shape, dtype=dtype, chunks=True, compression="gzip")
    return path


def refused(read, path: Path, **kwargs) -> tuple[str, float, int]:
    """The message of the refusal, the seconds it took, and the peak of traced allocations."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(FileFormatError) as info:
            read(path, **kwargs)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), elapsed, peak


@pytest.mark.parametrize("read", [load, load_tree])
@pytest.mark.parametrize("group", ["/", "/branch/deeper"])
def test_decompression_bomb_is_refused_before_reading(tmp_path, read, group):
    path = write_bomb(tmp_path / "bomb.nc", group)
    assert path.stat().st_size < 20_000
    message, elapsed, peak = refused(read, path)
    assert elapsed < 0.5 and peak < 5_000_000  # nothing near 3.2 GB was allocated
    assert_one_line(message, str(path), "declares 3.2 GB", "(3200000000 bytes)", "max_bytes")


def test_bomb_of_variable_length_strings_is_refused(tmp_path):
    path = tmp_path / "labels.nc"
    with h5py.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        handle.create_dataset(
            "label", shape=(10**8,), dtype=h5py.string_dtype(), chunks=True, compression="gzip"
        )
    message, elapsed, _ = refused(load, path)
    declared = int(message.split("(")[1].split(" bytes")[0])
    assert declared >= 10**8 * 64 and elapsed < 0.5  # at least 64 bytes per Python string


def test_external_link_is_refused(tmp_path):
    write_bomb(tmp_path / "elsewhere.h5")
    path = tmp_path / "linked.nc"
    with h5py.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        handle["zeros"] = h5py.ExternalLink("elsewhere.h5", "/zeros")
    message, _, _ = refused(load, path, max_bytes=None)
    assert_one_line(message, str(path), "ExternalLink")


def test_group_linked_into_itself_is_refused(tmp_path):
    path = tmp_path / "loop.nc"
    with h5py.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        handle.create_group("a/b")
        handle["a/b/back"] = handle["a"]  # a second hard link: /a/b/back/b/back/... forever
    message, elapsed, _ = refused(load_tree, path, max_bytes=None)
    assert_one_line(message, str(path), "`/a/b/back` is reached twice")
    assert elapsed < 0.5


def write_sparse(path: Path, sizes: dict[str, tuple[tuple[str, int], str]]) -> Path:
    """A valid netCDF file whose variables hold only fill values (zeros): tiny, yet declared."""
    with h5netcdf.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        for name, ((dim, length), dtype) in sizes.items():
            parent, _, name = name.rpartition("/")
            group = handle.create_group(parent) if parent else handle
            group.dimensions[dim] = length
            group.create_variable(name, (dim,), dtype, compression="gzip")
    return path


def test_limit_counts_every_group_to_the_byte(tmp_path):
    # 100 float64 at the root and 10 int32 in a group: 840 bytes; dimensions hold no data
    path = write_sparse(tmp_path / "exact.nc", {"v": (("i", 100), "f8"), "g/w": (("k", 10), "i4")})
    tree = load_tree(path, max_bytes=840)
    assert tree["v"].shape == (100,) and tree["g/w"].shape == (10,)
    message, _, _ = refused(load_tree, path, max_bytes=839)
    assert_one_line(message, "(840 bytes)")


def test_large_declared_small_file_loads_with_a_raised_limit(tmp_path):
    path = tmp_path / "big.nc"
    with h5netcdf.File(path, "w") as handle:
        handle.attrs.update(MARKERS)
        handle.dimensions = {"orbit": 2000, "sample": 1000}
        handle.create_variable(
            "x", ("orbit", "sample"), "f8", chunks=(500, 1000), compression="gzip"
        )
    assert path.stat().st_size < 20_000  # 16 MB declared
    message, _, _ = refused(load, path, max_bytes=10**6)
    assert_one_line(message, "declares 0.016 GB", "max_bytes")
    for limit in (10**8, None, DEFAULT_MAX_BYTES):
        ds = load(path, max_bytes=limit)
        assert ds["x"].shape == (2000, 1000) and not ds["x"].values.any()  # HDF5 fills with 0


def test_default_limit_and_bad_limits(tmp_path):
    assert DEFAULT_MAX_BYTES == 2 * 1024**3
    path = save(chunk_dataset(), tmp_path / "c.nc")
    with pytest.raises(InputTypeError, match="`max_bytes` must be a number of bytes or None"):
        load(path, max_bytes="2 GB")
    with pytest.raises(InputTypeError, match="`max_bytes`"):
        load(path, max_bytes=True)
    with pytest.raises(InputError, match="`max_bytes` must be >= 0"):
        load_tree(path, max_bytes=-1)


# --------------------------------------------------------------------------- damaged files
def damaged_copies(good: bytes) -> list[tuple[str, bytes]]:
    """Ten 64-byte blocks through the file, each inverted or zeroed, and truncations."""
    size = len(good)
    copies = []
    for offset in (np.linspace(0.03, 0.97, 10) * size).astype(int):
        block = good[offset : offset + 64]
        inverted = bytes(byte ^ 0xFF for byte in block)
        for how, new in (("inverted", inverted), ("zeroed", bytes(len(block)))):
            copies.append((f"{how} at {offset}", good[:offset] + new + good[offset + 64 :]))
    for length in (8, 64, 512, size // 3, size // 2, size - 100, size - 49, size - 48, size - 1):
        copies.append((f"cut to {length}", good[:length]))
    return copies


@pytest.mark.parametrize("build", [chunk_dataset, diagram_tree], ids=["Dataset", "DataTree"])
def test_damaged_file_is_refused_or_read_unchanged(tmp_path, build):
    path = save(build(), tmp_path / "chunk.nc")
    good = path.read_bytes()
    expected = {read: read(path) for read in (load, load_tree)}
    hdf5_data = good[:-48]  # what HDF5 reads; the 48-byte checksum trailer follows
    for what, content in damaged_copies(good):
        path.write_bytes(content)
        for read, original in expected.items():
            try:
                back = read(path)
            except FileFormatError as exc:
                assert_one_line(str(exc), str(path), "is damaged", "recompute it", "restore it")
            else:  # only possible if the damage hit nothing the file needs
                assert type(back) is type(original), what
                assert back.identical(original), what
                assert content[: len(hdf5_data)] == hdf5_data, f"{what}: read changed data"


def test_damaged_chunk_of_a_run_folder_says_it_is_damaged(tmp_path):
    """The basin runner turns this into "delete it and resume": the message must say damaged."""
    path = save(chunk_dataset(), tmp_path / "chunk_0007.nc")
    content = path.read_bytes()
    for broken in (content[: len(content) // 2], content[:1000] + bytes(500) + content[1500:]):
        path.write_bytes(broken)
        with pytest.raises(FileFormatError) as info:
            load(path)
        assert_one_line(str(info.value), str(path), "is damaged or truncated")


def test_file_ends_with_the_sha256_of_its_hdf5_data(tmp_path):
    path = save(chunk_dataset(), tmp_path / "c.nc")
    content = path.read_bytes()
    data, trailer = content[:-48], content[-48:]
    assert trailer == b"dynsys sha256 v1" + hashlib.sha256(data).digest()
    with h5py.File(path, "r") as handle:  # plain HDF5 readers ignore the trailer
        assert handle["x0"].shape == (200, 2)


def test_file_without_checksum_from_an_older_dynsys_still_loads(tmp_path):
    path = tmp_path / "old.nc"
    ds = xr.Dataset({"x": ("i", [1.0, 2.0])}, attrs={"created_by": "dynsys"})
    ds.assign_attrs(MARKERS).to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_identical(load(path), ds)
