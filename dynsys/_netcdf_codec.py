"""Reversible encoding of Datasets into what netCDF-4 (through h5netcdf) can hold.

netCDF has no complex numbers, no booleans in attributes, no ``None``, no nested containers, and
it turns one-element array attributes into scalars. :func:`encode_dataset` rewrites a Dataset so
that each of these survives, and :func:`decode_dataset` undoes it exactly. The rules:

- a complex variable ``z`` becomes ``z_real`` and ``z_imag`` (float parts of the same precision),
  both marked in the attribute ``_dynsys_variable`` so that loading recombines them; datasets that
  already store split parts (``dynsys._dataset.split_complex``) carry no mark and stay as they are;
- string variables (``str`` or ``object`` holding ``str``) are written as variable-length strings
  and get their NumPy dtype back on load (``<U20`` stays ``<U20``, ``object`` stays ``object``);
- boolean variables are left to xarray (``int8`` with a ``dtype: bool`` attribute);
- attributes netCDF cannot hold exactly are stored in a form it can, and the attribute
  ``_dynsys_attrs`` (a JSON object: attribute name -> tag) says how to read each one back:
  ``None``, booleans, NumPy scalars, complex numbers, bytes, arrays that are not 1-D with two or
  more elements, string arrays, and lists, tuples and dicts (as JSON: inside them tuples become
  lists, dictionary keys strings and NumPy values plain Python numbers).

Python ``int`` and ``float`` attributes need no tag: netCDF stores them as 64-bit numbers and
loading turns untagged numeric scalars back into Python numbers. Nothing is ever pickled.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .errors import FileFormatError, InputError, InputTypeError

__all__ = ["ATTRS_MARK", "VARIABLE_MARK", "decode_dataset", "encode_dataset"]

VARIABLE_MARK = "_dynsys_variable"
ATTRS_MARK = "_dynsys_attrs"
_RESERVED = (VARIABLE_MARK, ATTRS_MARK)
_INT64 = np.iinfo(np.int64)


# --------------------------------------------------------------------------- attributes
def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise InputTypeError(f"{type(value).__name__} is not JSON serialisable")


def _to_json(value: Any, where: str) -> str:
    try:
        return json.dumps(value, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{where} cannot be stored as JSON ({exc}); {_ATTR_FIX}") from exc


_ATTR_FIX = (
    "attributes may be numbers, strings, booleans, None, bytes, NumPy arrays, "
    "or lists, tuples and dicts of those"
)


def _encode_array_attr(value: np.ndarray, where: str) -> tuple[Any, Any]:
    shape = list(value.shape)
    kind = value.dtype.kind
    if kind == "b":
        return value.astype(np.int8).ravel(), ["bool_array", shape]
    if kind in "iuf":
        if value.ndim == 1 and value.size >= 2:
            return value, None
        return value.ravel(), ["array", value.dtype.str, shape]
    if kind == "c":
        parts = np.stack([value.real.ravel(), value.imag.ravel()], axis=-1).ravel()
        return parts, ["complex_array", value.dtype.str, shape]
    if kind in "USO":
        stored = _to_json(value.tolist() if kind != "S" else _bytes_list(value), where)
        return stored, ["json_array", value.dtype.str, shape]
    raise InputTypeError(
        f"{where} is an array of dtype {value.dtype}, which netCDF cannot hold; {_ATTR_FIX}"
    )


def _bytes_list(value: np.ndarray) -> list:
    return np.vectorize(lambda b: b.hex(), otypes=[object])(value).tolist()


def _encode_attr(value: Any, where: str) -> tuple[Any, Any]:
    """Return ``(stored value, tag)``; ``tag`` is ``None`` when the value needs none."""
    if value is None:
        return "", "none"
    if isinstance(value, bool):
        return np.int8(value), "bool"
    if isinstance(value, np.bool_):
        return np.int8(value), "numpy_bool"
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).hex(), "bytes"
    if isinstance(value, str):
        if "\x00" in value:  # HDF5 strings end at NUL: escape it through JSON
            return json.dumps(str(value)), "json"
        return str(value), None
    if isinstance(value, complex | np.complexfloating):
        parts = np.array([value.real, value.imag], dtype=np.float64)
        if isinstance(value, np.generic):
            return parts, ["numpy_complex", value.dtype.str]
        return parts, "complex"
    if isinstance(value, np.generic):
        if value.dtype.kind in "iuf":
            return value, "numpy"
        raise InputTypeError(
            f"{where} is a NumPy {value.dtype} scalar, which netCDF cannot hold; {_ATTR_FIX}"
        )
    if isinstance(value, int):
        if _INT64.min <= value <= _INT64.max:
            return np.int64(value), None
        return str(value), "big_int"
    if isinstance(value, float):
        return value, None
    if isinstance(value, np.ndarray):
        return _encode_array_attr(value, where)
    if isinstance(value, tuple):
        return _to_json(list(value), where), "tuple"
    if isinstance(value, list | dict):
        return _to_json(value, where), "json"
    raise InputTypeError(
        f"{where} has type {type(value).__name__}, which netCDF cannot hold; {_ATTR_FIX}"
    )


def _decode_attr(stored: Any, tag: Any) -> Any:
    if tag is None:
        if isinstance(stored, np.generic) and stored.dtype.kind in "iuf":
            return stored.item()
        return stored
    if tag == "none":
        return None
    if tag == "bool":
        return bool(stored)
    if tag == "numpy_bool":
        return np.bool_(stored)
    if tag == "bytes":
        return bytes.fromhex(stored)
    if tag == "numpy":
        return stored
    if tag == "big_int":
        return int(stored)
    if tag == "complex":
        real, imag = np.asarray(stored, dtype=np.float64)
        return complex(float(real), float(imag))
    if tag == "tuple":
        return tuple(json.loads(stored))
    if tag == "json":
        return json.loads(stored)
    name, *args = tag
    if name == "numpy_complex":
        out = np.empty((), dtype=args[0])
        out.real, out.imag = np.asarray(stored, dtype=np.float64)
        return out[()]
    if name == "bool_array":
        return np.asarray(stored).astype(np.bool_).reshape(args[0])
    if name == "array":
        return np.asarray(stored, dtype=args[0]).reshape(args[1])
    if name == "complex_array":
        parts = np.asarray(stored, dtype=np.float64).reshape(-1, 2)
        out = np.empty(parts.shape[0], dtype=args[0])
        out.real, out.imag = parts[:, 0], parts[:, 1]
        return out.reshape(args[1])
    if name == "json_array":
        items = json.loads(stored)
        dtype = np.dtype(args[0])
        if dtype.kind == "S":
            items = np.vectorize(bytes.fromhex, otypes=[object])(
                np.asarray(items, dtype=object)
            ).tolist()
        out = np.empty(args[1], dtype=dtype)
        if out.size:
            out[...] = np.asarray(items, dtype=dtype) if dtype.kind != "O" else items
        return out
    raise FileFormatError(f"unknown attribute tag {tag!r}; the file may come from a newer dynsys")


def encode_attrs(attrs: Mapping[Hashable, Any], owner: str) -> dict[str, Any]:
    """Return ``attrs`` in a form netCDF holds exactly, with the ``_dynsys_attrs`` tag map."""
    out: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise InputTypeError(
                f"attribute name {key!r} of {owner} is not a string; netCDF "
                "attribute names are strings"
            )
        if key in _RESERVED:
            raise InputError(f"attribute `{key}` of {owner} is reserved for dynsys.io; rename it")
        stored, tag = _encode_attr(value, f"attribute `{key}` of {owner}")
        out[key] = stored
        if tag is not None:
            tags[key] = tag
    if tags:
        out[ATTRS_MARK] = json.dumps(tags)
    return out


def decode_attrs(attrs: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
    """Undo :func:`encode_attrs` (and drop the variable mark, which the caller has read)."""
    attrs = dict(attrs)
    attrs.pop(VARIABLE_MARK, None)
    tags = json.loads(attrs.pop(ATTRS_MARK, "{}"))
    return {key: _decode_attr(value, tags.get(key)) for key, value in attrs.items()}


# --------------------------------------------------------------------------- variables
def _encode_variable(name: str, var: xr.Variable, taken: set) -> dict[str, xr.Variable]:
    owner = f"variable `{name}`"
    kind = var.dtype.kind
    if kind == "c":
        real, imag = f"{name}_real", f"{name}_imag"
        for part in (real, imag):
            if part in taken:
                raise InputError(
                    f"cannot store complex {owner}: its parts would be named `{real}` and "
                    f"`{imag}`, but `{part}` exists already; rename one of them"
                )
        values = np.asarray(var.values)
        attrs = encode_attrs(var.attrs, owner)
        return {
            real: xr.Variable(
                var.dims,
                values.real.copy(),
                {**attrs, VARIABLE_MARK: json.dumps({"complex_of": name, "imag": imag})},
            ),
            imag: xr.Variable(
                var.dims,
                values.imag.copy(),
                {**attrs, VARIABLE_MARK: json.dumps({"complex_of": name, "real": real})},
            ),
        }
    if kind in "USO":
        values = np.asarray(var.values)
        if kind == "O" and not all(isinstance(item, str) for item in values.flat):
            bad = next(item for item in values.flat if not isinstance(item, str))
            raise InputTypeError(
                f"{owner} has dtype object and holds {bad!r} of type {type(bad).__name__}; netCDF "
                "stores only strings from object arrays: convert it to str or to a numeric dtype"
            )
        attrs = encode_attrs(var.attrs, owner)
        attrs[VARIABLE_MARK] = json.dumps({"dtype": var.dtype.str})
        return {name: xr.Variable(var.dims, var.values, attrs)}
    return {name: xr.Variable(var.dims, var.data, encode_attrs(var.attrs, owner))}


def encode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Return a copy of ``ds`` that netCDF-4 holds exactly (see the module docstring)."""
    ds = ds.drop_encoding()
    taken = {str(name) for name in ds.variables}
    coords: dict[str, xr.Variable] = {}
    data_vars: dict[str, xr.Variable] = {}
    for name, var in ds.variables.items():
        if not isinstance(name, str):
            raise InputTypeError(
                f"variable name {name!r} is not a string; netCDF names are strings"
            )
        target = coords if name in ds.coords else data_vars
        target.update(_encode_variable(name, var, taken))
    return xr.Dataset(data_vars, coords, encode_attrs(ds.attrs, "the dataset"))


