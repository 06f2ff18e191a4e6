"""Pictures of periodic orbits of flows: one cycle in the phase plane, branches of cycles in a
bifurcation diagram, the cycles of a branch overlaid.

Floquet multipliers are drawn by :func:`phase.multipliers.draw_floquet_multipliers`. Cycles come
from :func:`dynsys.cycles.find_periodic_orbit` (one cycle) and
:func:`dynsys.continuation.continue_cycle` (a branch). A stable cycle (every nontrivial Floquet
multiplier inside the unit circle) is drawn solid, an unstable one dashed; along a branch the
colour gives the index, the number of multipliers outside the unit circle, in the colours of
:func:`phase.bifurcation.cycle_color` (distinct from those of equilibria). Special points of a
branch (LPC fold of cycles, PD period doubling, NS Neimark-Sacker, BP branch point, H the Hopf
end) carry the markers of :data:`phase.bifurcation.SPECIAL_STYLE`.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from dynsys.errors import InputError

from ._diagram import (
    SPECIAL_NAMES,
    SPECIAL_STYLE,
    DiagramArtists,
    LegendEntries,
    Track,
    cycle_color,
    diagram_legend,
    draw_tracks,
    param_label,
    point_keys,
)
from ._kinds import require
from ._measures import Measure, branch_context, evaluate, periodic_extremes, state_index
from ._plane import label_plane, plane_indices
from ._style import axes_or_current

__all__ = [
    "FamilyArtists",
    "OrbitArtists",
    "draw_cycle_branch",
    "draw_cycle_family",
    "draw_periodic_orbit",
]

NEUTRAL_TOL = 1e-6  # a nontrivial multiplier this close to the unit circle is neutral
CYCLE_KEYWORDS = ("amplitude", "period")


class OrbitArtists(NamedTuple):
    """What :func:`draw_periodic_orbit` drew: the closed curve, the marker at ``t = 0`` (or
    None), the arrow showing the direction of motion (or None)."""

    line: Line2D
    start: Line2D | None
    arrow: Any


class FamilyArtists(NamedTuple):
    """What :func:`draw_cycle_family` drew: the cycles (one LineCollection), the colour bar (or
    None) and the special cycles (lines and markers)."""

    lines: LineCollection
    colorbar: Any
    specials: list


# ---------------------------------------------------------------------------- data
def _multipliers(ds: xr.Dataset) -> np.ndarray:
    return np.asarray(ds["multiplier_real"].values) + 1j * np.asarray(ds["multiplier_imag"].values)


def _unstable_count(ds: xr.Dataset) -> np.ndarray:
    if "unstable_multipliers" in ds:
        return np.asarray(ds["unstable_multipliers"].values, dtype=int)
    if "index" in ds:
        return np.asarray(ds["index"].values, dtype=int)
    return np.sum(np.abs(_multipliers(ds)) > 1.0 + NEUTRAL_TOL, axis=-1)


def _cycle_keys(branch: xr.Dataset) -> list:
    """The style key ``(stable, index)`` of each step of a branch of cycles; a step with a
    multiplier on the unit circle (the zero-amplitude cycle at a Hopf end, a fold of cycles on
    the grid) takes its successor's key."""
    modulus = np.abs(_multipliers(branch))
    nullity = np.sum(np.abs(modulus - 1.0) <= NEUTRAL_TOL, axis=-1)
    return point_keys(
        np.asarray(branch["stable"].values, dtype=bool), _unstable_count(branch), nullity
    )


def _names(ds: xr.Dataset) -> list[str]:
    return [str(s) for s in ds["state"].values]


