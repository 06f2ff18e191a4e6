"""Builders shared by every result Dataset: provenance attributes and the status variable.

Names here are part of the API (see DESIGN.md section 4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from ._status import status_attrs

__all__ = ["datatree", "indexed_dataset", "provenance", "split_complex", "status_variable"]

FORMAT_NAME = "dynsys"
try:  # xarray's constructor without checks, and the helper it needs (both private to xarray)
    from xarray.core.variable import calculate_dimensions

    _SHORTCUT = hasattr(xr.Dataset, "_construct_direct")
except ImportError:  # pragma: no cover - another xarray: its public constructor
    _SHORTCUT = False


def provenance(system=None, **settings: Any) -> dict[str, Any]:
    """Attributes that say where a result came from.

    Includes the package name and version, a creation time, the system's name, kind, state names
    and parameter values (``param_<name>``), and every keyword given (tolerances, counters), with
    ``None`` values dropped and booleans stored as 0/1 (netCDF has no boolean attributes).

    Examples
    --------
    >>> from dynsys.models import lorenz
    >>> attrs = provenance(lorenz(), tol=1e-10)
    >>> attrs["system"], attrs["param_r"], attrs["tol"]
    ('lorenz', 28.0, 1e-10)
    """
    from ._version import __version__

    attrs: dict[str, Any] = {
        "created_by": FORMAT_NAME,
        "dynsys_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if system is not None:
        attrs.update(system.describe())
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        attrs[key] = value
    return attrs


def status_variable(codes, dims: str | tuple[str, ...]) -> xr.Variable:
    """An ``int8`` status variable with CF ``flag_values``/``flag_meanings`` attributes."""
    return xr.Variable(dims, np.asarray(codes, dtype=np.int8), attrs=status_attrs())


def split_complex(values, dims, name: str, long_name: str) -> dict[str, xr.Variable]:
    """Store complex ``values`` as ``<name>_real`` and ``<name>_imag`` (netCDF has no complex)."""
    values = np.asarray(values, dtype=complex)
    return {
        f"{name}_real": xr.Variable(
            dims, values.real, attrs={"long_name": f"{long_name}, real part"}
        ),
        f"{name}_imag": xr.Variable(
            dims, values.imag, attrs={"long_name": f"{long_name}, imaginary part"}
        ),
    }


def indexed_dataset(
    variables: dict[str, xr.Variable], coords: dict[str, Any], attrs: dict[str, Any]
) -> xr.Dataset:
    """``xr.Dataset(variables, coords=coords, attrs=attrs)`` for data variables that are
    ``xr.Variable`` already and coordinates that are 1-D, each on the dimension of its name: the
    same Dataset (variables in the same order, a pandas index for each coordinate, the same
    dtypes), built without the constructor's merge and alignment of arbitrary inputs (~0.3 ms of
    a ~0.5 ms Dataset of a dozen variables). The pandas index of coordinate values seen before
    (state names, modes, ends, steps: they repeat across branches) is shared with the earlier
    Datasets, as xarray's shallow copies share it (~25 us a coordinate).

    Examples
    --------
    >>> v = {"y": xr.Variable(("t", "s"), np.zeros((2, 1)))}
    >>> ds = indexed_dataset(v, {"t": [0.0, 1.0], "s": ["a"]}, {"note": 1})
    >>> ds.identical(xr.Dataset(v, coords={"t": [0.0, 1.0], "s": ["a"]}, attrs={"note": 1}))
    True
    """
    if not _SHORTCUT:  # an xarray without the shortcut: its constructor
        return xr.Dataset(variables, coords=coords, attrs=attrs)
    from xarray.indexes import PandasIndex

    out = dict(variables)
    indexes = {}
    for name, values in coords.items():
        array = np.asarray(values)
        if array.dtype.kind in _BY_VALUE:
            known = _pandas_index(name, array.dtype.str, array.shape, array.tobytes())
            index = PandasIndex(known, name, coord_dtype=array.dtype, fastpath=True)
        else:  # objects: their bytes are addresses, not values
            index = PandasIndex(array, name, coord_dtype=array.dtype)
        indexes[name] = index
        out.update(index.create_variables())
    return xr.Dataset._construct_direct(out, set(coords), calculate_dimensions(out), attrs, indexes)


_BY_VALUE = "biufcU"  # dtype kinds whose bytes are their values


@lru_cache(maxsize=64)
def _pandas_index(name: str, dtype: str, shape: tuple[int, ...], raw: bytes):
    """The pandas index (named ``name``) xarray makes of the coordinate values ``raw``."""
    from xarray.indexes import PandasIndex

    array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return PandasIndex(array, name, coord_dtype=array.dtype).index


def datatree(root: xr.Dataset, children: dict[str, xr.Dataset]) -> xr.DataTree:
    """The tree of a diagram: ``root`` (its attributes) with one child node per Dataset of
    ``children``, in their order, built with xarray's public API: a node per Dataset, attached
    through the ``children`` setter. (The constructor's ``children=`` copies every node once
    more, ~0.15 ms a child; the setter attaches the new nodes as they are. Putting the nodes
    together from xarray's private parts was measured and left out: the tree must not depend
    on xarray's internals.)

    Examples
    --------
    >>> child = xr.Dataset({"y": ("t", [1.0, 2.0])}, coords={"t": [0.0, 1.0]})
    >>> tree = datatree(xr.Dataset(attrs={"note": 1}), {"a": child})
    >>> tree.identical(xr.DataTree(xr.Dataset(attrs={"note": 1}), {"a": xr.DataTree(child)}))
    True
    """
    tree = xr.DataTree(root)
    tree.children = {name: xr.DataTree(ds) for name, ds in children.items()}
    return tree
