"""A critical-point graph as an xarray Dataset (for :func:`dynsys.io.save`) and as GraphML.

Dataset layout (see :func:`to_dataset`): dims ``node`` and ``edge``; each node attribute is a
variable over ``node`` (arrays add trailing dims), each edge attribute a variable over ``edge``;
``source(edge)`` and ``target(edge)`` give the end nodes. Arrays whose leading length varies from
item to item (edge trajectories, manifold members, the generators of a node's isotropy subgroup) are
padded (NaN for floats, -1 for integers) along a dim whose lengths are stored in ``n_<dim>``. Every
variable carries ``graph_role`` ("node" or "edge") and ``graph_attribute`` (the attribute name), so
names may differ from attributes (an edge attribute named like a node attribute is stored as
``edge_<name>``). An attribute missing on some items gets a boolean ``<variable>_present``.
``G.graph`` becomes the Dataset attributes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import xarray as xr

from ..errors import InputError, InputTypeError
from ..io import atomic_write_path, status_variable

__all__ = ["from_dataset", "read_graphml", "to_dataset", "write_graphml"]

# trailing dims of the attributes dynsys writes; others get "<variable>_dim<i>"
_DIMS = {
    ("node", "x"): ("state",),
    ("node", "eigenvalue_real"): ("mode",),
    ("node", "eigenvalue_imag"): ("mode",),
    ("node", "members"): ("member", "state"),
    ("node", "isotropy_generators"): ("generator", "state"),
    ("edge", "path"): ("sample", "state"),
    ("edge", "path_time"): ("sample",),
    ("edge", "path_energy"): ("sample",),
    ("edge", "route_path"): ("route", "route_sample", "state"),
    ("edge", "route_time"): ("route", "route_sample"),
    ("edge", "route_energy"): ("route", "route_sample"),
}
_RAGGED = ("member", "sample", "route", "generator")  # always given a size variable n_<dim>
_RESERVED = {"source", "target", "node", "edge"}


def _python(value: Any) -> Any:
    """NumPy scalars to Python scalars; arrays stay arrays."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray | list | tuple)


def _blank(shape: tuple[int, ...], dtype) -> np.ndarray:
    """Padding: NaN for floating dtypes, -1 for signed integers, zero (False, "") otherwise; the
    size and mask variables say which entries are real."""
    out = np.zeros(shape, dtype=dtype)
    if np.issubdtype(out.dtype, np.inexact):
        out[...] = np.nan
    elif np.issubdtype(out.dtype, np.signedinteger):
        out[...] = -1
    return out


def _column(role: str, name: str, values: list, present: np.ndarray, var: str, sizes: dict):
    """The variables holding one attribute over ``role``; records ragged lengths in ``sizes``."""
    attrs = {"graph_role": role, "graph_attribute": name}
    out: dict[str, xr.Variable] = {}
    rows = np.flatnonzero(present)
    given = [values[i] for i in rows]
    if any(_is_array(v) for v in given):
        arrays = [np.asarray(v) for v in given]
        ndim = {a.ndim for a in arrays}
        inner = {a.shape[1:] for a in arrays}
        if len(ndim) != 1 or 0 in ndim or len(inner) != 1:
            raise InputTypeError(
                f"{role} attribute {name!r} holds arrays of shapes "
                f"{sorted({a.shape for a in arrays})} (or scalars too); only the first axis may "
                "vary in length from item to item."
            )
        trailing = _DIMS.get((role, name), tuple(f"{var}_dim{i}" for i in range(ndim.pop())))
        lengths = np.zeros(len(values), dtype=np.int64)
        lengths[rows] = [a.shape[0] for a in arrays]
        data = _blank((len(values), int(lengths.max()), *inner.pop()), np.result_type(*arrays))
        for row, a in zip(rows, arrays, strict=True):
            data[row, : len(a)] = a
        first = trailing[0]
        if first in sizes and not np.array_equal(sizes[first][rows], lengths[rows]):
            raise InputError(
                f"{role} attribute {name!r} has other lengths than the attributes sharing its "
                f"dim {first!r}; they must agree item by item."
            )
        sizes[first] = np.where(present, lengths, sizes.get(first, lengths))
        out[var] = xr.Variable((role, *trailing), data, attrs)
    else:
        sample = np.array(given) if given else np.zeros(0)
        data = _blank((len(values),), sample.dtype)
        data[rows] = sample
        out[var] = xr.Variable(role, data, attrs)
    if not present.all():
        out[f"{var}_present"] = xr.Variable(
            role, present, {"graph_role": "mask", "graph_attribute": var}
        )
    return out


