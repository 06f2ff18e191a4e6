"""The parts every bifurcation diagram shares: colours by index, special-point styles, and the
drawing of a branch as *tracks* (curves of a measure against the parameter) styled by stability.

A branch of equilibria has one track (the measure of the state); a branch of period-``k`` cycles
of a map has ``k`` (one per point of the cycle); a branch of periodic orbits of a flow has one (its
amplitude or period) or two (the largest and smallest value of a state over the period). Every
track of a branch shares the branch's stability and index, so it is cut into the same solid
(stable) and dashed (unstable) runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from dynsys import Status

from ._style import label_from_attrs

__all__ = [
    "CYCLE_COLORS",
    "INDEX_COLORS",
    "SPECIAL_NAMES",
    "SPECIAL_STYLE",
    "DiagramArtists",
    "LegendEntries",
    "Track",
    "cycle_color",
    "diagram_legend",
    "draw_tracks",
    "index_color",
    "param_label",
]

# equilibria by index: the Okabe-Ito palette (colour-blind safe), neighbours far apart in hue
INDEX_COLORS = ("#0072b2", "#e69f00", "#cc79a7", "#009e73", "#56b4e9", "#d55e00")
# periodic orbits of flows: Paul Tol's muted scheme, distinct from the equilibria's colours
CYCLE_COLORS = ("#117733", "#aa4499", "#882255", "#999933", "#44aa99", "#332288")
SPECIAL_STYLE = {
    "LP": {"marker": "s", "color": "#2c3e50"},
    "BP": {"marker": "o", "color": "#27ae60"},
    "H": {"marker": "^", "color": "#cc79a7"},
    "IC": {"marker": "D", "color": "#7f8c8d"},
    "CP": {"marker": "*", "color": "#d55e00"},
    "BT": {"marker": "P", "color": "#16a085"},
    "PD": {"marker": "v", "color": "#d35400"},
    "NS": {"marker": "h", "color": "#2980b9"},
    "LPC": {"marker": "s", "color": "#7f6000"},
    "GH": {"marker": "X", "color": "#b03a2e"},
    "ZH": {"marker": "d", "color": "#5d6d7e"},
    "HH": {"marker": "8", "color": "#6c3483"},
}
SPECIAL_NAMES = {
    "LP": "fold (LP)",
    "BP": "branch point (BP)",
    "H": "Hopf (H)",
    "IC": "index change (IC)",
    "CP": "cusp (CP)",
    "BT": "Bogdanov-Takens (BT)",
    "PD": "period doubling (PD)",
    "NS": "Neimark-Sacker (NS)",
    "LPC": "fold of cycles (LPC)",
    "GH": "generalised Hopf (GH)",
    "ZH": "zero-Hopf (ZH)",
    "HH": "double Hopf (HH)",
}


class DiagramArtists(NamedTuple):
    """What a drawing function drew: branch lines, special-point markers, their texts."""

    lines: list
    markers: list
    texts: list

    def __add__(self, other):  # type: ignore[override]
        return DiagramArtists(
            self.lines + other.lines, self.markers + other.markers, self.texts + other.texts
        )


class Track(NamedTuple):
    """One curve of a branch: the measure at every step and at every special point; ``text``:
    write the special points' types next to this track's markers."""

    values: np.ndarray
    special_values: np.ndarray
    text: bool = True


class LegendEntries:
    """What a diagram has drawn so far, for its legend: the indices of equilibria and points of
    maps (``points``), the indices of periodic orbits (``cycles``), the special types, whether
    stable and unstable parts were drawn (``stable``)."""

    def __init__(self) -> None:
        self.points: set[int] = set()
        self.cycles: set[int] = set()
        self.specials: set[str] = set()
        self.stable: set[bool] = set()


def index_color(index: int) -> str:
    """The colour of branch parts with ``index`` unstable directions.

    Examples
    --------
    >>> index_color(0), index_color(1)
    ('#0072b2', '#e69f00')
    """
    index = int(index)
    if index < 0:
        return "#7f8c8d"
    return INDEX_COLORS[min(index, len(INDEX_COLORS) - 1)]


def cycle_color(index: int) -> str:
    """The colour of the parts of a branch of periodic orbits with ``index`` Floquet multipliers
    outside the unit circle.

    Examples
    --------
    >>> cycle_color(0), cycle_color(1)
    ('#117733', '#aa4499')
    """
    index = int(index)
    if index < 0:
        return "#7f8c8d"
    return CYCLE_COLORS[min(index, len(CYCLE_COLORS) - 1)]


# ---------------------------------------------------------------------------- polylines
def _runs(keys: list) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` of equal keys."""
    runs, start = [], 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or keys[k] != keys[start]:
            runs.append((start, k))
            start = k
    return runs


