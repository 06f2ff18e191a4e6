"""Multipliers in the complex plane: the Floquet multipliers of a periodic orbit or of a branch
of them, and the multipliers of the fixed points and cycles of a map along a branch, with the unit
circle they cross at a bifurcation (through +1 a fold, through -1 a period doubling, as a complex
pair a Neimark-Sacker point).

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from dynsys.errors import InputError

from ._diagram import cycle_color, param_label
from ._kinds import require
from .cycles import NEUTRAL_TOL, _multipliers

__all__ = ["FloquetArtists", "draw_floquet_multipliers"]


class FloquetArtists(NamedTuple):
    """What :func:`draw_floquet_multipliers` drew: the multipliers, the trivial multiplier (or
    None), the unit circle (or None), the colour bar (or None)."""

    multipliers: Any
    trivial: Line2D | None
    circle: Line2D | None
    colorbar: Any


def draw_floquet_multipliers(
    data: xr.Dataset,
    *,
    step: int | None = None,
    ax=None,
    cmap: str = "viridis",
    colorbar: bool = True,
    unit_circle: bool = True,
    legend: bool = True,
) -> FloquetArtists:
    """Draw multipliers in the complex plane with the unit circle.

    A cycle's nontrivial Floquet multipliers are filled markers and its trivial multiplier (the
    one along the flow, 1 up to the discretization) an open one. For a branch (of cycles, or of
    fixed points or cycles of a map) the multipliers of every step are drawn, coloured by the
    parameter with a colour bar, or those of one ``step``.

    Parameters
    ----------
    data : xarray.Dataset
        A cycle (:func:`dynsys.cycles.find_periodic_orbit`), a branch of cycles
        (:func:`dynsys.continuation.continue_cycle`) or a branch of a map
        (:func:`dynsys.continuation.continue_branch` on a Map).
    step : int, optional
        For a branch: draw only this step's multipliers.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    cmap : str
        Colour map of the parameter (a whole branch).
    colorbar : bool
        Add a colour bar (a whole branch).
    unit_circle : bool
        Draw the unit circle.
    legend : bool
        Add a legend of what was drawn.

    Returns
    -------
    FloquetArtists
        ``multipliers`` (a Line2D for one cycle or step, a PathCollection for a whole branch),
        ``trivial``, ``circle``, ``colorbar``.

    Raises
    ------
    dynsys.errors.InputError
        If ``data`` is another kind of result, or ``step`` is out of range.

    Examples
    --------
    The nontrivial multiplier of the Stuart-Landau cycle is ``exp(-4 pi mu / omega)``:

    >>> import numpy as np
    >>> from dynsys.cycles import find_periodic_orbit
    >>> from dynsys.models import stuart_landau
    >>> cycle = find_periodic_orbit(stuart_landau(mu=0.1, omega=2.0), [0.3, 0.0], 3.0)
    >>> drawn = draw_floquet_multipliers(cycle)
    >>> re, im = drawn.multipliers.get_data()
    >>> bool(np.isclose(re[0], np.exp(-4 * np.pi * 0.1 / 2.0))), float(im[0])
    (True, 0.0)
    """
    kind = require(data, "draw_floquet_multipliers", "cycle", "cycle branch", "map branch")
    ax = ax or plt.gca()
    branch = kind != "cycle"
    if branch and step is not None:
        if not -data.sizes["step"] <= int(step) < data.sizes["step"]:
            raise InputError(
                f"`step`={step} is not a step of the branch (it has {data.sizes['step']})."
            )
    elif step is not None:
        raise InputError("`step` applies to a branch; draw_floquet_multipliers got one cycle.")
    circle = None
    if unit_circle:
        theta = np.linspace(0.0, 2.0 * np.pi, 361)
        (circle,) = ax.plot(
            np.cos(theta),
            np.sin(theta),
            color="0.45",
            linewidth=1.0,
            linestyle=":",
            label="unit circle",
            zorder=1,
        )
    bar, trivial = None, None
    if branch and step is None:
        mu = _multipliers(data.transpose("step", "mode", ...))
        p = np.repeat(np.asarray(data["param"].values, dtype=float), mu.shape[1])
        mu = mu.reshape(-1)
        keep = np.isfinite(mu)
        points = ax.scatter(
            mu.real[keep],
            mu.imag[keep],
            c=p[keep],
            cmap=cmap,
            s=14,
            zorder=3,
            label="multipliers" if kind == "map branch" else "nontrivial multipliers",
        )
        if colorbar:
            bar = ax.figure.colorbar(points, ax=ax, label=param_label(data))
    else:
        one = data.isel(step=int(step)) if branch else data
        mu = _multipliers(one).reshape(-1)
        mu = mu[np.isfinite(mu)]
        colour = cycle_color(int(np.sum(np.abs(mu) > 1.0 + NEUTRAL_TOL)))
        (points,) = ax.plot(
            mu.real,
            mu.imag,
            linestyle="none",
            marker="o",
            markersize=7,
            color=colour,
            label="multipliers" if kind == "map branch" else "nontrivial multipliers",
            zorder=4,
        )
        if "trivial_multiplier" in one and np.isfinite(float(one["trivial_multiplier"])):
            (trivial,) = ax.plot(
                [float(one["trivial_multiplier"])],
                [0.0],
                linestyle="none",
                marker="o",
                markersize=9,
                markerfacecolor="none",
                markeredgecolor="black",
                label="trivial multiplier",
                zorder=4,
            )
        if branch:
            ax.set_title(f"{param_label(data)} = {float(one['param']):.6g}")
    ax.set_aspect("equal", adjustable="datalim")
    ax.axhline(0.0, color="0.8", linewidth=0.6, zorder=0)
    ax.axvline(0.0, color="0.8", linewidth=0.6, zorder=0)
    if not ax.get_xlabel():
        ax.set_xlabel(r"Re $\mu$")
    if not ax.get_ylabel():
        ax.set_ylabel(r"Im $\mu$")
    if legend:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return FloquetArtists(points, trivial, circle, bar)
