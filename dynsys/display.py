"""Results that display themselves: compact tables of a fixed-point result and a basin result.

The results of dynsys are :class:`xarray.Dataset` objects, whose own notebook display lists every
variable. :func:`summary` gives the table one reads first: a :class:`Summary`, which prints as
text and displays itself in a notebook as an HTML table (``_repr_html_``)::

    from dynsys.display import summary
    summary(find_fixed_points(system, seeds))   # point, state, kind, index, energy, ...
    summary(basin_probabilities(system, sampler, n=1000))  # attractor, fraction, interval

The summary of a critical-point graph is :func:`dynsys.graph.graph_summary`, which displays
itself the same way.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ._status import status_names
from .errors import InputTypeError

__all__ = ["Summary", "html_table", "summary"]


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"  # nan and inf print as such
    return str(value)


def html_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """An HTML table (header row, one row per item, escaped text), for ``_repr_html_``.

    Examples
    --------
    >>> html_table(["a", "b"], [[1, 0.5]], caption="x < y")
    '<table class="dynsys-summary"><caption>x &lt; y</caption><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>0.5</td></tr></tbody></table>'
    """  # noqa: E501
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="dynsys-summary">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str) -> str:
    cells = [list(columns)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([caption, *lines]) if caption else "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    """A table that prints as text and displays itself as HTML in a notebook.

    Attributes
    ----------
    caption : str
        One line that says what the table is.
    columns : tuple of str
        The column names.
    rows : tuple of tuple
        One tuple of cells per row.
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def __str__(self) -> str:
        return _text_table(self.columns, self.rows, self.caption)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return html_table(self.columns, self.rows, self.caption)


def _position(ds: xr.Dataset, name: str, i: int) -> str:
    values = np.atleast_1d(ds[name].values[i])
    return "(" + ", ".join(_cell(float(v)) for v in values) + ")"


def _fixed_points(ds: xr.Dataset) -> Summary:
    n = ds.sizes["point"]
    energy = "energy" in ds and bool(np.isfinite(ds["energy"].values).any())
    columns = ["point", "x", "kind", "index"] + (["energy"] if energy else []) + ["residual"]
    statuses = status_names(ds["status"].values) if "status" in ds else None
    if statuses is not None:
        columns.append("status")
    rows = []
    for i in range(n):
        row = [i, _position(ds, "x", i), str(ds["kind"].values[i]), int(ds["index"].values[i])]
        if energy:
            row.append(float(ds["energy"].values[i]))
        row.append(float(ds["residual"].values[i]))
        if statuses is not None:
            row.append(str(statuses[i]))
        rows.append(tuple(row))
    system = ds.attrs.get("system", "")
    names = ds.attrs.get("state_names", "")
    caption = f"{n} fixed point{'s' if n != 1 else ''}" + (f" of {system}" if system else "")
    if names:
        caption += f"; x = ({', '.join(str(names).split())})"
    return Summary(caption, tuple(columns), tuple(rows))


def _basins(ds: xr.Dataset) -> Summary:
    labels = ds["attractor"].values
    fraction = ds["fraction"]
    swept = [d for d in fraction.dims if d != "attractor"]
    columns = ["attractor", "kind"]
    has_x = "attractor_x" in ds and ds["attractor_x"].dims[0] == "attractor"
    if has_x:
        columns.append("x")
    if "attractor_role" in ds:
        columns.append("role")
    if swept:
        dim = swept[0]
        values = ds[dim].values if dim in ds.coords else np.arange(ds.sizes[dim])
        columns += [f"{dim} = {_cell(v)}" for v in values]
    else:
        columns += ["orbits", "fraction", "interval"]
    rows = []
    for i, label in enumerate(labels):
        row: list[Any] = [int(label), str(ds["attractor_kind"].values[i])]
        if has_x:
            x = ds["attractor_x"].values[i]
            row.append(_position(ds, "attractor_x", i) if np.isfinite(x).all() else "")
        if "attractor_role" in ds:
            row.append(str(ds["attractor_role"].values[i]))
        if swept:
            row += [float(v) for v in fraction.isel(attractor=i).transpose(swept[0]).values]
        else:
            low, high = float(ds["ci_low"].values[i]), float(ds["ci_high"].values[i])
            row += [
                int(ds["n_orbits"].values[i]),
                float(fraction.values[i]),
                f"[{_cell(low)}, {_cell(high)}]",
            ]
        rows.append(tuple(row))
    system = ds.attrs.get("system", "")
    what = "basin fractions" + (f" of {system}" if system else "")
    level = ds.attrs.get("confidence")
    if level is not None and not swept:
        what += f" with {100 * float(level):g}% Wilson intervals"
    return Summary(what, tuple(columns), tuple(rows))


def summary(result: xr.Dataset) -> Summary:
    """The compact table of a fixed-point result or a basin result.

    Parameters
    ----------
    result
        A Dataset from :func:`dynsys.find_fixed_points` (dim ``point``: one row per point) or
        from :func:`dynsys.basin_map`, :func:`dynsys.basin_probabilities` or
        :func:`dynsys.basin_probability_sweep` (dim ``attractor``: one row per attractor or
        outcome; a sweep has one fraction column per value).

    Returns
    -------
    Summary
        Prints as text; displays itself as an HTML table in a notebook.

    Raises
    ------
    InputTypeError
        If ``result`` is neither layout.

    Examples
    --------
    >>> from dynsys import find_fixed_points
    >>> from dynsys.models import double_well
    >>> points = find_fixed_points(double_well(), [[-0.9, 0.1], [0.1, 0.0], [1.2, -0.1]])
    >>> table = summary(points)
    >>> table.caption
    '3 fixed points of double_well; x = (x, y)'
    >>> table.columns
    ('point', 'x', 'kind', 'index', 'energy', 'residual', 'status')
    >>> sorted(row[2] for row in table.rows)
    ['minimum', 'minimum', 'saddle-1']
    """
    if not isinstance(result, xr.Dataset):
        raise InputTypeError(
            f"summary() takes a Dataset of fixed points or basins; got {type(result).__name__}. "
            "For a critical-point graph use dynsys.graph.graph_summary(G)."
        )
    if "point" in result.dims and {"x", "kind", "index"} <= set(result.data_vars):
        return _fixed_points(result)
    if "attractor" in result.dims and {"fraction", "attractor_kind"} <= set(result.data_vars):
        return _basins(result)
    raise InputTypeError(
        "summary() takes the Dataset of find_fixed_points (dim 'point') or of a basin "
        "computation (dim 'attractor'); this one has dims "
        f"{sorted(map(str, result.dims))}."
    )
