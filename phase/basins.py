"""Pictures of basins: basin maps as images with the attractors drawn on them (points as
markers, cycles as closed curves, chaotic and other recurrent sets as point clouds), probability
bars with their intervals, and probability-versus-parameter curves (per attractor, or per type of
attractor: converging, cycling, chaotic, diverging, ...).

Every function takes a result of :mod:`dynsys.basins` and ``ax=None`` (then the current axes), and
returns a dict of what it drew.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from dynsys.basins import wilson_interval
from dynsys.errors import InputError

from ._style import PALETTE, capped_legend, kind_style, label_from_attrs

__all__ = ["basin_colors", "draw_basin_map", "draw_probabilities", "draw_probability_curves"]

_OUTCOME_COLORS = {-1: "#d5d8dc", -2: "#515a5a", -3: "#000000", -4: "#f5b7b1"}
# light tones of the Okabe-Ito palette (colour-blind safe) under the attractors' dark ones
_PALETTE = tuple(
    (*tuple(0.45 * c + 0.55 for c in to_rgba(color)[:3]), 1.0) for color in PALETTE[:-1]
) + tuple(to_rgba(color) for color in PALETTE[:-1])


def _require(ds: xr.Dataset, names, what: str) -> None:
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise InputError(f"the Dataset has no {missing}; pass a result of dynsys.basins.{what}.")


def basin_colors(attractors) -> dict[int, tuple]:
    """A colour per label: light tones for attractors ``0, 1, ...``, greys and black for the
    outcomes without one (-1 not converged, -2 escaped, -3 non-finite, -4 unmatched).

    Examples
    --------
    >>> colors = basin_colors([0, 1, -3])
    >>> len(colors), colors[-3]
    (3, (0.0, 0.0, 0.0, 1.0))
    """
    out = {}
    for a in np.asarray(attractors).tolist():
        if a < 0:
            out[a] = to_rgba(_OUTCOME_COLORS.get(a, "#7f8c8d"))
        else:
            out[a] = to_rgba(_PALETTE[a % len(_PALETTE)])
    return out


def _name(ds: xr.Dataset, a: int, index: dict | None = None) -> str:
    sel = {"attractor": a, **(index or {})}
    for var in ("attractor_role", "attractor_kind"):
        if var in ds:
            text = str(ds[var].sel(sel).values)
            if text:
                if text == "cycle" and "attractor_period" in ds:
                    period = float(ds["attractor_period"].sel(sel).values)
                    if np.isfinite(period):
                        text += f" (period {period:.6g})"
                return text
    return str(a)


def _type(ds: xr.Dataset, a: int) -> str:
    """point, cycle, chaotic, quasi-periodic, recurrent ("point" for results that predate the
    types; "" for an outcome)."""
    if a < 0:
        return ""
    if "attractor_type" not in ds:
        return "point"
    return str(ds["attractor_type"].sel(attractor=a).values)


def _dark(color) -> tuple:
    """A darker tone of a basin's colour, for the attractor drawn over its basin."""
    r, g, b, _ = to_rgba(color)
    return (0.5 * r, 0.5 * g, 0.5 * b, 1.0)


def _plane_coordinates(ds: xr.Dataset, points: np.ndarray) -> np.ndarray:
    """Least-squares coordinates ``(s, t)`` of states in the plane of a basin map."""
    base = ds["plane_base"].values
    dirs = ds["plane_direction"].values  # (2, n)
    st, *_ = np.linalg.lstsq(dirs.T, (points - base).T, rcond=None)
    return st.T


