"""Markers and colours by kind of fixed point, colours of attractors, and axis labels from Dataset
attributes."""

from __future__ import annotations

from typing import Any

__all__ = ["ATTRACTOR_COLORS", "attractor_color", "kind_style", "label_from_attrs"]

_STABLE = {"marker": "o", "color": "#1f4e9c", "markerfacecolor": "#1f4e9c"}
_UNSTABLE = {"marker": "o", "color": "#c0392b", "markerfacecolor": "white"}
_SADDLE = {"marker": "X", "color": "#e67e22", "markerfacecolor": "#e67e22"}
_SADDLE_FOCUS = {"marker": "P", "color": "#d35400", "markerfacecolor": "#f5b041"}
_CENTRE = {"marker": "D", "color": "#16a085", "markerfacecolor": "white"}
_DEGENERATE = {"marker": "s", "color": "#7f8c8d", "markerfacecolor": "#bdc3c7"}


def kind_style(kind: str) -> dict[str, Any]:
    """Matplotlib line keywords for a fixed point of the given ``kind``.

    Stable points (sinks, minima) are filled blue circles, unstable ones (sources, maxima) open
    red circles, saddles orange crosses (saddle foci plus signs), centres green diamonds,
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


# Paul Tol's bright scheme (colour-blind safe), one colour per attractor in a picture
ATTRACTOR_COLORS = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb")


def attractor_color(row: int) -> str:
    """The colour of attractor ``row`` in pictures of attractors (repeating after seven).

    Examples
    --------
    >>> attractor_color(0), attractor_color(7)
    ('#4477aa', '#4477aa')
    """
    return ATTRACTOR_COLORS[int(row) % len(ATTRACTOR_COLORS)]
