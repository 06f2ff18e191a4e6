"""Pictures of attractors: the attractors found by :func:`dynsys.attractors.find_attractors` in a
phase portrait, and the convergence of Lyapunov exponents from
:func:`dynsys.attractors.lyapunov_spectrum`.

A point is a marker, a cycle of a flow a closed curve, a cycle of a map its points, and a
recurrent set (chaotic, quasi-periodic or undecided) a cloud of its samples; each attractor has
its own colour (:func:`phase._style.attractor_color`) and a legend entry with its kind and its
period or largest Lyapunov exponent. Attractors of systems with more than two states are
projected onto a plane of two state variables, and the axis label says which.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from dynsys.errors import InputError

from ._kinds import require
from ._plane import label_plane, plane_indices
from ._style import attractor_color, capped_legend

__all__ = [
    "LyapunovArtists",
    "attractor_label",
    "draw_attractors",
    "draw_lyapunov_convergence",
]

RECURRENT_KINDS = ("chaotic", "quasi-periodic", "recurrent")


def _lyapunov_text(ds: xr.Dataset, row: int) -> str:
    lam = float(ds["attractor_lyapunov"].values[row, 0])
    if not np.isfinite(lam):
        return ""
    text = rf"$\lambda_1$ = {lam:.3g}"
    if "attractor_lyapunov_stderr" in ds:
        se = float(ds["attractor_lyapunov_stderr"].values[row, 0])
        if np.isfinite(se) and se > 0:
            text += f" ± {se:.2g}"
    return text


def attractor_label(ds: xr.Dataset, row: int, *, fraction: bool = True) -> str:
    """The legend label of attractor ``row`` of a :func:`dynsys.attractors.find_attractors`
    result: its kind, then its period (a cycle) or largest Lyapunov exponent (with its standard
    error when estimated), then the fraction of seeds that reached it.

    Examples
    --------
    >>> from dynsys.attractors import AttractorOptions, find_attractors
    >>> from dynsys.models import logistic
    >>> ds = find_attractors(logistic(r=3.2), [0.1, 0.5], options=AttractorOptions(cell_size=0.01))
    >>> attractor_label(ds, 0)
    'cycle, period 2, 100% of seeds'
    """
    kind = str(ds["attractor_kind"].values[row])
    is_map = ds.attrs.get("dynamics") == "map"
    parts = [kind if kind != "recurrent" else "recurrent (undecided)"]
    period = float(ds["attractor_period"].values[row]) if "attractor_period" in ds else np.nan
    if kind == "cycle" and np.isfinite(period):
        parts.append(f"period {period:.0f}" if is_map else f"T = {period:.4g}")
    else:
        text = _lyapunov_text(ds, row)
        if text:
            parts.append(text)
    if fraction and "fraction" in ds:
        parts.append(f"{100 * float(ds['fraction'].values[row]):.0f}% of seeds")
    return ", ".join(parts)


def _finite_rows(values: np.ndarray) -> np.ndarray:
    return values[np.all(np.isfinite(values), axis=-1)]


def draw_attractors(
    attractors: xr.Dataset,
    *,
    plane=None,
    rows=None,
    ax=None,
    legend: bool = True,
    fraction: bool = True,
    markersize: float = 9.0,
    linewidth: float = 2.0,
) -> list[Line2D]:
    """Draw the attractors of a :func:`dynsys.attractors.find_attractors` result.

    Points are filled circles, cycles of a flow closed curves (the samples over one period),
    cycles of a map their points (diamonds), chaotic, quasi-periodic and undecided recurrent
    sets clouds of their samples. With more than two states everything is projected onto
    ``plane``.

    Parameters
    ----------
    attractors : xarray.Dataset
        A result of :func:`dynsys.attractors.find_attractors`.
    plane : pair of state names or indices, optional
        The two state variables on the axes (default the first two).
    rows : sequence of int, optional
        Which attractors to draw (default all that some seed reached; outcome rows, negative,
        are never drawn).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    legend : bool
        Add a legend listing the attractors drawn (the first seven and "+N more" beyond
        eight).
    fraction : bool
        Put the fraction of seeds that reached each attractor in its label.
    markersize, linewidth : float
        Size of point and map-cycle markers; width of the cycles of flows.

    Returns
    -------
    list of matplotlib.lines.Line2D
        One artist per attractor drawn, labelled (see :func:`attractor_label`).

    Raises
    ------
    dynsys.errors.InputError
        If ``attractors`` is another kind of result (the message names the function that
        draws it), the system has one state (no plane), or ``rows`` names no attractor.

    Examples
    --------
    The Henon map at ``a = 1.4``, ``b = 0.3``: one chaotic attractor, largest exponent about
    0.42.

    >>> from dynsys.attractors import AttractorOptions, find_attractors
    >>> from dynsys.models import henon
    >>> ds = find_attractors(henon(), [[0.1, 0.1]], options=AttractorOptions(cell_size=0.02))
    >>> (cloud,) = draw_attractors(ds)
    >>> cloud.get_label().split(",")[0], len(cloud.get_xdata())
    ('chaotic', 500)
    """
    require(attractors, "draw_attractors", "attractors")
    ax = ax or plt.gca()
    names = [str(s) for s in attractors["state"].values]
    if len(names) < 2:
        raise InputError(
            "the attractors of a one-state system have no phase plane to be drawn in; draw the "
            "attractors of a one-state map against its parameter with phase.draw_orbit_diagram."
        )
    i, j = plane_indices(names, plane)
    table = np.asarray(attractors["attractor"].values)
    found = [r for r, label in enumerate(table) if label >= 0]
    if rows is not None:
        wanted = [int(r) for r in np.atleast_1d(rows)]
        bad = [r for r in wanted if r not in found]
        if bad:
            raise InputError(f"`rows` {bad} name no attractor; the table has attractors {found}.")
        found = wanted
    elif "fraction" in attractors:  # rows no seed reached (0 %) are not drawn nor listed
        fractions = np.asarray(attractors["fraction"].values, dtype=float)
        found = [r for r in found if fractions[r] != 0.0]
    is_map = attractors.attrs.get("dynamics") == "map"
    samples = np.asarray(attractors["attractor_samples"].values, dtype=float)
    drawn = []
    for r in found:
        kind = str(attractors["attractor_kind"].values[r])
        colour = attractor_color(r)
        label = attractor_label(attractors, r, fraction=fraction)
        if kind == "point":
            pts = _finite_rows(np.asarray(attractors["attractor_x"].values[r], dtype=float)[None])
            style = {"linestyle": "none", "marker": "o", "markersize": markersize}
        elif kind == "cycle" and not is_map:
            pts = _finite_rows(samples[r])
            pts = np.vstack([pts, pts[:1]]) if len(pts) else pts
            style = {"linestyle": "-", "linewidth": linewidth}
        elif kind == "cycle":
            pts = _finite_rows(samples[r])
            style = {"linestyle": "none", "marker": "D", "markersize": 0.8 * markersize}
        else:
            pts = _finite_rows(samples[r])
            style = {"linestyle": "none", "marker": ".", "markersize": 2.0, "alpha": 0.6}
        if len(pts) == 0:
            continue
        edge = "black" if kind == "point" or (kind == "cycle" and is_map) else colour
        (line,) = ax.plot(
            pts[:, i],
            pts[:, j],
            color=colour,
            markeredgecolor=edge,
            label=label,
            zorder=5 if kind == "point" else 4,
            rasterized=kind in RECURRENT_KINDS,
            **style,
        )
        drawn.append(line)
    label_plane(ax, names, i, j)
    if legend and drawn:
        capped_legend(ax, [_legend_handle(line) for line in drawn], loc="best")
    return drawn


def _legend_handle(line: Line2D) -> Line2D:
    """A legend handle like ``line``, with cloud markers enlarged so they can be seen."""
    size = line.get_markersize()
    return Line2D(
        [],
        [],
        color=line.get_color(),
        linestyle=line.get_linestyle(),
        linewidth=line.get_linewidth(),
        marker=line.get_marker(),
        markersize=max(size, 6.0) if line.get_marker() == "." else size,
        markeredgecolor=line.get_markeredgecolor(),
        label=line.get_label(),
    )


# ---------------------------------------------------------------------------- Lyapunov
class LyapunovArtists(NamedTuple):
    """What :func:`draw_lyapunov_convergence` drew: the running estimates (one line per orbit
    and exponent), the final values (one horizontal line per exponent) and their standard-error
    bands."""

    running: list
    finals: list
    bands: list


def draw_lyapunov_convergence(
    spectrum: xr.Dataset,
    *,
    exponents=None,
    ax=None,
    legend: bool = True,
    log_time: bool = False,
) -> LyapunovArtists:
    """Draw the running Lyapunov exponent estimates against time, with the final values and
    their standard errors.

    Each orbit's running average (``lyapunov_running``) is a thin line in the colour of its
    exponent; the final average over the orbits (``lyapunov``) is a dashed line, and the band
    around it spans plus and minus one standard error (``lyapunov_stderr``, from batch means).

    Parameters
    ----------
    spectrum : xarray.Dataset
        A result of :func:`dynsys.attractors.lyapunov_spectrum`.
    exponents : sequence of int, optional
        Which exponents to draw (0 the largest; default all).
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    legend : bool
        Add a legend: each exponent's final value and standard error.
    log_time : bool
        Logarithmic time axis (the estimates converge like 1 / t).

    Returns
    -------
    LyapunovArtists

    Raises
    ------
    dynsys.errors.InputError
        If ``spectrum`` is another kind of result, or ``exponents`` names no exponent.

    Examples
    --------
    The Henon map's exponents sum to ``log b`` (its Jacobian has determinant ``-b``):

    >>> import numpy as np
    >>> from dynsys.attractors import lyapunov_spectrum
    >>> from dynsys.models import henon
    >>> ds = lyapunov_spectrum(henon(b=0.3), [[0.1, 0.1], [0.2, 0.0]], t_total=2000)
    >>> drawn = draw_lyapunov_convergence(ds)
    >>> len(drawn.running), len(drawn.finals)
    (4, 2)
    >>> bool(np.isclose(sum(line.get_ydata()[0] for line in drawn.finals), np.log(0.3)))
    True
    """
    require(spectrum, "draw_lyapunov_convergence", "lyapunov spectrum")
    ax = ax or plt.gca()
    k = spectrum.sizes["exponent"]
    chosen = list(range(k)) if exponents is None else [int(e) for e in np.atleast_1d(exponents)]
    bad = [e for e in chosen if not 0 <= e < k]
    if bad:
        raise InputError(f"`exponents` {bad} are not exponents of the spectrum (0 to {k - 1}).")
    t = np.asarray(spectrum["time"].values, dtype=float)
    running = np.asarray(
        spectrum["lyapunov_running"].transpose("orbit", "checkpoint", "exponent").values,
        dtype=float,
    )
    final = np.asarray(spectrum["lyapunov"].values, dtype=float)
    stderr = np.asarray(spectrum["lyapunov_stderr"].values, dtype=float)
    alpha = 0.8 if running.shape[0] <= 4 else max(0.15, 3.0 / running.shape[0])
    lines, finals, bands = [], [], []
    for e in chosen:
        colour = attractor_color(e)
        for orbit in running:
            lines.extend(ax.plot(t, orbit[:, e], color=colour, linewidth=0.8, alpha=alpha))
        label = rf"$\lambda_{{{e + 1}}}$ = {final[e]:.4g}"
        if np.isfinite(stderr[e]):
            label += f" ± {stderr[e]:.2g}"
            bands.append(
                ax.axhspan(
                    final[e] - stderr[e],
                    final[e] + stderr[e],
                    color=colour,
                    alpha=0.2,
                    linewidth=0,
                    zorder=1,
                )
            )
        finals.append(
            ax.axhline(final[e], color=colour, linestyle="--", linewidth=1.4, label=label, zorder=3)
        )
    if log_time:
        ax.set_xscale("log")
    if not ax.get_xlabel():
        ax.set_xlabel(str(spectrum["time"].attrs.get("long_name", "time")))
    if not ax.get_ylabel():
        ax.set_ylabel("running Lyapunov exponent estimate")
    if legend and finals:
        ax.legend(handles=finals, loc="best", fontsize="small", framealpha=0.85)
    return LyapunovArtists(lines, finals, bands)
