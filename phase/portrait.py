"""Phase portraits: streamlines of the vector field, nullclines, fixed points by kind, orbits,
periodic orbits and attractors.

Every function takes ``ax=None`` (then the current axes) and returns what it drew. Systems with
more than two states are drawn in a plane: the two named state variables vary over the region,
the others are held at ``base`` (a slice through state space); fixed points, orbits, cycles and
attractors are projected onto the plane.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import Normalize

from dynsys.errors import InputError
from dynsys.system import System

from ._plane import plane_indices as _plane_indices
from ._style import kind_style
from .attractors import draw_attractors
from .cycles import draw_periodic_orbit

__all__ = [
    "draw_energy",
    "draw_fixed_points",
    "draw_nullclines",
    "draw_orbits",
    "draw_vector_field",
    "portrait",
]


def _grid(system: System, region, plane, base, resolution: int):
    (x_lo, x_hi), (y_lo, y_hi) = region
    i, j = _plane_indices(system, plane)
    xs = np.linspace(x_lo, x_hi, resolution)
    ys = np.linspace(y_lo, y_hi, resolution)
    X, Y = np.meshgrid(xs, ys)
    base = np.zeros(system.n) if base is None else np.asarray(base, dtype=float)
    states = np.broadcast_to(base, (*X.shape, system.n)).copy()
    states[..., i], states[..., j] = X, Y
    return xs, ys, states, i, j


def draw_vector_field(
    system: System,
    region: Sequence[Sequence[float]],
    *,
    plane: Sequence[str | int] | None = None,
    base: Sequence[float] | None = None,
    params=None,
    ax=None,
    resolution: int = 60,
    density: float = 1.3,
    cmap: str = "Greys",
):
    """Draw streamlines of the vector field in a plane, coloured by speed.

    Parameters
    ----------
    system : System
        The system.
    region : ((x_min, x_max), (y_min, y_max))
        The rectangle of the plane to draw.
    plane : pair of state names or indices, optional
        The two state variables on the axes (default the first two).
    base : array_like, optional
        The values of the other state variables (default zero).

    Returns
    -------
    matplotlib.streamplot.StreamplotSet

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> _ = draw_vector_field(double_well(), ((-2, 2), (-1, 1)), resolution=20)
    """
    ax = ax or plt.gca()
    xs, ys, states, i, j = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        field = system.f(states, params)
    U, V = field[..., i], field[..., j]
    speed = np.hypot(U, V)
    finite = np.isfinite(speed)
    U, V = np.where(finite, U, 0.0), np.where(finite, V, 0.0)
    colour = np.log1p(np.where(finite, speed, 0.0))
    top = float(colour.max()) or 1.0
    # slow streamlines stay visible: the lightest colour used is a third into the colour map
    norm = Normalize(vmin=-0.5 * top, vmax=top)
    stream = ax.streamplot(
        xs,
        ys,
        U,
        V,
        color=colour,
        cmap=cmap,
        norm=norm,
        density=density,
        linewidth=0.8,
        arrowsize=0.8,
    )
    ax.set_xlim(*region[0])
    ax.set_ylim(*region[1])
    ax.set_xlabel(system.state_names[i])
    ax.set_ylabel(system.state_names[j])
    return stream


def draw_energy(
    system,
    region,
    *,
    plane=None,
    base=None,
    params=None,
    ax=None,
    resolution: int = 150,
    levels: int = 24,
    cmap: str = "Blues_r",
):
    """Shade the potential of a gradient system with filled contours.

    Levels are placed at quantiles of ``V`` over the region, so deep wells and steep walls both
    show.

    Returns
    -------
    matplotlib.contour.QuadContourSet

    Examples
    --------
    >>> from dynsys.models import mueller_brown
    >>> _ = draw_energy(mueller_brown(), ((-1.5, 1.2), (-0.5, 2.0)), resolution=30)
    """
    if not getattr(system, "is_gradient", False):
        raise InputError("`draw_energy` needs a GradientSystem (a potential to shade).")
    ax = ax or plt.gca()
    xs, ys, states, _, _ = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        energy = np.asarray(system.potential(states, params), dtype=float)
    finite = energy[np.isfinite(energy)]
    bounds = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, levels + 1)))
    if bounds.size < 2:
        bounds = np.array([finite.min(), finite.min() + 1.0])
    return ax.contourf(xs, ys, energy, levels=bounds, cmap=cmap, alpha=0.45, zorder=0)


def draw_nullclines(
    system: System,
    region,
    *,
    plane=None,
    base=None,
    params=None,
    ax=None,
    resolution: int = 200,
):
    """Draw the nullclines ``f_i = 0`` and ``f_j = 0`` of the two plane variables.

    Returns
    -------
    list of matplotlib.contour.QuadContourSet

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> len(draw_nullclines(duffing(), ((-2, 2), (-1, 1)), resolution=30))
    2
    """
    ax = ax or plt.gca()
    xs, ys, states, i, j = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        field = system.f(states, params)
    out = []
    for k, colour in ((i, "#8e44ad"), (j, "#27ae60")):
        out.append(
            ax.contour(
                xs, ys, field[..., k], levels=[0.0], colors=colour, linewidths=1.0, linestyles="--"
            )
        )
    return out


def draw_fixed_points(fixed_points: xr.Dataset, *, plane=None, ax=None, legend: bool = True):
    """Draw fixed points from a fixed-point Dataset (vars ``x``, ``kind``), styled by kind; or
    the fixed points and cycles of a map from :func:`dynsys.fixedpoints.find_cycles` (every
    point of each cycle, styled by the cycle's kind).

    Returns
    -------
    list of matplotlib.lines.Line2D
        One artist per kind present.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"x": (("point", "state"), [[1.0, 0.0], [0.0, 0.0]]),
    ...                  "kind": ("point", ["minimum", "saddle-1"])},
    ...                 coords={"state": ["x", "y"]})
    >>> len(draw_fixed_points(ds))
    2
    """
    ax = ax or plt.gca()
    names = [str(s) for s in fixed_points["state"].values]
    i, j = _plane_indices(names, plane)
    x = np.asarray(fixed_points["x"].values, dtype=float)
    kinds = (
        np.asarray(fixed_points["kind"].values).astype(str)
        if "kind" in fixed_points
        else np.full(x.shape[0], "unclassified")
    )
    if "phase" in fixed_points["x"].dims:  # cycles of a map: every point, NaN beyond the period
        x = np.asarray(fixed_points["x"].transpose(..., "phase", "state").values, dtype=float)
        kinds = np.repeat(kinds, x.shape[1])
        x = x.reshape(-1, x.shape[-1])
        finite = np.all(np.isfinite(x), axis=1)
        x, kinds = x[finite], kinds[finite]
    artists = []
    for kind in sorted(set(kinds.tolist())):
        sel = kinds == kind
        (line,) = ax.plot(x[sel, i], x[sel, j], label=kind, zorder=5, **kind_style(kind))
        artists.append(line)
    if legend and artists:
        ax.legend(loc="best", fontsize="small", framealpha=0.85)
    return artists


def draw_orbits(orbits, *, plane=None, ax=None, color: str = "#2c3e50", **line_kw):
    """Draw orbits: a trajectory Dataset (dims ``time``, ``state``), a list of them, or a batch
    Dataset with saved states ``x_saved(orbit, save, state)`` (from :func:`dynsys.integrate.flow`,
    or :func:`dynsys.integrate.iterate` with ``save_every``).

    Orbits of flows are lines; orbits of maps (iterates do not lie on a curve) are dots.

    Returns
    -------
    list of matplotlib.lines.Line2D

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> t = np.linspace(0, 1, 5)
    >>> ds = xr.Dataset({"x": (("time", "state"), np.stack([t, t**2], -1))},
    ...                 coords={"time": t, "state": ["x", "y"]})
    >>> len(draw_orbits(ds))
    1
    """
    ax = ax or plt.gca()
    if isinstance(orbits, xr.Dataset):
        orbits = [orbits]
    artists = []
    kw = {"linewidth": 1.2, "alpha": 0.9, **line_kw}
    for ds in orbits:
        names = [str(s) for s in ds["state"].values]
        i, j = _plane_indices(names, plane)
        if "x_saved" in ds:
            paths = np.asarray(ds["x_saved"].transpose("orbit", ..., "state").values)
        else:
            paths = np.asarray(ds["x"].transpose("time", "state").values)[None]
        style = kw
        if ds.attrs.get("system_kind") == "map":
            style = {"linestyle": "none", "marker": ".", "markersize": 3, **kw}
        for path in paths:
            artists.extend(ax.plot(path[:, i], path[:, j], color=color, **style))
            finite = np.isfinite(path[:, i]) & np.isfinite(path[:, j])
            if finite.any():
                first = np.argmax(finite)
                ax.plot(path[first, i], path[first, j], ".", color=color, markersize=4)
    return artists


def portrait(
    system: System,
    region,
    *,
    fixed_points: xr.Dataset | None = None,
    orbits=None,
    cycles=None,
    attractors: xr.Dataset | None = None,
    plane=None,
    base=None,
    params=None,
    nullclines: bool = False,
    energy: bool | None = None,
    ax=None,
    title: str | None = None,
):
    """Draw a full phase portrait: streamlines, optional nullclines, orbits and fixed points.

    Parameters
    ----------
    system : System
    region : ((x_min, x_max), (y_min, y_max))
        The rectangle of the plane.
    fixed_points : Dataset, optional
        From :func:`dynsys.fixedpoints.find_fixed_points`; drawn by kind.
    orbits : Dataset or list of Dataset, optional
        Trajectories to overlay.
    cycles : Dataset or list of Dataset, optional
        Periodic orbits from :func:`dynsys.cycles.find_periodic_orbit`, drawn by
        :func:`phase.cycles.draw_periodic_orbit` (stable solid, unstable dashed).
    attractors : Dataset, optional
        From :func:`dynsys.attractors.find_attractors`, drawn by
        :func:`phase.attractors.draw_attractors`.
    plane, base, params
        As for :func:`draw_vector_field`.
    nullclines : bool
        Also draw the nullclines (two-dimensional systems).
    energy : bool, optional
        Shade the potential (default: for gradient systems).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> ax = portrait(double_well(), ((-2, 2), (-1, 1)), title="double well")
    >>> ax.get_title()
    'double well'
    """
    ax = ax or plt.gca()
    if energy if energy is not None else system.is_gradient:
        draw_energy(system, region, plane=plane, base=base, params=params, ax=ax)
    draw_vector_field(system, region, plane=plane, base=base, params=params, ax=ax)
    if nullclines:
        draw_nullclines(system, region, plane=plane, base=base, params=params, ax=ax)
    if orbits is not None:
        draw_orbits(orbits, plane=plane, ax=ax)
    if attractors is not None:
        draw_attractors(attractors, plane=plane, ax=ax, legend=False)
    for cycle in [cycles] if isinstance(cycles, xr.Dataset) else list(cycles or []):
        draw_periodic_orbit(cycle, plane=plane, ax=ax)
    if fixed_points is not None and fixed_points.sizes.get("point", 0):
        draw_fixed_points(fixed_points, plane=plane, ax=ax, legend=False)
    if ax.get_legend_handles_labels()[0]:  # streamlines fill the plane: "best" finds no room
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    ax.set_xlim(*region[0])
    ax.set_ylim(*region[1])
    if title is None:
        title = system.name
        if system.n > 2:
            i, j = _plane_indices(system, plane)
            values = np.zeros(system.n) if base is None else np.asarray(base, dtype=float)
            others = [
                f"{name} = {values[k]:.3g}"
                for k, name in enumerate(system.state_names)
                if k not in (i, j)
            ]
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            title += f" (slice {shown})"
    ax.set_title(title)
    return ax