def _cycle_tracks(
    branch: xr.Dataset, measure: Measure = "amplitude", *, system=None
) -> tuple[list[Track], str, bool]:
    """The tracks of a branch of cycles for a measure, an axis label, and whether the tracks
    are a max/min envelope.

    ``"amplitude"`` and ``"period"`` give one track; a state (name or index, None for the
    first) gives two, its largest and smallest value over each cycle; ``"norm"``, ``"loss"`` or
    a callable give the largest and smallest value of that measure over each cycle.
    """
    names = _names(branch)
    n = len(names)
    if isinstance(measure, str) and measure in CYCLE_KEYWORDS:
        label = "period" if measure == "period" else f"amplitude (max - min of {names[0]})"
        values = np.asarray(branch[measure].values, dtype=float)
        special = np.asarray(branch[f"special_{measure}"].values, dtype=float).reshape(-1)
        return [Track(values, special)], label, False
    stau = np.asarray(branch["special_tau"].values, dtype=float)
    S = np.asarray(branch["special_x"].values, dtype=float)
    k = state_index(0 if measure is None else measure, names, n)
    if k is not None:
        high, low = periodic_extremes(S[..., k], stau)
        tracks = [
            Track(np.asarray(branch["x_max"].values[:, k], dtype=float), high),
            Track(np.asarray(branch["x_min"].values[:, k], dtype=float), low, text=False),
        ]
        return tracks, names[k], True
    X = np.asarray(branch["x"].values, dtype=float)
    P = np.asarray(branch["param"].values, dtype=float)
    SP = np.asarray(branch["special_param"].values, dtype=float).reshape(-1)
    param, params = branch_context(branch, system)
    extra = ", 'amplitude', 'period'"

    def over_cycles(profiles, p, tau):
        m, samples = profiles.shape[:2]
        values, label = evaluate(
            measure,
            profiles.reshape(m * samples, n),
            np.repeat(p, samples),
            names,
            system=system,
            param=param,
            params=params,
            extra=extra,
        )
        return (*periodic_extremes(values.reshape(m, samples), tau), label)

    high, low, label = over_cycles(X, P, np.asarray(branch["tau"].values, dtype=float))
    s_high, s_low, _ = over_cycles(S, SP, stau)
    return [Track(high, s_high), Track(low, s_low, text=False)], label, True


# ---------------------------------------------------------------------------- branches
def draw_cycle_branch(
    branch: xr.Dataset,
    *,
    measure: Measure = "amplitude",
    system=None,
    ax=None,
    label_specials: bool = True,
    legend: bool = False,
    linewidth: float = 1.8,
) -> DiagramArtists:
    """Draw a branch of periodic orbits: the parameter against the amplitude, the period, or the
    largest and smallest value of a state over each cycle.

    Stable parts are solid, unstable parts dashed; the colour gives the number of Floquet
    multipliers outside the unit circle (:func:`phase.bifurcation.cycle_color`). Special points
    (LPC, PD, NS, BP, H) are marked, open with a question mark where they were not located.

    Parameters
    ----------
    branch : xarray.Dataset
        A branch of cycles from :func:`dynsys.continuation.continue_cycle`.
    measure : {"amplitude", "period"}, state name or index, "norm", "loss" or callable
        ``"amplitude"`` (default): ``max - min`` of the first state over the cycle;
        ``"period"``; a state: two curves, its largest and smallest value over each cycle
        (the envelope, as drawn next to equilibria); ``"norm"``, ``"loss"`` (needs
        ``system``) or a function of the state: the largest and smallest value of that
        measure over each cycle.
    system : System, optional
        The system of the branch, needed for the measure ``"loss"``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    label_specials : bool
        Write the type next to each special point's marker (once per point).
    legend : bool
        Add a legend (colours, line styles and special types drawn).
    linewidth : float
        Width of the branch lines.

    Returns
    -------
    DiagramArtists
        ``lines`` (one per run of equal stability and index, per curve), ``markers`` and
        ``texts`` of the special points.

    Raises
    ------
    dynsys.errors.InputError
        If ``branch`` is another kind of result (the message names the function that draws
        it), or the measure names no state.

    Examples
    --------
    The Stuart-Landau cycles born at the Hopf point ``mu = 0`` have amplitude ``2 sqrt(mu)``:

    >>> import numpy as np
    >>> from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
    >>> from dynsys.models import stuart_landau
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.0)
    >>> eq = continue_branch(stuart_landau(mu=-0.5), [0.0, 0.0], "mu", options=opts)
    >>> cycles = continue_cycle(stuart_landau(), eq, "mu", options=opts)
    >>> (line,) = draw_cycle_branch(cycles).lines
    >>> mu, amplitude = line.get_data()
    >>> bool(np.allclose(amplitude, 2 * np.sqrt(mu), atol=1e-8)), line.get_linestyle()
    (True, '-')
    """
    require(branch, "draw_cycle_branch", "cycle branch")
    ax = axes_or_current(ax)
    tracks, ylabel, _ = _cycle_tracks(branch, measure, system=system)
    entries = LegendEntries()
    drawn = draw_tracks(
        ax,
        branch,
        tracks,
        _cycle_keys(branch),
        color_of=cycle_color,
        linewidth=linewidth,
        label_specials=label_specials,
        seen=[],
        entries=entries,
        family="cycles",
    )
    if not ax.get_xlabel():
        ax.set_xlabel(param_label(branch))
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)
    if legend:
        diagram_legend(ax, entries)
    return drawn