def _table(role: str, items: list[dict], taken: set[str]) -> dict[str, xr.Variable]:
    names: list[str] = []
    for attrs in items:
        names += [k for k in attrs if k not in names]
    out: dict[str, xr.Variable] = {}
    sizes: dict[str, np.ndarray] = {}
    for name in names:
        if not isinstance(name, str):
            raise InputTypeError(f"{role} attribute names must be strings; got {name!r}.")
        var = name if name not in taken and name not in _RESERVED else f"{role}_{name}"
        present = np.array([name in a for a in items], dtype=bool)
        values = [_python(a.get(name)) for a in items]
        out.update(_column(role, name, values, present, var, sizes))
    for dim, lengths in sizes.items():
        width = max(v.sizes[dim] for v in out.values() if dim in v.dims)
        if dim in _RAGGED or np.any(lengths != width):
            var = (
                f"n_{dim}"
                if f"n_{dim}" not in out and f"n_{dim}" not in taken
                else f"{role}_n_{dim}"
            )
            out[var] = xr.Variable(role, lengths, {"graph_role": "size", "graph_attribute": dim})
    return out


def to_dataset(G: nx.DiGraph) -> xr.Dataset:
    """Convert a graph to a Dataset (layout in :mod:`dynsys.graph`); save with
    :func:`dynsys.io.save`.

    Parameters
    ----------
    G : networkx.DiGraph
        Node ids must be integers or strings; attributes numbers, booleans, strings or NumPy
        arrays (the first axis may vary in length from item to item).

    Returns
    -------
    xarray.Dataset
        Dims ``node``, ``edge`` (and the trailing dims of array attributes: ``state``, ``mode``,
        ``member``, ``sample``); coordinates ``node`` (the node ids) and ``state`` (from
        ``G.graph["state_names"]``); ``source(edge)``, ``target(edge)``; one variable per
        attribute; ``n_member(node)``, ``n_sample(edge)`` for padded arrays.

    Raises
    ------
    dynsys.errors.InputTypeError
        If an attribute mixes arrays and scalars, or arrays differing beyond their first axis.

    Examples
    --------
    >>> import numpy as np
    >>> G = nx.DiGraph()
    >>> G.add_node(0, kind="minimum", x=np.array([1.0, 0.0]))
    >>> G.add_node(1, kind="saddle-1", x=np.array([0.0, 0.0]))
    >>> G.add_edge(1, 0, path=np.zeros((3, 2)))
    >>> ds = to_dataset(G)
    >>> ds["x"].dims, ds["path"].dims, ds["source"].values.tolist()
    (('node', 'state'), ('edge', 'sample', 'state'), [1])
    """
    nodes = list(G.nodes)
    position = {k: i for i, k in enumerate(nodes)}
    node_vars = _table("node", [G.nodes[k] for k in nodes], set())
    taken = set(node_vars)
    edge_vars = _table("edge", [d for _, _, d in G.edges(data=True)], taken)
    edges = list(G.edges)
    ids = np.array(nodes) if nodes else np.zeros(0, dtype=np.int64)
    data = {**node_vars, **edge_vars}
    data["source"] = xr.Variable(
        "edge",
        np.array([position[u] for u, _ in edges], dtype=np.int64),
        {"long_name": "position of the source node along `node`"},
    )
    data["target"] = xr.Variable(
        "edge",
        np.array([position[v] for _, v in edges], dtype=np.int64),
        {"long_name": "position of the target node along `node`"},
    )
    coords: dict[str, Any] = {"node": ids}
    names = str(G.graph.get("state_names", "")).split()
    n_state = next((v.sizes["state"] for v in data.values() if "state" in v.dims), None)
    if names and n_state == len(names):
        coords["state"] = names
    for name, var in edge_vars.items():
        if var.attrs.get("graph_attribute") == "status" and var.dims == ("edge",):
            # the edge outcomes: a CF flag variable of the one status table
            flags = status_variable(var.values, "edge")
            flags.attrs.update(var.attrs)
            data[name] = flags
    attrs = {k: _python(v) for k, v in G.graph.items()}
    attrs["dynsys_result"] = "critical_point_graph"
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _value(var: xr.Variable, row: int, size: int | None) -> Any:
    value = var.values[row]
    if var.ndim == 1:
        return _python(value)
    return np.array(value[:size] if size is not None else value)


