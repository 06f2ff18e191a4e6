"""Builders shared by every result Dataset: provenance attributes and the status variable.

Names here are part of the API (see DESIGN.md section 4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import xarray as xr

from ._status import status_attrs

__all__ = ["provenance", "split_complex", "status_variable"]

FORMAT_NAME = "dynsys"


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
