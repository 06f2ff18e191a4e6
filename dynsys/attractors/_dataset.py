"""The Dataset of :func:`~dynsys.attractors.find_attractors`: seeds, the attractor table, cells."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance, split_complex, status_variable
from .._status import Status
from ._grid import CellGrid
from ._table import AttractorTable

__all__ = ["attractor_dataset"]


def _rows(values: list[np.ndarray], width: int, outcomes: int, dtype=float) -> np.ndarray:
    """Stack per-attractor vectors (None: unknown) padded to ``width``, NaN rows for outcomes."""
    fill = np.nan if dtype is float else np.nan + 0j
    out = np.full((len(values) + outcomes, width), fill, dtype=dtype)
    for j, v in enumerate(values):
        if v is not None:
            v = np.asarray(v).ravel()
            out[j, : v.size] = v
    return out


def attractor_dataset(system, p, seeds, result, table: AttractorTable, grid: CellGrid, options):
    """Assemble the result (see :func:`~dynsys.attractors.find_attractors`)."""
    n = system.n
    items = table.items
    m = len(items)
    labels = result["label"]
    outcomes = sorted({int(v) for v in labels if v < 0}, reverse=True)
    k = len(outcomes)
    coord = np.concatenate([np.arange(m), np.asarray(outcomes, dtype=np.int64)])
    counts = np.array([np.count_nonzero(labels == c) for c in coord], dtype=np.int64)
    names = [Status(-c).name.lower() for c in outcomes]
    a, s = "attractor", ("seed",)
    n_draw = max([len(item.samples) for item in items] or [0])
    drawn = np.full((m + k, n_draw, n), np.nan)
    for j, item in enumerate(items):
        drawn[j, : len(item.samples)] = item.samples
    low, high = np.full((m + k, n), np.nan), np.full((m + k, n), np.nan)
    for j, item in enumerate(items):
        low[j], high[j] = np.min(item.samples, axis=0), np.max(item.samples, axis=0)
    scalars = {
        "period": ("period (time of a flow, iterates of a map; NaN: none)", "period"),
        "period_error": ("spread of the return times the period comes from", "period_error"),
        "residual": (
            "|f| at a point, |g^q(x) - x| at a map cycle, return gap of a flow cycle",
            "residual",
        ),
    }
    data: dict[str, Any] = {
        "x0": xr.Variable((*s, "state"), seeds, {"long_name": "initial state"}),
        "x_final": xr.Variable((*s, "state"), result["x_final"], {"long_name": "last sample"}),
        "label": xr.Variable(
            s, labels, {"long_name": "attractor row (negative: minus the outcome code)"}
        ),
        "status": status_variable(result["status"], s),
        "n_samples": xr.Variable(s, result["n_samples"], {"long_name": "samples followed"}),
        "attractor_kind": xr.Variable(
            a,
            np.array([item.kind for item in items] + names, dtype=str),
            {"long_name": "point, cycle, chaotic, quasi-periodic, recurrent; or the outcome"},
        ),
        "attractor_x": xr.Variable(
            (a, "state"), _rows([item.x for item in items], n, k), {"long_name": "a point on it"}
        ),
        "attractor_lyapunov": xr.Variable(
            (a, "exponent"),
            _rows([item.lyapunov for item in items], n, k),
            {"long_name": "Lyapunov exponents, largest first (NaN: not computed)"},
        ),
        "attractor_lyapunov_stderr": xr.Variable(
            (a, "exponent"),
            _rows([item.lyapunov_stderr for item in items], n, k),
            {"long_name": "standard error of the Lyapunov exponents (0: exact)"},
        ),
        "attractor_lyapunov_method": xr.Variable(
            a,
            np.array([item.lyapunov_method for item in items] + [""] * k, dtype=str),
            {"long_name": "eigenvalues, multipliers, floquet or qr"},
        ),
        "attractor_low": xr.Variable((a, "state"), low, {"long_name": "bounding box, low"}),
        "attractor_high": xr.Variable((a, "state"), high, {"long_name": "bounding box, high"}),
        "attractor_section_normal": xr.Variable(
            (a, "state"),
            _rows([item.section_normal for item in items], n, k),
            {"long_name": "normal of the Poincare section of a flow's cycle"},
        ),
        "attractor_samples": xr.Variable(
            (a, "sample", "state"), drawn, {"long_name": "points on the attractor (NaN-padded)"}
        ),
        "attractor_n_cells": xr.Variable(
            a,
            np.array([len(item.cells) for item in items] + [0] * k, dtype=np.int64),
            {"long_name": "cells owned"},
        ),
        "attractor_note": xr.Variable(
            a,
            np.array(["; ".join(item.notes) for item in items] + [""] * k, dtype=str),
            {"long_name": "why a set is undecided, or a warning"},
        ),
        "n_seeds": xr.Variable(a, counts, {"long_name": "number of seeds"}),
        "fraction": xr.Variable(a, counts / len(labels), {"long_name": "fraction of seeds"}),
    }
    for name, (long_name, field) in scalars.items():
        values = [getattr(item, field) for item in items] + [np.nan] * k
        data[f"attractor_{name}"] = xr.Variable(
            a, np.array(values, dtype=float), {"long_name": long_name}
        )
    eig = _rows([item.eigenvalues for item in items], n, k, dtype=complex)
    data.update(
        split_complex(
            eig,
            (a, "mode"),
            "attractor_eigenvalue",
            "Jacobian eigenvalue (flow point) or multiplier",
        )
    )
    cells = [item.cells for item in items]
    data["cell_index"] = xr.Variable(
        ("cell", "state"),
        np.concatenate(cells).astype(np.int64) if cells else np.zeros((0, n), dtype=np.int64),
        {"long_name": "cell: floor((x - grid_origin) / cell_size)"},
    )
    data["cell_attractor"] = xr.Variable(
        "cell",
        np.repeat(np.arange(m), [len(c) for c in cells]).astype(np.int64),
        {"long_name": "the attractor that owns the cell"},
    )
    data["cell_size"] = xr.Variable("state", grid.cell_size, {"long_name": "edge of a cell"})
    data["grid_origin"] = xr.Variable("state", grid.origin, {"long_name": "corner of cell 0"})
    if grid.bounded:
        data["grid_low"] = xr.Variable("state", grid.low, {"long_name": "grid, lower corner"})
        data["grid_high"] = xr.Variable("state", grid.high, {"long_name": "grid, upper corner"})
    coords = {
        "seed": np.arange(len(labels)),
        "state": list(system.state_names),
        a: (a, coord, {"long_name": "label (negative: minus the outcome code)"}),
        "exponent": np.arange(n),
        "mode": np.arange(n),
    }
    attrs = provenance(
        system,
        **options.as_attrs(),
        **{f"param_{key}": float(v) for key, v in p.items()},
        dynamics="map" if system.is_map else "flow",
        n_attractors=m,
    )
    return xr.Dataset(data, coords=coords, attrs=attrs)