def from_dataset(ds: xr.Dataset) -> nx.DiGraph:
    """Rebuild the graph from :func:`to_dataset`'s Dataset (also after save and load).

    Raises
    ------
    dynsys.errors.InputError
        If ``ds`` lacks ``source``/``target`` or a ``node`` dimension.

    Examples
    --------
    >>> import numpy as np
    >>> G = nx.DiGraph([(1, 0)])
    >>> G.nodes[0]["x"] = np.array([1.0, 2.0]); G.nodes[1]["x"] = np.array([0.0, 0.0])
    >>> H = from_dataset(to_dataset(G))
    >>> list(H.edges), H.nodes[0]["x"].tolist()
    ([(1, 0)], [1.0, 2.0])
    """
    if "source" not in ds or "target" not in ds or "node" not in ds.dims:
        raise InputError(
            "`ds` is not a critical-point graph Dataset: it needs dims `node`, `edge` and "
            "variables `source(edge)`, `target(edge)` (written by to_dataset())."
        )
    G = nx.DiGraph()
    G.graph.update({k: v for k, v in ds.attrs.items() if k != "dynsys_result"})
    ids = [_python(k) for k in ds["node"].values]
    sizes = {
        (v.dims[0], v.attrs["graph_attribute"]): v.values
        for v in ds.data_vars.values()
        if v.attrs.get("graph_role") == "size"
    }
    masks = {
        v.attrs["graph_attribute"]: v.values.astype(bool)
        for v in ds.data_vars.values()
        if v.attrs.get("graph_role") == "mask"
    }

    def rows(role: str, count: int) -> list[dict]:
        out: list[dict] = [{} for _ in range(count)]
        for var_name, var in ds.data_vars.items():
            if var.attrs.get("graph_role") != role:
                continue
            name = var.attrs.get("graph_attribute", var_name)
            lengths = sizes.get((role, var.dims[1])) if var.ndim > 1 else None
            mask = masks.get(var_name)
            for i in range(count):
                if mask is None or mask[i]:
                    size = None if lengths is None else int(lengths[i])
                    out[i][name] = _value(var.variable, i, size)
        return out

    for k, attrs in zip(ids, rows("node", len(ids)), strict=True):
        G.add_node(k, **attrs)
    sources, targets = ds["source"].values, ds["target"].values
    for u, v, attrs in zip(sources, targets, rows("edge", len(sources)), strict=True):
        G.add_edge(ids[int(u)], ids[int(v)], **attrs)
    return G


# ---------------------------------------------------------------------------- GraphML
_JSON_KEY = {
    "node": "json_node_attributes",
    "edge": "json_edge_attributes",
    "graph": "json_graph_attributes",
}


def _encode_array(value: np.ndarray) -> str:
    a = np.asarray(value)
    return json.dumps({"dtype": a.dtype.str, "shape": list(a.shape), "data": a.ravel().tolist()})