def draw_basin_map(
    ds: xr.Dataset, *, ax=None, attractors: bool = True, legend: bool = True, alpha: float = 0.9
):
    """Draw a basin map as an image, one colour per attractor, with the attractors drawn on it.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`dynsys.basins.basin_map`.
    ax : matplotlib Axes, optional
        Where to draw; the current axes by default.
    attractors : bool
        Draw the attractors, projected onto the grid's plane: points with the marker of their
        kind, cycles as closed curves (a map's cycle as its points joined in the order of the
        map), chaotic, quasi-periodic and undecided recurrent sets as clouds of their drawn
        points (``attractor_samples``), each in a dark tone of its basin's colour.
    legend : bool
        A legend of what is drawn: one patch per label that occurs in the image (label and
        kind or role), one marker per kind of point, one entry per cycle and per set; the
        attractors of no basin in the image (saddles and the like) are neither drawn nor
        listed, and a long legend ends in "+N more".
    alpha : float
        Opacity of the image.

    Returns
    -------
    dict
        ``"image"`` (the QuadMesh), ``"points"`` (Line2D per kind), ``"cycles"`` (Line2D per
        label), ``"sets"`` (PathCollection per label), ``"legend"`` (or None).

    Examples
    --------
    >>> from dynsys.basins import basin_map
    >>> from dynsys.models import double_well
    >>> ds = basin_map(double_well(), {"x": (-1.5, 1.5, 8), "y": (-1, 1, 5)})
    >>> drawn = draw_basin_map(ds)
    >>> drawn["image"].get_array().shape, sorted(drawn["points"]), drawn["cycles"]
    ((5, 8), ['minimum'], {})
    """
    _require(ds, ("label", "attractor", "plane_base"), "basin_map")
    ax = plt.gca() if ax is None else ax
    first, second = ds["label"].dims
    codes = ds["attractor"].values
    colors = basin_colors(codes)
    order = np.sort(codes)
    cmap = ListedColormap([colors[c] for c in order])
    norm = BoundaryNorm(np.concatenate([order - 0.5, [order[-1] + 0.5]]), cmap.N)
    image = ax.pcolormesh(
        ds[first].values,
        ds[second].values,
        ds["label"].values.T,
        cmap=cmap,
        norm=norm,
        shading="nearest",
        alpha=alpha,
        rasterized=True,
    )
    ax.set_xlabel(label_from_attrs(ds[first], first))
    ax.set_ylabel(label_from_attrs(ds[second], second))
    points: dict[str, Line2D] = {}
    cycles: dict[int, Line2D] = {}
    sets: dict[int, Any] = {}
    if attractors:
        present = set(np.unique(ds["label"].values).tolist())
        rows = [int(c) for c in codes if c >= 0 and int(c) in present]  # only basins in view
        types = {c: _type(ds, c) for c in rows}
        at_points = [c for c in rows if types[c] == "point"]
        if at_points:
            states = ds["attractor_x"].sel(attractor=at_points).values
            kinds = ds["attractor_kind"].sel(attractor=at_points).values
            st = _plane_coordinates(ds, states)
            for kind in dict.fromkeys(kinds.tolist()):
                mask = kinds == kind
                (line,) = ax.plot(st[mask, 0], st[mask, 1], label=kind, **kind_style(kind))
                points[kind] = line
        is_map = ds.attrs.get("dynamics") == "map"
        for c in rows:
            if types[c] == "point" or "attractor_samples" not in ds:
                continue
            drawn = ds["attractor_samples"].sel(attractor=c).values
            drawn = drawn[np.isfinite(drawn).all(axis=1)]
            if not len(drawn):
                continue
            st = _plane_coordinates(ds, drawn)
            name = f"{types[c]} {c}"
            if types[c] == "cycle":
                closed = np.concatenate([st, st[:1]])
                style = {"marker": "o", "markersize": 5} if is_map else {}
                (cycles[c],) = ax.plot(
                    closed[:, 0], closed[:, 1], color=_dark(colors[c]), lw=2, label=name, **style
                )
            else:
                sets[c] = ax.scatter(
                    st[:, 0], st[:, 1], s=3, color=_dark(colors[c]), label=name, rasterized=True
                )
    handle = None
    if legend:
        present = np.unique(ds["label"].values)
        patches = [
            Patch(color=colors[c], label=f"{c}: {_name(ds, int(c))}") for c in codes if c in present
        ]
        drawn_handles = list(points.values()) + list(cycles.values()) + list(sets.values())
        handle = capped_legend(ax, patches + drawn_handles, loc="best")
    return {"image": image, "points": points, "cycles": cycles, "sets": sets, "legend": handle}