# ---------------------------------------------------------------------------- cycles
def _closed(X: np.ndarray) -> np.ndarray:
    return np.vstack([X, X[:1]])


def _one_cycle(ds: xr.Dataset, kind: str, step: int | None, function: str):
    """Profile ``(time, n)``, stability, index, period and parameter value (NaN for a cycle
    Dataset) of a cycle or of one step of a branch."""
    if kind == "cycle branch":
        if step is None:
            raise InputError(
                f"{function} was given a branch of cycles: choose one with `step=` (0 to "
                f"{ds.sizes['step'] - 1}), or draw them all with phase.draw_cycle_family."
            )
        if not -ds.sizes["step"] <= int(step) < ds.sizes["step"]:
            raise InputError(
                f"`step`={step} is not a step of the branch (it has {ds.sizes['step']})."
            )
        ds = ds.isel(step=int(step))
        p = float(ds["param"])
    else:
        if step is not None:
            raise InputError(f"`step` applies to a branch of cycles; {function} got one cycle.")
        p = float("nan")
    X = np.asarray(ds["x"].transpose("time", "state").values, dtype=float)
    period = float(ds["period"])
    if not (np.isfinite(period) and np.all(np.isfinite(X))):
        status = int(ds["status"]) if "status" in ds else "?"
        raise InputError(
            f"the cycle Dataset holds no cycle (period {period}, status {status}): "
            "find_periodic_orbit did not converge; start it nearer to a cycle."
        )
    return X, bool(ds["stable"]), int(_unstable_count(ds)), period, p


