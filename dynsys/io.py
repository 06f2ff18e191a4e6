"""Save and load results as netCDF-4 files that round-trip exactly and are written atomically.

:func:`save` writes an ``xarray.Dataset`` (fixed points, trajectories, basin chunks, graphs as
datasets) or an ``xarray.DataTree`` (a continuation diagram: one group per branch) with the
h5netcdf engine; :func:`load` gives back exactly what was saved, the same type included, and
:func:`load_tree` always gives a DataTree. Values netCDF cannot hold (complex numbers, booleans and
``None`` in attributes, dicts and lists, string dtypes) are encoded reversibly, see
:mod:`dynsys._netcdf_codec`; nothing is ever pickled.

Files are written atomically: the whole file is first built in memory (HDF5 never writes to disk,
so a full disk cannot crash it), then written with plain file writes into a temporary file
``.<name>.<pid>.<random>.tmp`` in the target's directory, flushed to disk, and renamed over the
target (:func:`atomic_write_path`, which other writers such as figures and GraphML use too). After
a crash, Ctrl-C or a failed write (no space left, read-only file system: a
:class:`dynsys.errors.WriteError`) the target is either the previous complete file or absent; a
process killed outright (SIGKILL, power loss) may leave a stray temporary file, which has a name
no ``*.nc`` pattern matches and which may be deleted.

Every file ends with a 48-byte checksum trailer after the end of the HDF5 data (the 16 bytes
``dynsys sha256 v1`` and the SHA-256 digest of everything before them). HDF5 readers (xarray,
h5py, netCDF-C) ignore it; :func:`load` checks it before HDF5 opens the file, so a damaged or
truncated file is refused (:class:`dynsys.errors.FileFormatError`) instead of crashing the HDF5
library or giving wrong values. Files without the trailer (written by dynsys before it had one)
are still read, unchecked. Before reading any data :func:`load` also adds up the sizes that the
file declares for its variables and refuses a file that would expand beyond ``max_bytes`` (2 GiB
by default): a small compressed file can declare gigabytes of zeros.

Every file carries provenance in its root attributes: ``created_by = "dynsys"`` and
``dynsys_version`` (added when the object does not have them yet: results from
``dynsys.io.provenance`` already carry these and the system, parameters and tolerances),
and the file-level markers ``dynsys_format`` (the version of this file layout) and
``dynsys_object`` (``"Dataset"`` or ``"DataTree"``), which :func:`load` checks and removes.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import secrets
import sys
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._dataset import provenance, status_variable
from ._netcdf_codec import decode_dataset, encode_dataset
from .errors import (
    DynsysError,
    FileFormatError,
    InputError,
    InputTypeError,
    MissingFileError,
    WriteError,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT_VERSION",
    "atomic_write_path",
    "load",
    "load_tree",
    "provenance",
    "save",
    "status_variable",
]

FORMAT_VERSION = 1
"""Version of the file layout that :func:`save` writes; :func:`load` reads this one and older."""

_FORMAT_ATTR = "dynsys_format"
_OBJECT_ATTR = "dynsys_object"
_TREE_NAME_ATTR = "dynsys_tree_name"
_FILE_MARKERS = (_FORMAT_ATTR, _OBJECT_ATTR, _TREE_NAME_ATTR)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ENGINE = "h5netcdf"
_NOT_OURS = "is not a netCDF file written by dynsys"
_TRAILER_MAGIC = b"dynsys sha256 v1"
_TRAILER_LEN = len(_TRAILER_MAGIC) + hashlib.sha256().digest_size
_BLOCK = 1 << 20  # bytes per write() and per read() when checking the digest

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Default of ``max_bytes`` in :func:`load`: files declaring more data than this are refused."""