def draw_probabilities(ds: xr.Dataset, *, ax=None, outcomes: bool = True, max_bars: int = 12):
    """Draw the probability of each attractor as a bar with its interval.

    Only what some orbit reached gets a bar: the fixed points no orbit reached (saddles and
    maxima given as candidates) are left out, and counted under the axis. Beyond ``max_bars``
    bars, the largest ``max_bars - 1`` are drawn and the rest summed in one "N others" bar.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`dynsys.basins.basin_probabilities` (or a basin map).
    ax : matplotlib Axes, optional
        Where to draw.
    outcomes : bool
        Also draw the outcomes without an attractor (negative labels).
    max_bars : int
        The most bars drawn.

    Returns
    -------
    dict
        ``"bars"`` (BarContainer) and ``"errorbars"`` (ErrorbarContainer).

    Examples
    --------
    >>> from dynsys.basins import UniformBox, basin_probabilities
    >>> from dynsys.models import double_well
    >>> ds = basin_probabilities(double_well(), UniformBox(-2.0, 2.0), 100, seed=0)
    >>> len(draw_probabilities(ds)["bars"])
    2
    """
    _require(ds, ("fraction", "ci_low", "ci_high"), "basin_probabilities")
    ax = plt.gca() if ax is None else ax
    sub = ds if outcomes else ds.sel(attractor=ds["attractor"] >= 0)
    hit = sub["fraction"].values > 0  # points no orbit reached (saddles, maxima): no bar
    unseen = int((~hit).sum())
    sub = sub.isel(attractor=np.flatnonzero(hit))
    codes = sub["attractor"].values
    fraction = sub["fraction"].values
    low, high = sub["ci_low"].values, sub["ci_high"].values
    names = [f"{c}: {_name(sub, int(c))}" for c in codes]
    colors = [basin_colors(codes)[c] for c in codes]
    rest = 0
    if len(codes) > max_bars:  # many attractors (a ring of equilibria): the largest, then the rest
        keep = np.sort(np.argsort(-fraction, kind="stable")[: max_bars - 1])
        drop = np.setdiff1d(np.arange(len(codes)), keep)
        rest = len(drop)
        total_rest = float(fraction[drop].sum())
        fraction = np.append(fraction[keep], total_rest)
        low = np.append(low[keep], total_rest)
        high = np.append(high[keep], total_rest)
        if "n_orbits" in sub and int(sub["n_orbits"].values.sum()):
            count = int(sub["n_orbits"].values[drop].sum())
            total = int(ds["n_orbits"].values.sum())
            level = float(ds.attrs.get("confidence", 0.95))
            low[-1], high[-1] = (float(v) for v in wilson_interval(count, total, confidence=level))
        names = [names[k] for k in keep] + [f"{rest} others"]
        colors = [colors[k] for k in keep] + ["#bbbbbb"]
    where = np.arange(len(fraction))
    bars = ax.bar(where, fraction, color=colors, edgecolor="#2c3e50")
    errors = ax.errorbar(
        where,
        fraction,
        yerr=[fraction - low, high - fraction],
        fmt="none",
        ecolor="#2c3e50",
        capsize=4,
    )
    ax.set_xticks(where, names, rotation=30, ha="right")
    if unseen:
        ax.set_xlabel(f"({unseen} reached by no orbit not shown)", fontsize="small")
    ax.set_ylim(0.0, 1.0)
    level = ds.attrs.get("confidence", 0.95)
    ax.set_ylabel(f"probability ({100 * level:g}% Wilson interval)")
    return {"bars": bars, "errorbars": errors}


_TYPE_NAMES = {
    "point": "converging (points)",
    "cycle": "cycling",
    "chaotic": "chaotic",
    "quasi-periodic": "quasi-periodic",
    "recurrent": "recurrent (undecided)",
    "escaped": "diverging (escaped)",
}
_TYPE_COLORS = {
    "point": PALETTE[0],
    "cycle": PALETTE[1],
    "chaotic": PALETTE[4],
    "quasi-periodic": PALETTE[2],
    "recurrent": "#888888",
    "escaped": PALETTE[7],
}


