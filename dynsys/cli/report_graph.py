"""The interactive view of a critical-point graph in a run's report (:mod:`dynsys.cli.report`).

:func:`graph_view` draws the graph of a ``graph.nc`` Dataset as inline SVG, laid out on the
first two state coordinates (two states), on ``(x, energy)`` (one state) or on the two principal
axes of the nodes (more states): each edge is its trajectory drawn as a polyline, each node a
circle coloured by kind. Inline JavaScript (no library, nothing fetched, works offline) shows a
tooltip when a node is hovered (coordinates, energy, index, eigenvalues) and a panel when an
edge is clicked (its barrier ``E(saddle) - E(end)``, status, length and the path's states). The
data of the view is embedded as JSON in a ``<script type="application/json">`` element with
every ``<``, ``>`` and ``&`` written as a JSON ``\\u`` escape, so no text in it can end the
element.
"""

from __future__ import annotations

import html
import json
import math

import numpy as np
import xarray as xr

from .report_tables import fmt

__all__ = ["embed_json", "graph_view"]

WIDTH, HEIGHT, MARGIN, LEFT, SIDE = 760, 520, 48, 88, 110
_COLOURS = {
    "minimum": "#1f77b4",
    "maximum": "#9467bd",
    "escape": "#7f7f7f",
    "unresolved": "#bcbd22",
}