# --------------------------------------------------------------------------- atomic writes
def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (POSIX only; Windows has no directory handles for this)."""
    if os.name == "nt":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories; the rename still holds
        pass
    finally:
        os.close(fd)


def _exists_error(target: Path) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, "File exists; pass `overwrite=True` to replace it", str(target)
    )


def _publish(temp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # atomic and never replaces an existing file
    except FileExistsError:
        raise _exists_error(target) from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise _exists_error(target) from None
        os.replace(temp, target)


@contextmanager
def atomic_write_path(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write to; on success, move it to ``path`` in one step.

    The temporary file ``.<name>.<pid>.<random>.tmp`` lies in the directory of ``path`` (so the
    final rename is atomic) and is created by the caller's writer. When the ``with`` block ends
    normally the file is flushed to disk and renamed to ``path``; when it raises (any exception,
    ``KeyboardInterrupt`` included) the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its directory must exist.
    overwrite : bool, default True
        Replace an existing file; with ``False`` an existing ``path`` raises and is kept.

    Yields
    ------
    pathlib.Path
        Where to write.

    Raises
    ------
    dynsys.errors.MissingFileError
        If the directory of ``path`` does not exist, or the block created no file.
    FileExistsError
        If ``path`` exists and ``overwrite`` is false (checked before and again at the rename).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     target = Path(tmp) / "edges.graphml"
    ...     with atomic_write_path(target) as temp:
    ...         _ = temp.write_text("<graphml/>")
    ...     print(target.read_text(), sorted(p.name for p in Path(tmp).iterdir()))
    <graphml/> ['edges.graphml']
    """
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise MissingFileError(
            errno.ENOENT, "Directory to write into does not exist; create it first", str(directory)
        )
    if not overwrite and target.exists():
        raise _exists_error(target)
    temp = directory / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        yield temp
        if not temp.exists():
            raise MissingFileError(
                errno.ENOENT, "The writer created no file at the yielded temporary path", str(temp)
            )
        _fsync_file(temp)
        _publish(temp, target, overwrite)
        _fsync_directory(directory)
    finally:
        with suppress(OSError):  # e.g. still open on Windows; its name marks it as temporary
            temp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- save
def _local_scheduler():
    """While a dask.distributed Client is the default scheduler, xarray guards netCDF writes with
    a distributed lock named after the target, which fails for the in-memory file built here (a
    lock cannot be named by a BytesIO): encode in this process, with local locks."""
    if "distributed" not in sys.modules:
        return nullcontext()
    import dask

    return dask.config.set(scheduler="synchronous")


def _require_backend() -> None:
    try:
        import h5netcdf  # noqa: F401
        import h5py  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"dynsys.io reads and writes netCDF-4 through h5netcdf and h5py, which are not "
            f"importable ({exc}); install them with `pip install 'h5netcdf[h5py]'`"
        ) from exc


def _stamped(attrs: dict[Hashable, Any], kind: str, tree_name: Hashable = None) -> dict:
    from ._version import __version__

    out = dict(attrs)
    out.setdefault("created_by", "dynsys")
    out.setdefault("dynsys_version", __version__)
    out[_FORMAT_ATTR] = FORMAT_VERSION
    out[_OBJECT_ATTR] = kind
    if tree_name is not None:
        out[_TREE_NAME_ATTR] = str(tree_name)
    return out