def point_keys(stable: np.ndarray, index: np.ndarray, nullity: np.ndarray) -> list:
    """The style key ``(stable, index)`` of each point; a non-hyperbolic point (a special point
    on the grid) takes its successor's key, so one degenerate point makes no segment of its
    own."""
    keys = []
    for k in range(len(stable)):
        j = k + 1 if k + 1 < len(stable) and nullity[k] > 0 and nullity[k + 1] == 0 else k
        keys.append((bool(stable[j]), int(index[j])))
    return keys


def _vertices(p, values, keys, steps, sp, special_values):
    """The polyline of a track with its special points inserted where they lie between two
    steps, and the style key of each segment: a change of stability or index happens at the
    special point, not at the next step."""
    inside: dict[int, list[int]] = {}
    for row, k in enumerate(steps):
        if 0 <= k < len(p) - 1 and np.isfinite(sp[row]) and np.isfinite(special_values[row]):
            inside.setdefault(int(k), []).append(row)
    xs, ys, segment_keys = [], [], []
    for k in range(len(p)):
        xs.append(p[k])
        ys.append(values[k])
        if k == len(p) - 1:
            break
        segment_keys.append(keys[k])
        for row in inside.get(k, []):
            xs.append(sp[row])
            ys.append(special_values[row])
            segment_keys.append(keys[k + 1])
    if not segment_keys and keys:  # a single point
        segment_keys = [keys[0]]
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), segment_keys


def param_label(branch: xr.Dataset) -> str:
    """The name of a branch's continued parameter (an axis label)."""
    name = branch.attrs.get("continuation_param")
    return str(name) if name else label_from_attrs(branch["param"], "parameter")


def _located(status: xr.DataArray) -> list[bool]:
    """Whether each special point was located: its ``special_status`` is CONVERGED (files
    written before the status table hold the names "converged" / "guess")."""
    values = np.asarray(status.values).reshape(-1)
    if values.dtype.kind in "iu":
        return (values == Status.CONVERGED).tolist()
    return [str(v) == "converged" for v in values]