def decode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Undo :func:`encode_dataset` on a Dataset read back from netCDF."""
    coords: dict[Hashable, xr.Variable] = {}
    data_vars: dict[Hashable, xr.Variable] = {}
    for name, var in ds.variables.items():
        target = coords if name in ds.coords else data_vars
        mark = var.attrs.get(VARIABLE_MARK)
        info = json.loads(mark) if mark is not None else {}
        if "complex_of" in info:
            if "real" in info:
                continue  # the imaginary part, joined to its real part below
            try:
                imag = ds.variables[info["imag"]]
            except KeyError:
                raise FileFormatError(
                    f"variable `{name}` is the real part of `{info['complex_of']}` but its "
                    f"imaginary part `{info['imag']}` is missing: the file is damaged"
                ) from None
            real_values = np.asarray(var.values)
            dtype = np.result_type(real_values.dtype, np.complex64)
            values = np.empty(real_values.shape, dtype=dtype)
            values.real, values.imag = real_values, np.asarray(imag.values)
            target[info["complex_of"]] = xr.Variable(var.dims, values, decode_attrs(var.attrs))
        elif "dtype" in info:
            values = np.asarray(var.values).astype(info["dtype"])
            target[name] = xr.Variable(var.dims, values, decode_attrs(var.attrs))
        else:
            target[name] = xr.Variable(var.dims, var.data, decode_attrs(var.attrs))
    return xr.Dataset(data_vars, coords, decode_attrs(ds.attrs))
