"""The house style of the pictures: a colour-blind-safe palette (Okabe-Ito), markers and colours
by kind of fixed point, colours of attractors, legends that list only what is drawn, and axis labels
from Dataset attributes."""

from __future__ import annotations

from typing import Any

from cycler import cycler

__all__ = [
    "ATTRACTOR_COLORS",
    "MAX_LEGEND_ENTRIES",
    "PALETTE",
    "RC",
    "attractor_color",
    "axes_or_current",
    "capped_legend",
    "kind_style",
    "label_from_attrs",
    "palette_color",
]

# Okabe & Ito (2008), "Color Universal Design": eight colours told apart under every common
# colour-vision deficiency. Black comes last (it is the colour of text and edges).
PALETTE = (
    "#0072b2",  # blue
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#d55e00",  # vermillion
    "#cc79a7",  # reddish purple
    "#56b4e9",  # sky blue
    "#f0e442",  # yellow
    "#000000",  # black
)

RC = {
    "axes.prop_cycle": cycler(color=list(PALETTE[:-1])),
    "font.family": "DejaVu Sans",
    "image.cmap": "cividis",
    "legend.fontsize": "small",
    "legend.framealpha": 0.9,
}
"""Matplotlib settings of the house style (``matplotlib.rcParams.update(RC)`` or
``matplotlib.rc_context(RC)``): the palette as the colour cycle, a font that ships with
matplotlib, a colour-blind-safe colour map."""

MAX_LEGEND_ENTRIES = 8
"""A legend longer than this ends with one "+N more" entry."""

_STABLE = {"marker": "o", "color": PALETTE[0], "markerfacecolor": PALETTE[0]}
_UNSTABLE = {"marker": "o", "color": PALETTE[3], "markerfacecolor": "white"}
_SADDLE = {"marker": "X", "color": PALETTE[1], "markerfacecolor": PALETTE[1]}
_SADDLE_FOCUS = {"marker": "P", "color": PALETTE[1], "markerfacecolor": "#f5cf7f"}
_CENTRE = {"marker": "D", "color": PALETTE[2], "markerfacecolor": "white"}
_DEGENERATE = {"marker": "s", "color": "#666666", "markerfacecolor": "#bbbbbb"}


def axes_or_current(ax):
    """``ax``, or pyplot's current Axes when ``ax`` is None.

    pyplot is imported only then: drawing on a given Axes (a ``Figure`` with the Agg canvas, as
    the command line does) does not pay for it.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def palette_color(k: int) -> str:
    """Colour ``k`` of the palette (repeating after the seven colours before black).

    Examples
    --------
    >>> palette_color(0), palette_color(7)
    ('#0072b2', '#0072b2')
    """
    return PALETTE[int(k) % (len(PALETTE) - 1)]


def kind_style(kind: str) -> dict[str, Any]:
    """Matplotlib line keywords for a fixed point of the given ``kind``.

    Stable points (sinks, minima) are filled blue circles, unstable ones (sources, maxima) open
    vermillion circles, saddles orange crosses (saddle foci plus signs), centres green diamonds,
    non-hyperbolic points grey squares. The kinds of maps' points and cycles are styled by what
    follows their "flip " or "focus " prefix.

    Examples
    --------
    >>> kind_style("saddle-1")["marker"], kind_style("flip saddle-1")["marker"]
    ('X', 'X')
    """
    k = str(kind).removeprefix("flip ").removeprefix("focus ")
    if k.startswith("sink") or k == "minimum":
        style = _STABLE
    elif k.startswith("source") or k == "maximum":
        style = _UNSTABLE
    elif k == "saddle focus":
        style = _SADDLE_FOCUS
    elif k.startswith("saddle"):
        style = _SADDLE
    elif k == "centre":
        style = _CENTRE
    else:
        style = _DEGENERATE
    return {**style, "linestyle": "none", "markersize": 9, "markeredgewidth": 1.5}


def label_from_attrs(variable, fallback: str = "") -> str:
    """An axis label from a variable's ``long_name`` and ``units`` attributes."""
    attrs = getattr(variable, "attrs", {}) or {}
    name = attrs.get("long_name") or getattr(variable, "name", None) or fallback
    units = attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


ATTRACTOR_COLORS = PALETTE[:-1]
"""One colour per attractor in a picture (the palette without black)."""


def attractor_color(row: int) -> str:
    """The colour of attractor ``row`` in pictures of attractors (repeating after seven).

    Examples
    --------
    >>> attractor_color(0), attractor_color(7)
    ('#0072b2', '#0072b2')
    """
    return ATTRACTOR_COLORS[int(row) % len(ATTRACTOR_COLORS)]


def capped_legend(ax, handles=None, labels=None, *, limit: int = MAX_LEGEND_ENTRIES, **kw):
    """A legend of at most ``limit`` entries: beyond that the first ``limit - 1`` and one
    "+N more" entry. Without ``handles``, those of ``ax`` (labelled artists); no legend if there
    are none.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = plt.figure().subplots()
    >>> for k in range(20):
    ...     _ = ax.plot([k], [k], "o", label=f"point {k}")
    >>> [t.get_text() for t in capped_legend(ax, limit=4).get_texts()]
    ['point 0', 'point 1', 'point 2', '+17 more']
    """
    from matplotlib.lines import Line2D

    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    elif labels is None:
        labels = [h.get_label() for h in handles]
    if not handles:
        return None
    handles, labels = list(handles), list(labels)
    if len(handles) > limit:
        rest = len(handles) - (limit - 1)
        handles = [*handles[: limit - 1], Line2D([], [], linestyle="none")]
        labels = [*labels[: limit - 1], f"+{rest} more"]
    return ax.legend(handles, labels, **{"fontsize": "small", "framealpha": 0.9, **kw})