def draw_periodic_orbit(
    cycle: xr.Dataset,
    *,
    plane=None,
    step: int | None = None,
    ax=None,
    color: str | None = None,
    linewidth: float = 1.8,
    mark_start: bool = True,
    arrow: bool = True,
    label: str | None = None,
) -> OrbitArtists:
    """Draw a periodic orbit as a closed curve in the plane of two state variables.

    Solid when the cycle is stable, dashed when not. With more than two states the cycle is
    projected onto the plane (the axis label says so).

    Parameters
    ----------
    cycle : xarray.Dataset
        A cycle from :func:`dynsys.cycles.find_periodic_orbit`, or a branch from
        :func:`dynsys.continuation.continue_cycle` with ``step``.
    plane : pair of state names or indices, optional
        The two state variables on the axes (default the first two).
    step : int, optional
        For a branch: which step's cycle to draw.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    color : str, optional
        Line colour (default: by the number of unstable multipliers,
        :func:`phase.bifurcation.cycle_color`).
    linewidth : float
        Width of the curve.
    mark_start : bool
        Mark the point at normalized time 0.
    arrow : bool
        Draw an arrow in the direction of motion.
    label : str, optional
        Legend label (default: "stable cycle, T = ..." or "unstable cycle, T = ...").

    Returns
    -------
    OrbitArtists
        ``line`` (its data close the curve: the last point repeats the first), ``start``,
        ``arrow``.

    Raises
    ------
    dynsys.errors.InputError
        If ``cycle`` is another kind of result, holds no cycle, or is a branch without
        ``step``.

    Examples
    --------
    The Stuart-Landau cycle is the circle of radius ``sqrt(mu)``:

    >>> import numpy as np
    >>> from dynsys.cycles import find_periodic_orbit
    >>> from dynsys.models import stuart_landau
    >>> cycle = find_periodic_orbit(stuart_landau(mu=0.25), [0.5, 0.0], 6.0)
    >>> drawn = draw_periodic_orbit(cycle)
    >>> x, y = drawn.line.get_data()
    >>> bool(np.allclose(np.hypot(x, y), 0.5)), drawn.line.get_linestyle()
    (True, '-')
    """
    kind = require(cycle, "draw_periodic_orbit", "cycle", "cycle branch")
    ax = axes_or_current(ax)
    X, stable, index, period, p = _one_cycle(cycle, kind, step, "draw_periodic_orbit")
    names = _names(cycle)
    i, j = plane_indices(names, plane)
    colour = color or cycle_color(index)
    if label is None:
        label = f"{'stable' if stable else 'unstable'} cycle, T = {period:.4g}"
        if np.isfinite(p):
            label += f" ({param_label(cycle)} = {p:.4g})"
    path = _closed(X)
    (line,) = ax.plot(
        path[:, i],
        path[:, j],
        color=colour,
        linestyle="-" if stable else "--",
        linewidth=linewidth,
        label=label,
        zorder=4,
    )
    start = None
    if mark_start:
        (start,) = ax.plot(
            [X[0, i]],
            [X[0, j]],
            linestyle="none",
            marker="o",
            markersize=5,
            markerfacecolor="white",
            markeredgecolor=colour,
            markeredgewidth=1.5,
            zorder=5,
        )
    drawn_arrow = None
    if arrow:
        drawn_arrow = _direction_arrow(ax, X[:, [i, j]], colour)
    label_plane(ax, names, i, j)
    return OrbitArtists(line, start, drawn_arrow)


def _direction_arrow(ax, P: np.ndarray, colour: str):
    """An arrow head on the projected curve ``P`` (closed, ``(samples, 2)``), pointing along the
    motion, where the projection moves fastest (so the head has a clear direction)."""
    step = np.roll(P, -1, axis=0) - P
    length = np.hypot(step[:, 0], step[:, 1])
    if not np.any(length > 0):
        return None
    k = int(np.argmax(length))
    return ax.annotate(
        "",
        xy=P[k] + step[k],
        xytext=P[k],
        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.2, "mutation_scale": 16},
        zorder=5,
    )