def _by_type(ds: xr.Dataset) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Fractions and Wilson intervals over the swept parameter, summed per attractor type (and
    per outcome, by its name): ``{group: (fraction, low, high)}``."""
    counts = ds["n_orbits"].values  # (param, attractor)
    total = counts.sum(axis=1)
    groups: dict[str, np.ndarray] = {}
    for j, a in enumerate(ds["attractor"].values.tolist()):
        if a >= 0:
            kinds = ds["attractor_type"].values[:, j] if "attractor_type" in ds else ["point"]
            name = next((str(k) for k in np.atleast_1d(kinds) if str(k)), "point")
        else:
            name = str(ds["attractor_kind"].values[0, j]) if ds["attractor_kind"].ndim == 2 else ""
            name = name or f"outcome {-a}"
        groups[name] = groups.get(name, 0) + counts[:, j]
    level = float(ds.attrs.get("confidence", 0.95))
    out = {}
    for name, k in groups.items():
        low, high = wilson_interval(k, total, confidence=level)
        out[name] = (k / np.maximum(total, 1), low, high)
    return out


def draw_probability_curves(
    ds: xr.Dataset, *, ax=None, attractors=None, band: bool = True, by: str = "attractor"
):
    """Draw the probability of each attractor against the swept parameter, with interval bands.

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :func:`dynsys.basins.basin_probability_sweep`.
    ax : matplotlib Axes, optional
        Where to draw.
    attractors : sequence of int, optional
        Labels to draw; all by default (``by="attractor"`` only).
    band : bool
        Shade the Wilson interval.
    by : {"attractor", "type"}
        One curve per attractor (its label), or one per type of attractor: the counts of all
        points, all cycles, all chaotic sets, ... and of each outcome without an attractor
        (``escaped``: diverging) summed at each value, with the Wilson interval of the sum.

    Returns
    -------
    dict
        ``"lines"`` (Line2D per label, or per type) and ``"bands"`` (PolyCollection per label
        or type).

    Examples
    --------
    >>> from dynsys.basins import SmallBall, basin_probability_sweep
    >>> from dynsys.models import pitchfork_normal_form
    >>> ds = basin_probability_sweep(pitchfork_normal_form(), "radius", [0.5, 1.0, 2.0],
    ...                              SmallBall(centre=0.5), 100, seed=0)
    >>> sorted(draw_probability_curves(ds)["lines"])
    [0, 1]
    >>> sorted(draw_probability_curves(ds, by="type")["lines"])
    ['point']
    """
    _require(ds, ("fraction", "param"), "basin_probability_sweep")
    if by not in ("attractor", "type"):
        raise InputError(f"`by` must be 'attractor' or 'type'; got {by!r}.")
    ax = plt.gca() if ax is None else ax
    x = ds["param"].values
    lines, bands = {}, {}
    if by == "type":
        for name, (fraction, low, high) in _by_type(ds).items():
            color = _TYPE_COLORS.get(name, "#515a5a")
            (lines[name],) = ax.plot(
                x,
                fraction,
                marker="o",
                color=color,
                markeredgecolor="#2c3e50",
                label=_TYPE_NAMES.get(name, name),
            )
            if band:
                bands[name] = ax.fill_between(x, low, high, color=color, alpha=0.3, linewidth=0)
    else:
        codes = ds["attractor"].values if attractors is None else np.asarray(attractors)
        if attractors is None:  # no curve for what no orbit reached at any value
            reached = ds["fraction"].transpose("attractor", ...).values.reshape(len(codes), -1)
            codes = codes[np.nanmax(reached, axis=1) > 0]
        colors = basin_colors(codes)
        for c in codes.tolist():
            row = ds.sel(attractor=c)
            names = [_name(ds, c, {"param": p}) for p in x]
            text = next((n for n in names if n), str(c))
            color = colors[c] if c >= 0 else "#515a5a"
            (lines[c],) = ax.plot(
                x,
                row["fraction"].values,
                marker="o",
                color=color,
                markeredgecolor="#2c3e50",
                label=f"{c}: {text}",
            )
            if band:
                bands[c] = ax.fill_between(
                    x,
                    row["ci_low"].values,
                    row["ci_high"].values,
                    color=color,
                    alpha=0.3,
                    linewidth=0,
                )
    ax.set_xlabel(label_from_attrs(ds["param"], ds.attrs.get("param_name", "param")))
    ax.set_ylabel("probability")
    ax.set_ylim(0.0, 1.0)
    capped_legend(ax, list(lines.values()), loc="best")
    return {"lines": lines, "bands": bands}