def save(obj: xr.Dataset | xr.DataTree, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write a Dataset or DataTree to a netCDF-4 file, atomically and with provenance.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataTree
        The result to store. Complex variables, string dtypes and attribute values that netCDF
        cannot hold (booleans, ``None``, lists, dicts, complex numbers, n-d arrays) are encoded
        reversibly; :func:`load` restores them exactly.
    path : str or os.PathLike
        Target file (by convention ``*.nc``). Its directory must exist.
    overwrite : bool, default True
        Replace an existing file; with ``False`` an existing file raises ``FileExistsError``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        If ``obj`` is not a Dataset or DataTree, or holds a value netCDF cannot store (an
        object array of non-strings, an attribute of an unsupported type).
    ValueError
        If a complex variable ``z`` cannot be split because ``z_real`` or ``z_imag`` exists, or
        an attribute uses a name reserved by this module.
    FileNotFoundError, FileExistsError
        See :func:`atomic_write_path`.
    dynsys.errors.WriteError
        If the file cannot be written (no space left, quota exceeded, read-only file system, no
        permission; an ``OSError`` with the original ``errno``). The temporary file is removed
        and an earlier file at ``path`` is left byte for byte as it was.

    Notes
    -----
    The whole file is built in memory before anything is written to disk, so saving needs about
    as much free memory as the object holds.

    Examples
    --------
    >>> import tempfile
    >>> ds = xr.Dataset({"eigenvalue": ("mode", np.array([1 + 2j, -3.0]))})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load(save(ds, Path(tmp) / "point.nc"))
    >>> back["eigenvalue"].values
    array([ 1.+2.j, -3.+0.j])
    >>> back.attrs["created_by"]
    'dynsys'
    """
    _require_backend()
    if isinstance(obj, xr.DataTree):
        nodes = {node.path: node.to_dataset(inherit=False) for node in obj.subtree}
        nodes["/"] = nodes["/"].assign_attrs(_stamped(nodes["/"].attrs, "DataTree", obj.name))
        encoded: xr.Dataset | xr.DataTree = xr.DataTree.from_dict(
            {key: encode_dataset(ds) for key, ds in nodes.items()}
        )
    elif isinstance(obj, xr.Dataset):
        encoded = encode_dataset(obj.assign_attrs(_stamped(obj.attrs, "Dataset")))
    else:
        raise InputTypeError(
            f"`obj` must be an xarray.Dataset or xarray.DataTree; got {type(obj).__name__}. "
            "Convert other results first (a critical-point graph with "
            "dynsys.graph.to_dataset())."
        )
    with _local_scheduler():
        data = memoryview(encoded.to_netcdf(engine=_ENGINE)).cast("B")  # all in memory, no disk
    trailer = _TRAILER_MAGIC + hashlib.sha256(data).digest()
    target = Path(path)
    existed = target.exists()
    try:
        with atomic_write_path(target, overwrite=overwrite) as temp:
            _write_new_file(temp, (data, trailer))
    except (DynsysError, FileExistsError):
        raise
    except OSError as exc:
        raise _write_error(target, exc, existed) from exc
    return target


def _write_new_file(path: Path, parts: tuple[memoryview | bytes, ...]) -> None:
    """Create ``path`` and write ``parts`` to it with plain ``os.write`` calls."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666)
    try:
        for part in parts:
            view = memoryview(part).cast("B")
            while view:
                view = view[os.write(fd, view[:_BLOCK]) :]
    finally:
        os.close(fd)


_FREE_SPACE = "free some space or choose another disk, then save again"
_WRITABLE = "choose a folder you may write to, then save again"
_WRITE_REASONS = {
    errno.ENOSPC: ("no space is left on the device", _FREE_SPACE),
    getattr(errno, "EDQUOT", -1): ("the disk quota is exceeded", _FREE_SPACE),
    errno.EFBIG: ("the file is larger than the file system allows", _FREE_SPACE),
    errno.EROFS: ("the file system is read-only", _WRITABLE),
    errno.EACCES: ("there is no permission to write into {folder}", _WRITABLE),
    errno.EPERM: ("there is no permission to write into {folder}", _WRITABLE),
    errno.EIO: ("the disk reported an input/output error", "check the disk, then save again"),
}


def _write_error(target: Path, exc: OSError, existed: bool) -> WriteError:
    """One line: which file, why, that nothing was damaged, and what to do."""
    if exc.errno in _WRITE_REASONS:
        reason, fix = _WRITE_REASONS[exc.errno]
        reason = reason.format(folder=target.parent)
    else:
        reason = " ".join(str(exc.strerror or exc).split())
        fix = "check the disk and the folder, then save again"
    if exc.errno is not None:
        reason += f" ({errno.errorcode.get(exc.errno, exc.errno)})"
    kept = (
        f"the earlier file {target.name} is intact"
        if existed and target.exists()
        else "no file was created"
    )
    return WriteError(
        f"Could not write {target}: {reason}; {kept} and no partial file was left; {fix}.",
        errno=exc.errno,
        filename=str(target),
    )


# --------------------------------------------------------------------------- load
_FIX = (
    "Open it with xarray.open_dataset() or xarray.open_datatree() instead; to use it with "
    "dynsys, load it with xarray and write it with dynsys.io.save()."
)
_READ_ERRORS = (OSError, ValueError, LookupError, TypeError, RuntimeError)
"""What h5py, h5netcdf, xarray and the decoding raise on a damaged file."""


def _damaged(path: Path, why: str) -> FileFormatError:
    why = " ".join(why.split())  # one line, whatever the library said
    return FileFormatError(
        f"{path} is damaged or truncated ({why}); recompute it, or restore it from a backup."
    )


def _check_signature(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(len(_HDF5_SIGNATURE))
        if head == _HDF5_SIGNATURE:
            return
        size = handle.seek(0, os.SEEK_END)
        if size >= _TRAILER_LEN:
            handle.seek(size - _TRAILER_LEN)
            if handle.read(len(_TRAILER_MAGIC)) == _TRAILER_MAGIC:  # ours, with a bad start
                raise _damaged(path, f"its first bytes {head!r} are not the HDF5 signature")
    if not head:
        what = "the file is empty"
    elif head[:3] == b"CDF":
        what = "it is a netCDF-3 file, and dynsys writes netCDF-4 (HDF5)"
    else:
        what = f"it does not start with the HDF5 signature (its first bytes are {head!r})"
    raise FileFormatError(f"{path} {_NOT_OURS}: {what}. {_FIX}")


def _hdf5_end(head: bytes) -> int | None:
    """Where the HDF5 data ends according to its superblock, or None if it cannot be told.

    Superblock versions 0 and 1 hold the base address at byte 24 or 28, versions 2 and 3 at 12;
    the end-of-file address follows two addresses later (HDF5 file format specification, II.A).
    """
    if len(head) < 16:
        return None
    version = head[8]
    if version in (0, 1):
        width, start = head[13], 24 + 4 * version
    elif version in (2, 3):
        width, start = head[9], 12
    else:
        return None
    if width not in (2, 4, 8, 16, 32) or len(head) < start + 3 * width:
        return None
    base = int.from_bytes(head[start : start + width], "little")
    end = int.from_bytes(head[start + 2 * width : start + 3 * width], "little")
    return base + end


def _check_integrity(path: Path) -> None:
    """Compare the file with its checksum trailer before HDF5 (which can crash on it) opens it."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            end = _hdf5_end(handle.read(128))
            trailer = b""
            if size >= _TRAILER_LEN:
                handle.seek(size - _TRAILER_LEN)
                trailer = handle.read(_TRAILER_LEN)
            if trailer.startswith(_TRAILER_MAGIC):
                digest = hashlib.sha256()
                handle.seek(0)
                remaining = size - _TRAILER_LEN
                while remaining > 0:
                    block = handle.read(min(_BLOCK, remaining))
                    if not block:
                        break
                    digest.update(block)
                    remaining -= len(block)
                if remaining or digest.digest() != trailer[len(_TRAILER_MAGIC) :]:
                    raise _damaged(path, "its content does not match the checksum saved with it")
                return
    except OSError as exc:
        raise _damaged(path, f"reading it failed: {exc}") from exc
    if end is None:
        raise _damaged(path, "its HDF5 superblock cannot be read")
    if size < end:
        raise _damaged(path, f"it has {size} bytes, but its HDF5 header says {end}")
    if size > end:
        raise _damaged(path, f"the {size - end} bytes after its HDF5 data are not a checksum")
    # size == end: no trailer, a file written by an older dynsys (or by another program)


_VLEN_BYTES = 64
"""Bytes counted per element of a variable-length type (a string: its object and characters)."""
_BARE_DIMENSION = b"This is a netCDF dimension but not a netCDF variable."


def _declared_bytes(path: Path) -> int:
    """The bytes that reading every variable of the file would allocate, from its metadata only.

    Walks every group and dataset through hard links (what h5netcdf reads), without reading any
    data. Soft and external links (never in a netCDF file; an external link could pull a large
    dataset from another file) and groups reached twice (a loop) are refused.
    """
    import h5py

    total = 0
    seen: set = set()

    def walk(group: h5py.Group, where: str) -> None:
        nonlocal total
        for name in group:
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise FileFormatError(
                    f"{path} {_NOT_OURS}: `{where}{name}` is a {type(link).__name__}, which "
                    f"netCDF files do not use. {_FIX}"
                )
            obj = group[name]
            if isinstance(obj, h5py.Group):
                if obj.id in seen:
                    raise FileFormatError(
                        f"{path} {_NOT_OURS}: group `{where}{name}` is reached twice (a loop). "
                        f"{_FIX}"
                    )
                seen.add(obj.id)
                walk(obj, f"{where}{name}/")
            elif isinstance(obj, h5py.Dataset):
                label = obj.attrs.get("NAME")
                if isinstance(label, bytes) and label.startswith(_BARE_DIMENSION):
                    continue  # a dimension without coordinates: its data is never read
                dtype = obj.dtype
                per_item = dtype.itemsize + (_VLEN_BYTES if dtype.hasobject else 0)
                total += math.prod(obj.shape or ()) * per_item

    with h5py.File(path, "r") as handle:
        seen.add(handle.id)
        walk(handle, "/")
    return total


def _check_max_bytes(max_bytes: Any) -> float | None:
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int | float | np.integer):
        raise InputTypeError(
            f"`max_bytes` must be a number of bytes or None; got {type(max_bytes).__name__}."
        )
    if not max_bytes >= 0:
        raise InputError(f"`max_bytes` must be >= 0 (or None for no limit); got {max_bytes!r}.")
    return float(max_bytes)


def _check_declared_size(path: Path, max_bytes: float | None) -> None:
    """Refuse links out of the file (always) and more declared data than ``max_bytes``."""
    try:
        declared = _declared_bytes(path)
    except FileFormatError:
        raise
    except _READ_ERRORS as exc:
        raise _damaged(path, f"{type(exc).__name__}: {exc}") from exc
    if max_bytes is not None and declared > max_bytes:
        raise FileFormatError(
            f"{path} declares {_gigabytes(declared)} of data ({declared} bytes), more than the "
            f"limit `max_bytes` = {_gigabytes(max_bytes)}, so it was not read (a small compressed "
            "file can expand to that much memory); if you trust it and have the memory, pass a "
            "larger `max_bytes` (or `max_bytes=None`) to dynsys.io.load() or load_tree()."
        )


def _gigabytes(size: float) -> str:
    return f"{size / 1e9:.3g} GB"


def _check_header(attrs: dict[Hashable, Any], path: Path) -> str:
    """Check the root attributes of a file; return the kind of object it holds."""
    version = attrs.get(_FORMAT_ATTR)
    if version is None:
        created_by = attrs.get("created_by")
        if created_by == "dynsys":
            raise FileFormatError(
                f"{path} {_NOT_OURS}: it carries dynsys provenance but no `{_FORMAT_ATTR}` "
                "attribute, so it was written by xarray's to_netcdf() rather than "
                "dynsys.io.save(). Open it with xarray.load_dataset(), or write it again with "
                "dynsys.io.save()."
            )
        found = f"created_by={created_by!r}" if created_by is not None else "no `created_by`"
        raise FileFormatError(
            f"{path} {_NOT_OURS}: it has no `created_by = 'dynsys'` and `{_FORMAT_ATTR}` "
            f"attributes (found {found}). {_FIX}"
        )
    if isinstance(version, np.ndarray) and version.size == 1:
        version = version.item()
    if not isinstance(version, int | np.integer) or isinstance(version, bool) or version < 1:
        raise FileFormatError(
            f"{path} has an invalid `{_FORMAT_ATTR}` attribute {version!r} (expected an "
            "integer >= 1): the file is damaged; write it again with dynsys.io.save()."
        )
    if version > FORMAT_VERSION:
        from ._version import __version__

        raise FileFormatError(
            f"{path} was written by a newer dynsys (file format {int(version)}; dynsys "
            f"{__version__} reads formats up to {FORMAT_VERSION}). Upgrade dynsys to read it."
        )
    kind = attrs.get(_OBJECT_ATTR, "Dataset")
    if kind not in ("Dataset", "DataTree"):
        raise FileFormatError(
            f"{path} has an invalid `{_OBJECT_ATTR}` attribute {kind!r} (expected 'Dataset' or "
            "'DataTree'): the file is damaged; write it again with dynsys.io.save()."
        )
    return str(kind)


def _read(path: str | os.PathLike, max_bytes: Any) -> tuple[xr.DataTree, str]:
    _require_backend()
    limit = _check_max_bytes(max_bytes)
    path = Path(path)
    if not path.exists():
        raise MissingFileError(errno.ENOENT, "No such file; check the path", str(path))
    _check_signature(path)
    _check_integrity(path)
    _check_declared_size(path, limit)
    try:
        with xr.open_datatree(path, engine=_ENGINE) as raw:
            kind = _check_header(dict(raw.attrs), path)
            raw.load()
            nodes = {
                node.path: decode_dataset(node.to_dataset(inherit=False)) for node in raw.subtree
            }
    except FileFormatError:
        raise
    except _READ_ERRORS as exc:
        raise _damaged(path, f"{type(exc).__name__}: {exc}") from exc
    root_attrs = nodes["/"].attrs
    name = root_attrs.get(_TREE_NAME_ATTR)
    for key in _FILE_MARKERS:
        root_attrs.pop(key, None)
    return xr.DataTree.from_dict(nodes, name=name), kind


def load(
    path: str | os.PathLike, *, max_bytes: float | None = DEFAULT_MAX_BYTES
) -> xr.Dataset | xr.DataTree:
    """Read a file written by :func:`save`, fully into memory, as the type that was saved.

    The file is closed before returning, so it can be overwritten or deleted at once. Before
    HDF5 opens it, the file is compared with the checksum that :func:`save` wrote after its data,
    and the sizes its variables declare are added up without reading them.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    max_bytes : float or None, default 2 GiB (:data:`DEFAULT_MAX_BYTES`)
        Refuse a file whose variables, all groups together, declare more than this many bytes
        (each array counts its shape times its item size, each variable-length string 64 bytes
        plus its item size). This guards against a small, highly compressed file that would
        expand to gigabytes. ``None`` means no limit. Decoding (complex numbers, strings) may
        briefly need up to about twice the declared size.

    Returns
    -------
    xarray.Dataset or xarray.DataTree
        Identical to the saved object (variables, dtypes, coordinates and attributes), plus the
        ``created_by`` and ``dynsys_version`` attributes if it had none. Use :func:`load_tree`
        to get a DataTree whatever was saved.

    Raises
    ------
    dynsys.errors.MissingFileError
        If ``path`` does not exist.
    dynsys.errors.FileFormatError
        If the file is not netCDF-4/HDF5, was not written by :func:`save`, is damaged or
        truncated (the message says so; recompute or restore it), declares more than
        ``max_bytes`` bytes, or comes from a newer dynsys with a file format this version
        cannot read.
    dynsys.errors.InputTypeError, dynsys.errors.InputError
        If ``max_bytes`` is not a number or None, or is negative.

    Examples
    --------
    >>> import tempfile
    >>> ds = xr.Dataset({"stable": ("step", [True, False])}, attrs={"tol": 1e-10})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load(save(ds, Path(tmp) / "branch.nc"))
    >>> back["stable"].values, back.attrs["tol"]
    (array([ True, False]), 1e-10)
    """
    tree, kind = _read(path, max_bytes)
    return tree.to_dataset() if kind == "Dataset" else tree


def load_tree(
    path: str | os.PathLike, *, max_bytes: float | None = DEFAULT_MAX_BYTES
) -> xr.DataTree:
    """Read a file written by :func:`save` as a DataTree (a saved Dataset becomes its root).

    Checks, raises and loading behaviour are those of :func:`load`.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    max_bytes : float or None, default 2 GiB (:data:`DEFAULT_MAX_BYTES`)
        Refuse a file whose variables declare more bytes than this; ``None`` means no limit.
        See :func:`load`.

    Returns
    -------
    xarray.DataTree
        The saved tree, or a tree whose root is the saved Dataset.

    Examples
    --------
    >>> import tempfile
    >>> branch = xr.Dataset({"param": ("step", [0.0, 0.1])})
    >>> diagram = xr.DataTree.from_dict({"/branch_0": branch, "/branch_1": branch})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load_tree(save(diagram, Path(tmp) / "diagram.nc"))
    >>> sorted(back.children)
    ['branch_0', 'branch_1']
    """
    tree, _ = _read(path, max_bytes)
    return tree