def draw_cycle_family(
    branch: xr.Dataset,
    *,
    plane=None,
    every: int = 1,
    ax=None,
    cmap: str = "viridis",
    colorbar: bool = True,
    linewidth: float = 1.2,
    specials: bool = True,
    legend: bool = True,
) -> FamilyArtists:
    """Overlay the cycles of a branch in the phase plane, coloured by the parameter.

    Stable cycles are solid, unstable ones dashed; a colour bar gives the parameter. The cycles
    at the special points (LPC, PD, NS, BP) are drawn thicker in their special colour; a Hopf end
    (a cycle of zero amplitude) is a marker.

    Parameters
    ----------
    branch : xarray.Dataset
        A branch of cycles from :func:`dynsys.continuation.continue_cycle`.
    plane : pair of state names or indices, optional
        The two state variables on the axes (default the first two).
    every : int
        Draw every ``every``-th step (the last step is always drawn).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    cmap : str
        Colour map of the parameter.
    colorbar : bool
        Add a colour bar labelled with the parameter.
    linewidth : float
        Width of the cycles.
    specials : bool
        Draw the cycles at the special points.
    legend : bool
        Add a legend: the line styles and special cycles drawn.

    Returns
    -------
    FamilyArtists
        ``lines`` (a LineCollection, one closed curve per drawn step; ``get_array()`` holds the
        parameter values), ``colorbar``, ``specials``.

    Raises
    ------
    dynsys.errors.InputError
        If ``branch`` is another kind of result, or ``every`` is not a positive integer.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch, continue_cycle
    >>> from dynsys.models import stuart_landau
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-0.5, p_max=1.0)
    >>> eq = continue_branch(stuart_landau(mu=-0.5), [0.0, 0.0], "mu", options=opts)
    >>> cycles = continue_cycle(stuart_landau(), eq, "mu", options=opts)
    >>> drawn = draw_cycle_family(cycles, every=5)
    >>> len(drawn.lines.get_paths()), drawn.colorbar.ax.get_ylabel()
    (5, 'mu')
    """
    require(branch, "draw_cycle_family", "cycle branch")
    if isinstance(every, bool) or not isinstance(every, int | np.integer) or every < 1:
        raise InputError(f"`every` must be a positive integer; got {every!r}.")
    ax = axes_or_current(ax)
    names = _names(branch)
    i, j = plane_indices(names, plane)
    m = branch.sizes["step"]
    steps = sorted(set(range(0, m, int(every))) | {m - 1})
    X = np.asarray(branch["x"].transpose("step", "time", "state").values, dtype=float)
    p = np.asarray(branch["param"].values, dtype=float)[steps]
    stable = [key[0] for key in _cycle_keys(branch)]
    segments = [_closed(X[k])[:, [i, j]] for k in steps]
    lines = LineCollection(
        segments,
        array=p,
        cmap=cmap,
        norm=Normalize(float(p.min()), float(p.max()) if p.max() > p.min() else p.min() + 1),
        linestyles=["-" if stable[k] else "--" for k in steps],
        linewidths=linewidth,
        zorder=3,
    )
    ax.add_collection(lines)
    ax.autoscale_view()
    bar = None
    if colorbar:
        bar = ax.figure.colorbar(lines, ax=ax, label=param_label(branch))
    drawn_specials, handles = [], []
    if specials:
        drawn_specials, handles = _special_cycles(ax, branch, i, j)
    if legend:
        shown = {stable[k] for k in steps}
        style = [
            Line2D([], [], color="0.3", linestyle=ls, label=f"{name} cycles")
            for flag, ls, name in ((True, "-", "stable"), (False, "--", "unstable"))
            if flag in shown
        ]
        # above the axes: the cycles fill the plane
        ax.legend(
            handles=style + handles,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.01),
            ncols=2,
            borderaxespad=0.0,
            fontsize="small",
            frameon=False,
        )
    label_plane(ax, names, i, j)
    return FamilyArtists(lines, bar, drawn_specials)


def _special_cycles(ax, branch: xr.Dataset, i: int, j: int):
    """The cycles at a branch's special points (a marker for a Hopf end), and legend handles,
    one per type."""
    drawn, handles, seen = [], [], set()
    S = np.asarray(branch["special_x"].values, dtype=float)
    for kind, profile in zip(branch["special_type"].values, S, strict=True):
        kind = str(kind)
        style = SPECIAL_STYLE.get(kind, {"marker": "x", "color": "black"})
        if not np.all(np.isfinite(profile)):
            continue
        if kind == "H":
            centre = profile.mean(axis=0)
            (artist,) = ax.plot(
                [centre[i]],
                [centre[j]],
                linestyle="none",
                marker=style["marker"],
                markersize=8,
                color=style["color"],
                zorder=6,
            )
            handle = Line2D([], [], linestyle="none", marker=style["marker"], color=style["color"])
        else:
            path = _closed(profile)
            (artist,) = ax.plot(
                path[:, i], path[:, j], color=style["color"], linewidth=2.4, zorder=5
            )
            handle = Line2D([], [], color=style["color"], linewidth=2.4)
        drawn.append(artist)
        if kind not in seen:
            seen.add(kind)
            handle.set_label(SPECIAL_NAMES.get(kind, kind))
            handles.append(handle)
    return drawn, handles