def _label_specials(ax, types, located, xs, ys, *, text: bool, seen: list | None):
    markers, texts = [], []
    for kind, ok, x, y in zip(types, located, xs, ys, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        style = SPECIAL_STYLE.get(kind, {"marker": "x", "color": "black"})
        guess = not ok
        (marker,) = ax.plot(
            [x],
            [y],
            linestyle="none",
            marker=style["marker"],
            markersize=8,
            markeredgecolor=style["color"],
            markerfacecolor="white" if guess else style["color"],
            markeredgewidth=1.5,
            zorder=6,
        )
        markers.append(marker)
        if not text:
            continue
        scale = max(abs(x), abs(y), 1.0)
        if seen is not None:
            if any(
                k == kind and abs(a - x) <= 1e-6 * scale and abs(b - y) <= 1e-6 * scale
                for k, a, b in seen
            ):
                continue
            seen.append((kind, x, y))
        texts.append(
            ax.annotate(
                kind + ("?" if guess else ""),
                (x, y),
                xytext=(5, 5),
                textcoords="offset points",
                fontsize="small",
                color=style["color"],
                zorder=7,
            )
        )
    return markers, texts


def draw_tracks(
    ax,
    branch: xr.Dataset,
    tracks: list[Track],
    keys: list,
    *,
    color_of,
    linewidth: float,
    label_specials: bool,
    seen: list | None,
    entries: LegendEntries | None = None,
    family: str = "points",
) -> DiagramArtists:
    """Draw the tracks of a branch, cut into runs of equal ``(stable, index)`` key: solid when
    stable, dashed when not, coloured by ``color_of(index)``; mark the special points on every
    track and write their types next to the tracks with ``text``. What is drawn is added to
    ``entries`` (indices under ``family``: "points" or "cycles")."""
    p = np.asarray(branch["param"].values, dtype=float)
    steps = np.asarray(branch["special_step"].values, dtype=int).reshape(-1)
    sp = np.asarray(branch["special_param"].values, dtype=float).reshape(-1)
    types = [str(t) for t in branch["special_type"].values]
    located = _located(branch["special_status"])
    drawn = DiagramArtists([], [], [])
    for track in tracks:
        xs, ys, segment_keys = _vertices(p, track.values, keys, steps, sp, track.special_values)
        lines = []
        for start, stop in _runs(segment_keys):
            part = slice(start, stop + 1)  # segments start..stop-1 join vertices start..stop
            is_stable, k = segment_keys[start]
            (line,) = ax.plot(
                xs[part],
                ys[part],
                color=color_of(k),
                linestyle="-" if is_stable else "--",
                linewidth=linewidth,
                zorder=3,
            )
            lines.append(line)
            if entries is not None:
                getattr(entries, family).add(int(k))
                entries.stable.add(bool(is_stable))
        markers, texts = _label_specials(
            ax,
            types,
            located,
            sp,
            np.asarray(track.special_values, dtype=float).reshape(-1),
            text=label_specials and track.text,
            seen=seen,
        )
        if entries is not None:
            entries.specials.update(
                t
                for t, x, y in zip(types, sp, track.special_values, strict=True)
                if np.isfinite(x) and np.isfinite(y)
            )
        drawn = drawn + DiagramArtists(lines, markers, texts)
    return drawn


def diagram_legend(ax, entries: LegendEntries):
    """One legend of what was drawn: labelled artists already on the axes (an orbit diagram
    underneath, say), the colours of the indices (equilibria and points of maps, then periodic
    orbits), stable and unstable, the special types."""
    handles = list(ax.get_legend_handles_labels()[0])
    handles += [
        Line2D([], [], color=index_color(k), label=f"index {k}") for k in sorted(entries.points)
    ]
    handles += [
        Line2D([], [], color=cycle_color(k), label=f"cycles, index {k}")
        for k in sorted(entries.cycles)
    ]
    handles += [
        Line2D([], [], color="black", linestyle=style, label=name)
        for flag, style, name in ((True, "-", "stable"), (False, "--", "unstable"))
        if flag in entries.stable
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=SPECIAL_STYLE[t]["marker"],
            color=SPECIAL_STYLE[t]["color"],
            label=SPECIAL_NAMES[t],
        )
        for t in SPECIAL_STYLE
        if t in entries.specials
    ]
    legend = ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)
    for handle in legend.legend_handles:  # tiny dots (an orbit diagram) must show in the key
        if isinstance(handle, Line2D) and handle.get_linestyle() == "None":
            handle.set_markersize(max(handle.get_markersize(), 5.0))
            handle.set_alpha(1.0)
    return legend


def _parameter_plane_curve(
    ax, curve: xr.Dataset, keys: list[bool], *, color, label, dashes: str, label_specials: bool
) -> DiagramArtists:
    """A curve of :func:`dynsys.continuation.continue_fold` or ``continue_hopf`` in the plane of
    its two parameters: segment ``k`` solid where ``keys[k]``, else in the line style ``dashes``;
    its special points marked (and labelled when ``label_specials``); the axes named after the
    two parameters unless named already."""
    p1 = np.asarray(curve["param"].values, dtype=float)
    p2 = np.asarray(curve["param2"].values, dtype=float)
    lines = []
    for start, stop in _runs(keys):
        part = slice(start, stop + 1)
        (line,) = ax.plot(
            p1[part],
            p2[part],
            color=color,
            linestyle="-" if keys[start] else dashes,
            linewidth=1.8,
            label=label if not lines else None,
        )
        lines.append(line)
    markers, texts = _label_specials(
        ax,
        [str(t) for t in curve["special_type"].values],
        _located(curve["special_status"]),
        np.asarray(curve["special_param"].values, dtype=float).reshape(-1),
        np.asarray(curve["special_param2"].values, dtype=float).reshape(-1),
        text=label_specials,
        seen=None,
    )
    attrs = curve.attrs
    if not ax.get_xlabel():
        ax.set_xlabel(str(attrs.get("continuation_param", "parameter 1")))
    if not ax.get_ylabel():
        ax.set_ylabel(str(attrs.get("continuation_param2", "parameter 2")))
    return DiagramArtists(lines, markers, texts)
