"""The summary of a critical-point graph as a string that displays itself in a notebook."""

from __future__ import annotations

import html

import networkx as nx
import numpy as np

from .._status import status_names
from ..display import html_table

__all__ = ["GraphSummary"]


class GraphSummary(str):
    """The text of :func:`dynsys.graph.graph_summary` (a ``str``: it prints, compares and joins
    as before) that a notebook displays as HTML: the headline, a table of the nodes, a table of
    the edges, and the full text.

    Examples
    --------
    >>> G = nx.DiGraph()
    >>> G.add_node(0, kind="minimum", index=0, energy=0.0)
    >>> s = GraphSummary.of(G, "critical-point graph: 1 nodes, 0 edges")
    >>> s == "critical-point graph: 1 nodes, 0 edges", "<td>minimum</td>" in s._repr_html_()
    (True, True)
    """

    _html: str

    @classmethod
    def of(cls, G: nx.DiGraph, text: str) -> GraphSummary:
        """The summary ``text`` of ``G``, with its HTML form."""
        out = cls(text)
        out._html = _graph_html(G, text)
        return out

    def _repr_html_(self) -> str:
        return getattr(self, "_html", f"<pre>{html.escape(str(self))}</pre>")


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _graph_html(G: nx.DiGraph, text: str) -> str:
    headline, _, rest = text.partition("\n")
    nodes = []
    for k, d in G.nodes(data=True):
        x = d.get("x")
        where = (
            "(" + ", ".join(f"{v:.6g}" for v in np.atleast_1d(x)) + ")"
            if x is not None and np.isfinite(np.atleast_1d(x)).all()
            else ""
        )
        nodes.append((k, str(d.get("kind", "")), d.get("index", ""), _num(d.get("energy")), where))
    edges = []
    for u, v, d in G.edges(data=True):
        status = str(status_names([d["status"]])[0]) if "status" in d else ""
        edges.append((u, v, status, _num(d.get("energy_drop"))))
    parts = [
        html_table(["node", "kind", "index", "energy", "x"], nodes, headline),
        html_table(["from", "to", "status", "energy drop"], edges, "edges"),
    ]
    if rest:
        parts.append(f"<details><summary>summary</summary><pre>{html.escape(rest)}</pre></details>")
    return '<div class="dynsys-graph-summary">' + "".join(parts) + "</div>"
