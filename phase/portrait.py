"""Phase portraits: streamlines of the vector field, nullclines, fixed points by kind, orbits,
periodic orbits and attractors.

Every function takes ``ax=None`` (then the current axes) and returns what it drew. Systems with
more than two states are drawn in a plane: the two named state variables vary over the region,
the others are held at ``base`` (a slice through state space); fixed points, orbits, cycles and
attractors are projected onto the plane.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import Normalize

from dynsys.errors import InputError
from dynsys.system import System

from ._plane import plane_indices as _plane_indices
from ._region import Region, plane_box
from ._style import PALETTE, capped_legend, kind_style
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
    i, j = _plane_indices(system, plane)
    (x_lo, x_hi), (y_lo, y_hi) = plane_box(region, system.n, i, j)
    xs = np.linspace(x_lo, x_hi, resolution)
    ys = np.linspace(y_lo, y_hi, resolution)
    X, Y = np.meshgrid(xs, ys)
    base = np.zeros(system.n) if base is None else np.asarray(base, dtype=float)
    states = np.broadcast_to(base, (*X.shape, system.n)).copy()
    states[..., i], states[..., j] = X, Y
    return xs, ys, states, i, j


def draw_vector_field(
    system: System,
    region: Region | Mapping[str, Sequence[float]],
    *,
    plane: Sequence[str | int] | None = None,
    base: Sequence[float] | None = None,
    params=None,
    ax=None,
    resolution: int = 60,
    density: float = 1.3,
    cmap: str = "Greys",
    color: str | None = None,
):
    """Draw streamlines of the vector field in a plane, coloured by speed (or in one colour).

    Parameters
    ----------
    system : System
        The system.
    region : Region or mapping
        The rectangle to draw by its corners, ``Region(lower=(x_min, y_min), upper=(x_max,
        y_max))`` or ``{"lower": ..., "upper": ...}`` (a spec's ``[region]``); corners with one
        value per state variable are cut to the plane. A bare ``((a, b), (c, d))`` is refused
        (it reads as corners and as ranges alike).
    plane : pair of state names or indices, optional
        The two state variables on the axes (default the first two).
    base : array_like, optional
        The values of the other state variables (default zero).
    color : str, optional
        One colour for every streamline (default: shades of ``cmap`` by speed).

    Returns
    -------
    matplotlib.streamplot.StreamplotSet

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> from phase import Region
    >>> _ = draw_vector_field(double_well(), Region((-2, -1), (2, 1)), resolution=20)
    """
    ax = ax or plt.gca()
    xs, ys, states, i, j = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        field = system.f(states, params)
    U, V = field[..., i], field[..., j]
    speed = np.hypot(U, V)
    finite = np.isfinite(speed)
    U, V = np.where(finite, U, 0.0), np.where(finite, V, 0.0)
    if color is None:
        colour = np.log1p(np.where(finite, speed, 0.0))
        top = float(colour.max()) or 1.0
        # slow streamlines stay visible: the lightest colour used is a third into the colour map
        style = {"color": colour, "cmap": cmap, "norm": Normalize(vmin=-0.5 * top, vmax=top)}
    else:
        style = {"color": color}
    stream = ax.streamplot(
        xs, ys, U, V, density=density, linewidth=0.8, arrowsize=0.8, zorder=1, **style
    )
    (x_lo, x_hi), (y_lo, y_hi) = plane_box(region, system.n, i, j)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
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
    levels: int = 12,
    cmap: str = "cividis",
    colorbar: bool = True,
):
    """Shade the potential of a gradient system with filled contours, with a colour bar.

    Levels are placed at quantiles of ``V`` over the region up to its 90th percentile (higher
    values share the top colour, marked by the colour bar's arrow), so deep wells are resolved
    and steep walls do not take every level.

    Parameters
    ----------
    system : GradientSystem
    region : Region or mapping
        The rectangle by its corners, as for :func:`draw_vector_field`.
    levels : int
        Number of colour bands.
    cmap : str
        A colour map (default cividis, readable with every colour-vision deficiency).
    colorbar : bool
        Add a colour bar labelled with the energy.

    Returns
    -------
    matplotlib.contour.QuadContourSet

    Examples
    --------
    >>> from dynsys.models import mueller_brown
    >>> from phase import Region
    >>> _ = draw_energy(mueller_brown(), Region((-1.5, -0.5), (1.2, 2.0)), resolution=30)
    """
    if not getattr(system, "is_gradient", False):
        raise InputError("`draw_energy` needs a GradientSystem (a potential to shade).")
    ax = ax or plt.gca()
    xs, ys, states, _, _ = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        energy = np.asarray(system.potential(states, params), dtype=float)
    finite = energy[np.isfinite(energy)]
    bounds = np.unique(np.quantile(finite, np.linspace(0.0, 0.9, levels + 1)))
    if bounds.size < 2:
        bounds = np.array([finite.min(), finite.min() + 1.0])
    shade = ax.contourf(
        xs,
        ys,
        energy,
        levels=bounds,
        cmap=cmap,
        alpha=0.55,
        zorder=0,
        extend="max",
        antialiased=True,
    )
    if colorbar:
        bar = ax.figure.colorbar(shade, ax=ax, shrink=0.9, pad=0.02)
        bar.set_label("energy V")
        bar.ax.tick_params(labelsize="small")
    return shade


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
    """Draw the nullclines ``f_i = 0`` and ``f_j = 0`` of the two plane variables, each with a
    legend entry ("x-nullcline (dx/dt = 0)").

    Returns
    -------
    list of matplotlib.contour.QuadContourSet

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> from phase import Region
    >>> len(draw_nullclines(duffing(), Region((-2, -1), (2, 1)), resolution=30))
    2
    """
    ax = ax or plt.gca()
    xs, ys, states, i, j = _grid(system, region, plane, base, resolution)
    with np.errstate(all="ignore"):
        field = system.f(states, params)
    out = []
    for k, colour, dashes in ((i, PALETTE[4], "--"), (j, PALETTE[2], "-.")):
        name = system.state_names[k]
        out.append(
            ax.contour(
                xs,
                ys,
                field[..., k],
                levels=[0.0],
                colors=colour,
                linewidths=1.3,
                linestyles=dashes,
                zorder=2,
            )
        )
        if out[-1].allsegs[0]:  # a legend entry only for a nullcline that is drawn
            ax.plot(
                [], [], color=colour, linestyle=dashes, label=f"{name}-nullcline (d{name}/dt = 0)"
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

    A two-state system is drawn in its plane. A system with more states is drawn one of two ways,
    never both, and the title says which: with orbits, cycles or attractors, as their
    projection onto ``plane`` (with the fixed points; no streamlines, which would belong to one
    slice only); without them, as the field in the slice of ``plane`` through ``base``.

    Parameters
    ----------
    system : System
    region : Region or mapping
        The rectangle by its corners, ``Region(lower=(x_min, y_min), upper=(x_max, y_max))`` or
        ``{"lower": ..., "upper": ...}``; corners with one value per state variable (a spec's
        ``[region]``) are cut to the plane. A bare ``((a, b), (c, d))`` is refused.
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
        Also draw the nullclines (in the plane or the slice), with legend entries.
    energy : bool, optional
        Shade the potential, with a colour bar (default: for gradient systems).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> from phase import Region
    >>> ax = portrait(double_well(), Region((-2, -1), (2, 1)), title="double well")
    >>> ax.get_title()
    'double well'
    """
    ax = ax or plt.gca()
    i, j = _plane_indices(system, plane)
    (x_lo, x_hi), (y_lo, y_hi) = plane_box(region, system.n, i, j)
    projected = system.n > 2 and any(v is not None for v in (orbits, cycles, attractors))
    shaded = bool(energy if energy is not None else system.is_gradient) and not projected
    if shaded:
        draw_energy(system, region, plane=plane, base=base, params=params, ax=ax)
    if not projected:
        draw_vector_field(
            system,
            region,
            plane=plane,
            base=base,
            params=params,
            ax=ax,
            **({"color": (0.1, 0.1, 0.1, 0.45), "density": 0.9} if shaded else {}),
        )
    if nullclines and not projected:
        draw_nullclines(system, region, plane=plane, base=base, params=params, ax=ax)
    if orbits is not None:
        draw_orbits(orbits, plane=plane, ax=ax)
    if attractors is not None:
        draw_attractors(attractors, plane=plane, ax=ax, legend=False)
    for cycle in [cycles] if isinstance(cycles, xr.Dataset) else list(cycles or []):
        draw_periodic_orbit(cycle, plane=plane, ax=ax)
    if fixed_points is not None and fixed_points.sizes.get("point", 0):
        draw_fixed_points(fixed_points, plane=plane, ax=ax, legend=False)
    # streamlines fill the plane: "best" finds no room
    capped_legend(ax, loc="upper right")
    if projected:  # no field to cover the box: a margin keeps points on its edge whole
        pad_x, pad_y = 0.04 * (x_hi - x_lo), 0.04 * (y_hi - y_lo)
        x_lo, x_hi, y_lo, y_hi = x_lo - pad_x, x_hi + pad_x, y_lo - pad_y, y_hi + pad_y
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(system.state_names[i])
    ax.set_ylabel(system.state_names[j])
    if title is None:
        title = _portrait_title(system, i, j, base, projected)
    ax.set_title(title)
    return ax


def _portrait_title(system: System, i: int, j: int, base, projected: bool) -> str:
    """The system's name, and for more than two states the projection or the slice drawn."""
    names = system.state_names
    if system.n <= 2:
        return system.name
    if projected:
        return f"{system.name}: projection onto the ({names[i]}, {names[j]}) plane"
    values = np.zeros(system.n) if base is None else np.asarray(base, dtype=float)
    others = [f"{name} = {values[k]:.3g}" for k, name in enumerate(names) if k not in (i, j)]
    shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
    return f"{system.name}: field in the slice {shown}"
