"""The orbit diagram of a map: iterate at many parameter values, plot where the orbits settle.

This is the classical brute-force picture of a period-doubling cascade: at each value of the
parameter, orbits are iterated past a transient and their last iterates plotted. It shows only
attractors (what iteration finds), each as many points as its period, and chaotic bands as
clouds. Continuation (:func:`dynsys.continuation.bifurcation_diagram` on a Map, drawn by
:func:`phase.draw_diagram`) finds the unstable cycles too and locates the bifurcations exactly;
drawn on the same axes, its stable parts lie on the orbit diagram's points.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dynsys import IterateOptions, iterate
from dynsys.errors import InputError, UnknownParameterError
from dynsys.maps import require_map

from ._measures import Measure, evaluate

__all__ = ["draw_orbit_diagram", "orbit_diagram_points"]


def _check_count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InputError(f"`{name}` must be an integer >= {low}; got {value!r}.")
    return int(value)


def orbit_diagram_points(
    map,
    param: str,
    values: Sequence[float],
    x0,
    *,
    n_transient: int = 500,
    n_keep: int = 100,
    params: Mapping[str, float] | None = None,
    max_period: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """The points of an orbit diagram: parameter values and states where the orbits are after
    their transient.

    At each parameter value every start in ``x0`` is iterated by
    :func:`dynsys.integrate.iterate` for ``n_transient + n_keep`` steps, saving every iterate.
    An orbit that settles on a cycle (period at most ``max_period``) contributes the points of
    that cycle; one that does not contributes its last ``n_keep`` iterates; one that escapes or
    becomes non-finite contributes nothing.

    Returns
    -------
    p : ndarray, shape (m,)
        The parameter value of each point.
    X : ndarray, shape (m, n)
        The states.

    Examples
    --------
    >>> from dynsys.models import logistic
    >>> p, X = orbit_diagram_points(logistic(), "r", [2.5, 3.2], [0.3])
    >>> p.tolist(), sorted(X[:, 0].round(6).tolist())
    ([2.5, 3.2, 3.2], [0.513045, 0.6, 0.799455])
    """
    map = require_map(map, "draw_orbit_diagram()")
    if not isinstance(param, str) or param not in map.param_names:
        raise UnknownParameterError(
            f"`param` {param!r} is not a parameter of map '{map.name}'; it has "
            f"{sorted(map.param_names)}."
        )
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise InputError("`values` must be a non-empty sequence of finite parameter values.")
    n_transient = _check_count("n_transient", n_transient, 0)
    n_keep = _check_count("n_keep", n_keep, 1)
    n = map.n
    starts = np.asarray(x0, dtype=float)
    if n == 1 and starts.ndim <= 1:
        starts = starts.reshape(-1, 1)
    options = IterateOptions(
        max_steps=n_transient + n_keep,
        save_every=1,
        max_period=_check_count("max_period", max_period, 1),
    )
    base = dict(params or {})
    ps, xs = [], []
    for value in values:
        run = iterate(map, starts, params={**base, param: float(value)}, options=options)
        period = np.asarray(run["period"].values, dtype=int)
        cycles = np.asarray(run["x_cycle"].transpose("orbit", "phase", "state").values)
        saved = np.asarray(run["x_saved"].transpose("orbit", "iteration", "state").values)
        for orbit, k in enumerate(period):
            points = cycles[orbit, :k] if k > 0 else saved[orbit, n_transient + 1 :]
            points = points[np.all(np.isfinite(points), axis=1)]
            ps.append(np.full(len(points), value))
            xs.append(points)
    return np.concatenate(ps), np.concatenate(xs).reshape(-1, n)


def draw_orbit_diagram(
    map,
    param: str,
    values: Sequence[float],
    x0,
    *,
    n_transient: int = 500,
    n_keep: int = 100,
    measure: Measure = None,
    params: Mapping[str, float] | None = None,
    max_period: int = 64,
    ax=None,
    color: str = "0.35",
    markersize: float = 1.0,
    label: str | None = None,
):
    """Draw the orbit diagram of a map: at each parameter value, a measure of the last iterates
    of orbits from ``x0`` (see :func:`orbit_diagram_points`).

    Parameters
    ----------
    map : Map
        The map (a :class:`dynsys.maps.Map`; gradient descent on a system is
        :func:`dynsys.maps.gradient_descent_map`).
    param : str
        The parameter on the horizontal axis.
    values : sequence of float
        Its values.
    x0 : array_like, shape (n,) or (m, n)
        Start states, the same at every parameter value (several starts find coexisting
        attractors); for a one-state map a flat array of starts is accepted.
    n_transient : int
        Iterations left out before plotting.
    n_keep : int
        Iterations plotted per orbit (an orbit that settles on a cycle gives its points once).
    measure : None, int, str or callable
        None: the first state; a state name or index; ``"norm"``; ``"loss"`` (the potential of
        a map that has one, such as gradient descent); a function of the state.
    params : mapping, optional
        Values of the other parameters.
    max_period : int
        Longest cycle :func:`dynsys.integrate.iterate` looks for when deciding that an orbit
        has settled.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    color : str
        Colour of the points.
    markersize : float
        Size of the points.
    label : str, optional
        Legend label (default "orbit diagram (last n_keep iterates)").

    Returns
    -------
    matplotlib.lines.Line2D
        The points (``get_data()`` gives the parameter values and the measure).

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``map`` is not a Map.
    dynsys.errors.InputError
        If ``param`` is not a parameter of the map, ``values`` is empty or not finite, or a
        count is not a valid integer.

    Examples
    --------
    At ``r = 3.2`` the logistic map settles on its 2-cycle
    ``(r + 1 -+ sqrt((r - 3)(r + 1))) / (2 r)``:

    >>> import numpy as np
    >>> from dynsys.models import logistic
    >>> points = draw_orbit_diagram(logistic(), "r", np.linspace(2.8, 4.0, 25), [0.3])
    >>> r, x = points.get_data()
    >>> exact = (4.2 + np.array([-1, 1]) * np.sqrt(0.2 * 4.2)) / 6.4
    >>> bool(np.allclose(np.sort(x[np.isclose(r, 3.2)]), exact))
    True
    """
    ax = ax or plt.gca()
    p, X = orbit_diagram_points(
        map,
        param,
        values,
        x0,
        n_transient=n_transient,
        n_keep=n_keep,
        params=params,
        max_period=max_period,
    )
    names = list(map.state_names)
    y, ylabel = evaluate(measure, X, p, names, system=map, param=param, params=dict(params or {}))
    (points,) = ax.plot(
        p,
        y,
        linestyle="none",
        marker=".",
        markersize=markersize,
        color=color,
        alpha=0.5,
        rasterized=True,
        label=label or f"orbit diagram (last {n_keep} iterates)",
        zorder=1,
    )
    if not ax.get_xlabel():
        ax.set_xlabel(param)
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)
    return points