def embed_json(data) -> str:
    """JSON text safe inside an HTML ``<script>`` element: non-finite numbers become ``null``,
    and ``<``, ``>``, ``&`` are ``\\u`` escapes (so ``</script>`` can never appear).

    Examples
    --------
    >>> embed_json({"a": "</script>", "b": float("nan")})
    '{"a": "\\\\u003c/script\\\\u003e", "b": null}'
    """

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    text = json.dumps(clean(data), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _colour(kind: str) -> str:
    if kind in _COLOURS:
        return _COLOURS[kind]
    return "#d62728" if kind.startswith("saddle") else "#2ca02c"


def _projection(ds: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """A matrix ``P`` (n, 2) and axis labels: positions are ``x @ P`` (states beyond one)."""
    X = np.asarray(ds["x"].values, dtype=float)
    n = X.shape[1]
    names = (
        [str(s) for s in ds["state"].values]
        if "state" in ds.coords
        else [f"x{i}" for i in range(n)]
    )
    if n == 2:
        return np.eye(2), names
    finite = X[np.isfinite(X).all(axis=1)]
    if len(finite) >= 3:
        _, s, vt = np.linalg.svd(finite - finite.mean(axis=0), full_matrices=False)
        if len(s) >= 2 and s[1] > 1e-12 * max(s[0], 1e-300):
            return vt[:2].T, ["principal axis 1", "principal axis 2"]
    return np.eye(n)[:, :2], names[:2]


def _positions(ds: xr.Dataset):
    """Plane coordinates of the nodes (n_node, 2) and the edge paths (list of (p, 2)), and the
    axis labels."""
    X = np.asarray(ds["x"].values, dtype=float)
    n_edge = ds.sizes.get("edge", 0)
    paths = []
    for e in range(n_edge):
        if "path" in ds:
            P = np.asarray(ds["path"].values[e], dtype=float)
            P = P[np.isfinite(P).all(axis=1)]
        else:
            P = np.zeros((0, X.shape[1]))
        paths.append(P)
    if X.shape[1] == 1:
        energy = np.asarray(ds["energy"].values, dtype=float) if "energy" in ds else None
        if energy is not None and np.isfinite(energy).any():
            nodes = np.column_stack([X[:, 0], energy])
            out = []
            for e, P in enumerate(paths):
                E = (
                    np.asarray(ds["path_energy"].values[e], dtype=float)
                    if ("path_energy" in ds)
                    else np.full(len(P), np.nan)
                )
                E = E[np.isfinite(E)][: len(P)]
                out.append(np.column_stack([P[: len(E), 0], E]))
            return (
                nodes,
                out,
                [str(ds["state"].values[0]) if "state" in ds.coords else "x", "energy"],
            )
        return (
            np.column_stack([X[:, 0], np.zeros(len(X))]),
            [np.column_stack([P[:, 0], np.zeros(len(P))]) for P in paths],
            ["x", ""],
        )
    proj, labels = _projection(ds)
    return X @ proj, [P @ proj for P in paths], labels


class _Frame:
    """Data coordinates to SVG pixels in the plot area (y up); non-finite points go to the
    column on the right."""

    def __init__(self, points: np.ndarray) -> None:
        finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
        if len(finite):
            low, high = finite.min(axis=0), finite.max(axis=0)
        else:
            low, high = np.zeros(2), np.ones(2)
        span = np.where(high - low > 0, high - low, np.maximum(np.abs(high), 1.0))
        self.low = low - 0.08 * span
        self.high = high + 0.08 * span
        self.right = WIDTH - SIDE

    def __call__(self, p) -> tuple[float, float]:
        u = (p[0] - self.low[0]) / (self.high[0] - self.low[0])
        v = (p[1] - self.low[1]) / (self.high[1] - self.low[1])
        return (LEFT + u * (self.right - LEFT), HEIGHT - MARGIN - v * (HEIGHT - 2 * MARGIN))


def _node_record(ds: xr.Dataset, k: int, names: list[str]) -> dict:
    record = {
        "id": fmt(ds["node"].values[k]),
        "kind": fmt(ds["kind"].values[k]) if "kind" in ds else "",
        "index": int(ds["index"].values[k]) if "index" in ds else None,
        "energy": float(ds["energy"].values[k]) if "energy" in ds else None,
        "x": {n: float(v) for n, v in zip(names, ds["x"].values[k], strict=True)},
    }
    if "eigenvalue_real" in ds:
        real = np.asarray(ds["eigenvalue_real"].values[k], dtype=float)
        imag = (
            np.asarray(ds["eigenvalue_imag"].values[k], dtype=float)
            if ("eigenvalue_imag" in ds)
            else np.zeros_like(real)
        )
        record["eigenvalues"] = [
            fmt(r) if abs(i) < 1e-14 else f"{fmt(r)}{'+' if i >= 0 else '-'}{fmt(abs(i))}i"
            for r, i in zip(real, imag, strict=True)
            if np.isfinite(r)
        ]
    return record


def _edge_record(ds: xr.Dataset, e: int, ids: list[str], names: list[str]) -> dict:
    from .. import Status

    s, t = int(ds["source"].values[e]), int(ds["target"].values[e])
    path = []
    if "path" in ds:
        P = np.asarray(ds["path"].values[e], dtype=float)
        path = [[float(v) for v in row] for row in P[np.isfinite(P).all(axis=1)]]
    energy = []
    if "path_energy" in ds:
        E = np.asarray(ds["path_energy"].values[e], dtype=float)
        energy = [float(v) for v in E[np.isfinite(E)]]
    return {
        "id": e,
        "source": ids[s],
        "target": ids[t],
        "barrier": float(ds["energy_drop"].values[e]) if "energy_drop" in ds else None,
        "status": Status(int(ds["status"].values[e])).name.lower() if "status" in ds else "",
        "arc_length": float(ds["arc_length"].values[e]) if "arc_length" in ds else None,
        "states": names,
        "path": path,
        "path_energy": energy,
    }


def _svg(ds: xr.Dataset, frame: _Frame, nodes: np.ndarray, paths: list, labels: list) -> str:
    ids = [fmt(v) for v in ds["node"].values]
    kinds = [fmt(v) for v in ds["kind"].values] if "kind" in ds else [""] * len(ids)
    parts = [
        (
            f'<svg id="graph-svg" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="critical-point graph">'
        ),
        (
            f'<rect x="{LEFT}" y="{MARGIN}" width="{frame.right - LEFT}" '
            f'height="{HEIGHT - 2 * MARGIN}" class="frame"/>'
        ),
        (
            f'<text x="{(LEFT + frame.right) / 2:.1f}" y="{HEIGHT - 12}" class="axis">'
            f"{html.escape(labels[0])}</text>"
        ),
        (
            f'<text x="14" y="{HEIGHT / 2:.1f}" class="axis" transform="rotate(-90 14 '
            f'{HEIGHT / 2:.1f})">{html.escape(labels[1])}</text>'
        ),
    ]
    for value, anchor in ((frame.low, "start"), (frame.high, "end")):
        x = LEFT if anchor == "start" else frame.right
        parts.append(
            f'<text x="{x}" y="{HEIGHT - MARGIN + 14}" class="tick" '
            f'text-anchor="{anchor}">{html.escape(fmt(value[0]))}</text>'
        )
        y = HEIGHT - MARGIN if anchor == "start" else MARGIN + 10
        parts.append(
            f'<text x="{LEFT - 4}" y="{y}" class="tick" text-anchor="end">'
            f"{html.escape(fmt(value[1]))}</text>"
        )
    # nodes without a finite position (escape, unresolved) stand in the right column
    spots = {}
    free = 0
    for k, p in enumerate(nodes):
        if np.isfinite(p).all():
            spots[k] = frame(p)
        else:
            spots[k] = (WIDTH - SIDE / 2, MARGIN + 30 + 50 * free)
            free += 1
    for e, P in enumerate(paths):
        s, t = int(ds["source"].values[e]), int(ds["target"].values[e])
        pixels = [frame(p) for p in P] if len(P) else [spots[s]]
        if not len(P) or not np.isfinite(nodes[t]).all():
            pixels.append(spots[t])
        if len(pixels) == 1:
            pixels.append(spots[s])
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pixels)
        title = f"edge {e}: {ids[s]} -> {ids[t]}"
        parts.append(
            f'<g class="edge" id="graph-edge-{e}" data-edge="{e}" tabindex="0">'
            f"<title>{html.escape(title)}</title>"
            f'<polyline class="edge-hit" points="{points}"/>'
            f'<polyline class="edge-line" points="{points}"/></g>'
        )
    for k in range(len(ids)):
        x, y = spots[k]
        parts.append(
            f'<g class="node" id="graph-node-{k}" data-node="{k}" tabindex="0">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{_colour(kinds[k])}"/>'
            f'<text x="{x + 9:.1f}" y="{y - 8:.1f}" class="label">{html.escape(ids[k])}</text>'
            "</g>"
        )
    legend = sorted(set(kinds))
    for i, kind in enumerate(legend[:8]):
        y = HEIGHT - MARGIN - 16 * (len(legend[:8]) - 1 - i)
        parts.append(
            f'<circle cx="{WIDTH - SIDE + 16}" cy="{y - 4}" r="5" '
            f'fill="{_colour(kind)}"/><text x="{WIDTH - SIDE + 26}" y="{y}" '
            f'class="tick">{html.escape(kind)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var tip = document.getElementById("graph-tooltip");
  var panel = document.getElementById("graph-detail");
  var box = document.getElementById("graph-view");
  function num(v) {
    if (v === null || v === undefined) { return "n/a"; }
    if (typeof v !== "number") { return String(v); }
    var r = Math.abs(v) < 1e-12 ? 0 : v;
    return String(Number(r.toPrecision(6)));
  }
  function put(parent, tag, text) {
    var el = document.createElement(tag);
    el.textContent = text;
    parent.appendChild(el);
    return el;
  }
  function nodeText(n) {
    var coords = Object.keys(n.x).map(function (k) { return k + " = " + num(n.x[k]); });
    return ["node " + n.id + " (" + n.kind + ")", "coordinates: " + coords.join(", "),
            "energy: " + num(n.energy), "index: " + num(n.index),
            "eigenvalues: " + (n.eigenvalues || []).join(", ")];
  }
  function showTip(ev, k) {
    tip.textContent = "";
    nodeText(data.nodes[k]).forEach(function (line) { put(tip, "div", line); });
    var r = box.getBoundingClientRect();
    tip.style.left = (ev.clientX - r.left + 14) + "px";
    tip.style.top = (ev.clientY - r.top + 14) + "px";
    tip.hidden = false;
  }
  function showEdge(e) {
    var d = data.edges[e];
    panel.textContent = "";
    put(panel, "h4", "edge " + d.id + ": saddle " + d.source + " \u2192 " + d.target);
    put(panel, "p", "barrier E(saddle) - E(end): " + num(d.barrier)).className = "barrier";
    put(panel, "p", "status: " + d.status + "; arc length: " + num(d.arc_length) +
        "; " + d.path.length + " states on the path (drawn as the highlighted line)");
    var table = put(panel, "table", "");
    var head = table.insertRow();
    ["#"].concat(d.states, d.path_energy.length ? ["energy"] : []).forEach(function (h) {
      put(head, "th", h);
    });
    var step = Math.max(1, Math.ceil(d.path.length / 12));
    for (var i = 0; i < d.path.length; i += step) {
      var row = table.insertRow();
      put(row, "td", String(i));
      d.path[i].forEach(function (v) { put(row, "td", num(v)); });
      if (d.path_energy.length) { put(row, "td", num(d.path_energy[i])); }
    }
    document.querySelectorAll("#graph-svg .edge").forEach(function (g) {
      g.classList.toggle("selected", g.getAttribute("data-edge") === String(e));
    });
  }
  document.querySelectorAll("#graph-svg .node").forEach(function (g) {
    var k = Number(g.getAttribute("data-node"));
    g.addEventListener("mouseover", function (ev) { showTip(ev, k); });
    g.addEventListener("focus", function () {
      var r = g.getBoundingClientRect();
      showTip({clientX: r.left, clientY: r.top}, k);
    });
    g.addEventListener("mouseout", function () { tip.hidden = true; });
    g.addEventListener("blur", function () { tip.hidden = true; });
  });
  document.querySelectorAll("#graph-svg .edge").forEach(function (g) {
    var e = Number(g.getAttribute("data-edge"));
    g.addEventListener("click", function () { showEdge(e); });
    g.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { showEdge(e); }
    });
  });
})();
"""


def graph_view(ds: xr.Dataset) -> str:
    """The HTML of the interactive view of a critical-point graph Dataset (``graph.nc``).

    Parameters
    ----------
    ds : xarray.Dataset
        As written by :func:`dynsys.graph.to_dataset`.

    Returns
    -------
    str
        A ``<div id="graph-view">`` with the SVG, the tooltip, the edge panel, the embedded data
        and the script; empty when the graph has no nodes.

    Examples
    --------
    >>> ds = xr.Dataset({"x": (("node", "state"), [[-1.0, 0.0], [0.0, 0.0]]),
    ...                  "kind": ("node", ["minimum", "saddle-1"]), "index": ("node", [0, 1]),
    ...                  "energy": ("node", [0.0, 0.25]), "energy_drop": ("edge", [0.25]),
    ...                  "source": ("edge", [1]), "target": ("edge", [0])},
    ...                 coords={"node": [0, 1], "state": ["x", "y"]})
    >>> view = graph_view(ds)
    >>> view.count('class="node"'), view.count('class="edge"'), "http" in view
    (2, 1, False)
    """
    if not ds.sizes.get("node", 0) or "x" not in ds:
        return ""
    nodes, paths, labels = _positions(ds)
    every = np.vstack([nodes, *[P for P in paths if len(P)]]) if paths else nodes
    frame = _Frame(every)
    names = (
        [str(s) for s in ds["state"].values]
        if "state" in ds.coords
        else [f"x{i}" for i in range(ds["x"].shape[1])]
    )
    ids = [fmt(v) for v in ds["node"].values]
    data = {
        "nodes": [_node_record(ds, k, names) for k in range(len(ids))],
        "edges": [_edge_record(ds, e, ids, names) for e in range(ds.sizes.get("edge", 0))],
    }
    return (
        '<div id="graph-view" class="graph-view">'
        + _svg(ds, frame, nodes, paths, labels)
        + '<div id="graph-tooltip" class="tooltip" role="tooltip" hidden></div>'
        + '<div id="graph-detail" class="detail" aria-live="polite">'
        "<p>Hover a node for its coordinates, energy, index and eigenvalues; click an edge "
        "(a trajectory) for its barrier and path.</p></div>"
        + f'<script type="application/json" id="graph-data">{embed_json(data)}</script>'
        + f"<script>{_SCRIPT}</script></div>"
    )
