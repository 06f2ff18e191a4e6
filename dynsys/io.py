"""Save and load results as netCDF-4 files that round-trip exactly and are written atomically.

:func:`save` writes an ``xarray.Dataset`` (fixed points, trajectories, basin chunks, graphs as
datasets) or an ``xarray.DataTree`` (a continuation diagram: one group per branch) with the
h5netcdf engine; :func:`load` gives back exactly what was saved, the same type included, and
:func:`load_tree` always gives a DataTree. Values netCDF cannot hold (complex numbers, booleans and
``None`` in attributes, dicts and lists, string dtypes) are encoded reversibly, see
:mod:`dynsys._netcdf_codec`; nothing is ever pickled.

Files are written atomically: into a temporary file ``.<name>.<pid>.<random>.tmp`` in the target's
directory, flushed to disk, then renamed over the target (:func:`atomic_write_path`, which other
writers such as figures and GraphML use too). After a crash or Ctrl-C the target is either the
previous complete file or absent; a process killed outright (SIGKILL, power loss) may leave a
stray temporary file, which has a name no ``*.nc`` pattern matches and which may be deleted.

Every file carries provenance in its root attributes: ``created_by = "dynsys"`` and
``dynsys_version`` (added when the object does not have them yet: results from
``dynsys.io.provenance`` already carry these and the system, parameters and tolerances),
and the file-level markers ``dynsys_format`` (the version of this file layout) and
``dynsys_object`` (``"Dataset"`` or ``"DataTree"``), which :func:`load` checks and removes.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Hashable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._dataset import provenance, status_variable
from ._netcdf_codec import decode_dataset, encode_dataset
from .errors import FileFormatError, InputTypeError, MissingFileError

__all__ = [
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
    with atomic_write_path(path, overwrite=overwrite) as temp:
        encoded.to_netcdf(temp, engine=_ENGINE)
    return Path(path)


# --------------------------------------------------------------------------- load
_FIX = (
    "Open it with xarray.open_dataset() or xarray.open_datatree() instead; to use it with "
    "dynsys, load it with xarray and write it with dynsys.io.save()."
)


def _check_signature(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(len(_HDF5_SIGNATURE))
    if head == _HDF5_SIGNATURE:
        return
    if not head:
        what = "the file is empty"
    elif head[:3] == b"CDF":
        what = "it is a netCDF-3 file, and dynsys writes netCDF-4 (HDF5)"
    else:
        what = f"it does not start with the HDF5 signature (its first bytes are {head!r})"
    raise FileFormatError(f"{path} {_NOT_OURS}: {what}. {_FIX}")


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


def _read(path: str | os.PathLike) -> tuple[xr.DataTree, str]:
    _require_backend()
    path = Path(path)
    if not path.exists():
        raise MissingFileError(errno.ENOENT, "No such file; check the path", str(path))
    _check_signature(path)
    try:
        with xr.open_datatree(path, engine=_ENGINE) as raw:
            kind = _check_header(dict(raw.attrs), path)
            raw.load()
            nodes = {
                node.path: decode_dataset(node.to_dataset(inherit=False)) for node in raw.subtree
            }
    except FileFormatError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(
            f"{path} {_NOT_OURS}: it cannot be read ({type(exc).__name__}: {exc}). It may be "
            "damaged or truncated (was its writer stopped?); write it again with "
            "dynsys.io.save()."
        ) from exc
    root_attrs = nodes["/"].attrs
    name = root_attrs.get(_TREE_NAME_ATTR)
    for key in _FILE_MARKERS:
        root_attrs.pop(key, None)
    return xr.DataTree.from_dict(nodes, name=name), kind


def load(path: str | os.PathLike) -> xr.Dataset | xr.DataTree:
    """Read a file written by :func:`save`, fully into memory, as the type that was saved.

    The file is closed before returning, so it can be overwritten or deleted at once.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.

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
        If the file is not netCDF-4/HDF5, was not written by :func:`save`, is damaged, or
        comes from a newer dynsys with a file format this version cannot read.

    Examples
    --------
    >>> import tempfile
    >>> ds = xr.Dataset({"stable": ("step", [True, False])}, attrs={"tol": 1e-10})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back = load(save(ds, Path(tmp) / "branch.nc"))
    >>> back["stable"].values, back.attrs["tol"]
    (array([ True, False]), 1e-10)
    """
    tree, kind = _read(path)
    return tree.to_dataset() if kind == "Dataset" else tree


def load_tree(path: str | os.PathLike) -> xr.DataTree:
    """Read a file written by :func:`save` as a DataTree (a saved Dataset becomes its root).

    Parameters, raises and loading behaviour are those of :func:`load`.

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
    tree, _ = _read(path)
    return tree