def _decode_array(text: str) -> np.ndarray:
    spec = json.loads(text)
    return np.array(spec["data"], dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])


def _encode_items(items, role: str, encoded: set) -> None:
    for attrs in items:
        for key, value in list(attrs.items()):
            value = _python(value)
            if isinstance(value, np.ndarray):
                attrs[key] = _encode_array(value)
                encoded.add(key)
            elif value is None or isinstance(value, list | tuple | dict):
                attrs[key] = json.dumps(value)
                encoded.add(key)
            else:
                attrs[key] = value


def write_graphml(G: nx.DiGraph, path: str | os.PathLike) -> Path:
    """Write the graph as GraphML for other tools (Gephi, Cytoscape, igraph), atomically.

    Scalars (numbers, booleans, strings) are GraphML attributes. Arrays (states, trajectories)
    are JSON strings ``{"dtype", "shape", "data"}`` (NaN written as ``NaN``), lists and ``None``
    plain JSON; the names of such attributes are listed in the graph attributes
    ``json_node_attributes``, ``json_edge_attributes`` and ``json_graph_attributes`` so that
    :func:`read_graphml` restores them exactly.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> G = nx.DiGraph([(1, 0)]); G.nodes[0]["x"] = np.array([1.0, np.nan])
    >>> path = write_graphml(G, os.path.join(tempfile.mkdtemp(), "g.graphml"))
    >>> read_graphml(path).nodes[0]["x"].tolist()
    [1.0, nan]
    """
    H = nx.DiGraph()
    H.add_nodes_from((k, dict(d)) for k, d in G.nodes(data=True))
    H.add_edges_from((u, v, dict(d)) for u, v, d in G.edges(data=True))
    encoded: dict[str, set] = {role: set() for role in _JSON_KEY}
    _encode_items([d for _, d in H.nodes(data=True)], "node", encoded["node"])
    _encode_items([d for _, _, d in H.edges(data=True)], "edge", encoded["edge"])
    graph_attrs = {k: v for k, v in G.graph.items() if k not in _JSON_KEY.values()}
    _encode_items([graph_attrs], "graph", encoded["graph"])
    H.graph.update(graph_attrs)
    for role, key in _JSON_KEY.items():
        H.graph[key] = json.dumps(sorted(encoded[role]))
    H.graph["node_id_type"] = "int" if all(isinstance(k, int) for k in G) else "str"
    target = Path(path)
    with atomic_write_path(target) as tmp:
        nx.write_graphml(H, tmp)
    return target


def read_graphml(path: str | os.PathLike) -> nx.DiGraph:
    """Read a graph written by :func:`write_graphml`, with arrays and node ids restored.

    Examples
    --------
    See :func:`write_graphml`.
    """
    H = nx.read_graphml(path)
    as_int = H.graph.pop("node_id_type", "str") == "int"
    for key in ("node_default", "edge_default"):  # added by networkx's reader
        H.graph.pop(key, None)
    G = nx.DiGraph()
    json_names = {role: set(json.loads(H.graph.pop(key, "[]"))) for role, key in _JSON_KEY.items()}

    def decode(attrs: dict, role: str) -> dict:
        out = {}
        for key, value in attrs.items():
            if key in json_names[role] and isinstance(value, str):
                parsed = json.loads(value)
                is_array = isinstance(parsed, dict) and set(parsed) == {"dtype", "shape", "data"}
                out[key] = _decode_array(value) if is_array else parsed
            else:
                out[key] = value
        return out

    G.graph.update(decode(H.graph, "graph"))
    for k, attrs in H.nodes(data=True):
        G.add_node(int(k) if as_int else k, **decode(attrs, "node"))
    for u, v, attrs in H.edges(data=True):
        G.add_edge(int(u) if as_int else u, int(v) if as_int else v, **decode(attrs, "edge"))
    return G
