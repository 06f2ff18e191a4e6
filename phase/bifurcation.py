"""Bifurcation diagrams: branches of equilibria, of cycles of maps and of periodic orbits against
any measure, and fold curves.

A branch (from :func:`dynsys.continuation.continue_branch`) is drawn as the continued parameter
against a *measure* of the state: a state variable, the Euclidean norm, the loss (the potential of
a gradient system), or any function of the state. Stable parts are solid, unstable parts dashed,
and the colour gives the index (number of unstable directions: eigenvalues with positive real
part, or multipliers outside the unit circle). A branch of period-``k`` cycles of a map is drawn
as ``k`` curves, one per point of the cycle. Branches of periodic orbits of flows
(:func:`dynsys.continuation.continue_cycle`) are drawn as their amplitude, period, or the largest
and smallest value of a state over each cycle, in the colours of :func:`cycle_color` (see
:mod:`phase.cycles`). Special points carry a marker and a text: LP (fold), BP (branch point), H
(Hopf), IC (other index change), PD (period doubling), NS (Neimark-Sacker), LPC (fold of cycles);
a special point that was not located (``special_status`` other than CONVERGED) has an open marker
and a question mark. A diagram (a DataTree from :func:`dynsys.continuation.bifurcation_diagram`,
or a list of branches, of any of these kinds) is drawn branch by branch with one legend. Fold
curves from :func:`dynsys.continuation.continue_fold` are drawn in the plane of the two
parameters, cusps (CP) and Bogdanov-Takens points (BT) marked.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import xarray as xr

from dynsys.errors import InputError, InputTypeError

from ._diagram import (
    CYCLE_COLORS,
    INDEX_COLORS,
    SPECIAL_NAMES,
    SPECIAL_STYLE,
    DiagramArtists,
    LegendEntries,
    Track,
    _parameter_plane_curve,
    cycle_color,
    diagram_legend,
    draw_tracks,
    index_color,
    param_label,
    point_keys,
)
from ._kinds import dataset_kind, require
from ._measures import LOSS_NAMES, Measure, branch_context, evaluate
from ._style import axes_or_current
from .cycles import _cycle_keys, _cycle_tracks

__all__ = [
    "CYCLE_COLORS",
    "INDEX_COLORS",
    "LOSS_NAMES",
    "SPECIAL_NAMES",
    "SPECIAL_STYLE",
    "DiagramArtists",
    "cycle_color",
    "draw_branch",
    "draw_diagram",
    "draw_fold_curve",
    "index_color",
    "measure_values",
]

_param_label = param_label  # the name phase.curves and older code import
_BRANCH_KINDS = ("equilibrium branch", "map branch", "cycle branch")


# ---------------------------------------------------------------------------- measures
def measure_values(
    branch: xr.Dataset, measure: Measure = None, *, system=None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Evaluate a measure of the state along a branch and at its special points.

    Parameters
    ----------
    branch : xarray.Dataset
        A branch Dataset (variables ``param``, ``x``, ``special_param``, ``special_x``); for a
        branch of map cycles, ``x`` is the point at phase 0 of each cycle (:func:`draw_branch`
        draws every point).
    measure : None, int, str or callable
        None: the first state variable; an int: the state variable at that position; a state
        name; ``"norm"``: the Euclidean norm of the state; ``"loss"`` (or ``"energy"``,
        ``"potential"``): the potential of ``system`` at the branch's parameter values; a
        callable ``f(x)`` taking states ``(m, n)`` and returning ``(m,)`` (a function of one
        state is applied row by row).
    system : System, optional
        Needed for ``"loss"``: the system the branch was computed for.

    Returns
    -------
    values : ndarray, shape (step,)
    special_values : ndarray, shape (special,)
    label : str
        An axis label for the measure.

    Raises
    ------
    dynsys.errors.InputError
        If ``measure`` names no state, ``"loss"`` is asked for without a suitable system, or
        ``branch`` is a branch of periodic orbits (see :func:`phase.draw_cycle_branch`).
    dynsys.errors.InputTypeError
        If ``measure`` is of none of the accepted types.

    Examples
    --------
    >>> import xarray as xr
    >>> branch = xr.Dataset({"param": ("step", [0.0, 1.0]),
    ...                      "x": (("step", "state"), [[3.0, 4.0], [0.0, 1.0]]),
    ...                      "special_param": ("special", [0.5]),
    ...                      "special_x": (("special", "state"), [[0.0, 2.0]])},
    ...                     coords={"state": ["u", "v"]})
    >>> values, at_special, label = measure_values(branch, "norm")
    >>> values.tolist(), at_special.tolist(), label
    ([5.0, 1.0], [2.0], '|x|')
    """
    if dataset_kind(branch) == "cycle branch":
        raise InputError(
            "measure_values evaluates a measure on branches of equilibria and of maps; a branch "
            "of periodic orbits has a profile per step: draw it with phase.draw_cycle_branch "
            "(its amplitude, period, or the max and min of a measure over each cycle)."
        )
    names = [str(s) for s in branch["state"].values] if "state" in branch.coords else []
    X = np.asarray(branch["x"].values, dtype=float)
    n = X.shape[-1]
    S = np.asarray(branch["special_x"].values, dtype=float).reshape(-1, n)
    return _measure_pair(branch, measure, system, names, X, S)


def _measure_pair(branch, measure, system, names, X, S):
    """The measure at the steps ``X`` and the special points ``S`` of a branch, and a label."""
    param, params = branch_context(branch, system)
    P = np.asarray(branch["param"].values, dtype=float)
    SP = np.asarray(branch["special_param"].values, dtype=float).reshape(-1)
    kw = {"system": system, "param": param, "params": params}
    values, label = evaluate(measure, X, P, names, **kw)
    special_values, _ = evaluate(measure, S, SP, names, **kw)
    return values, special_values, label


def _point_tracks(branch: xr.Dataset, kind: str, measure: Measure, system):
    """The tracks of a branch of equilibria (one) or of period-k cycles of a map (one per
    point of the cycle), and an axis label."""
    names = [str(s) for s in branch["state"].values]
    if kind == "map branch":
        X = np.asarray(branch["x_cycle"].transpose("step", "phase", "state").values, dtype=float)
        S = np.asarray(
            branch["special_x_cycle"].transpose("special", "phase", "state").values, dtype=float
        )
    else:
        X = np.asarray(branch["x"].values, dtype=float)[:, None]
        S = np.asarray(branch["special_x"].values, dtype=float).reshape(-1, 1, len(names))
    if measure == "period":
        raise InputError(
            f"a {kind} has no period to draw (the measure 'period' is for branches of cycles "
            "of flows); draw it against a state, 'norm', 'loss' or 'amplitude'."
        )
    if measure == "amplitude":  # max - min of the first state over the points: 0 at a point
        label = f"amplitude (max - min of {names[0]})"
        return [Track(np.ptp(X[..., 0], axis=1), np.ptp(S[..., 0], axis=1))], label
    tracks, label = [], ""
    for j in range(X.shape[1]):
        values, special_values, label = _measure_pair(
            branch, measure, system, names, X[:, j], S[:, j]
        )
        tracks.append(Track(values, special_values, text=j == 0))
    return tracks, label


def _draw_one(branch, kind, measure, system, ax, label_specials, linewidth, seen, entries):
    """Draw one branch of any kind; return what was drawn, the axis label of the measure and
    whether the branch was drawn as a max/min envelope."""
    envelope = False
    if kind == "cycle branch":
        tracks, label, envelope = _cycle_tracks(branch, measure, system=system)
        keys, color_of, family = _cycle_keys(branch), cycle_color, "cycles"
    else:
        tracks, label = _point_tracks(branch, kind, measure, system)
        keys = point_keys(
            np.asarray(branch["stable"].values, dtype=bool),
            np.asarray(branch["index"].values, dtype=int),
            np.asarray(branch["nullity"].values, dtype=int)
            if "nullity" in branch
            else np.zeros(branch.sizes["step"], dtype=int),
        )
        color_of, family = index_color, "points"
    drawn = draw_tracks(
        ax,
        branch,
        tracks,
        keys,
        color_of=color_of,
        linewidth=linewidth,
        label_specials=label_specials,
        seen=seen,
        entries=entries,
        family=family,
    )
    return drawn, label, envelope


def draw_branch(
    branch: xr.Dataset,
    *,
    measure: Measure = None,
    system=None,
    ax=None,
    label_specials: bool = True,
    legend: bool = False,
    linewidth: float = 1.8,
    _seen: list | None = None,
) -> DiagramArtists:
    """Draw one branch: parameter against a measure, styled by stability and index.

    A branch of equilibria is one curve. A branch of period-``k`` cycles of a map (from
    :func:`dynsys.continuation.continue_branch` on a :class:`dynsys.maps.Map`) is ``k``
    curves, one per point of the cycle (``x_cycle``), so a period-doubling cascade shows all
    its points. A branch of periodic orbits of a flow is drawn as by
    :func:`phase.cycles.draw_cycle_branch` (a state measure: its largest and smallest value over
    each cycle).

    Parameters
    ----------
    branch : xarray.Dataset
        A branch from :func:`dynsys.continuation.continue_branch` (or a node of a diagram), or
        from :func:`dynsys.continuation.continue_cycle`.
    measure : None, int, str or callable
        What to put on the vertical axis (see :func:`measure_values`); also ``"amplitude"``
        (``max - min`` of the first state over a cycle: 0 on equilibria and fixed points) and,
        for cycles of flows, ``"period"``.
    system : System, optional
        The system of the branch, needed for the measure ``"loss"``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    label_specials : bool
        Write the type (LP, BP, H, IC, PD, NS, LPC) next to each special point's marker (once
        per point, on the first curve of the branch).
    legend : bool
        Add a legend (index colours, line styles, special types drawn).
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
        it), or the measure does not apply.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch
    >>> from dynsys.models import pitchfork_normal_form
    >>> opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    >>> branch = continue_branch(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    >>> drawn = draw_branch(branch)
    >>> [line.get_linestyle() for line in drawn.lines], [t.get_text() for t in drawn.texts]
    (['-', '--'], ['BP'])
    """
    kind = require(branch, "draw_branch", *_BRANCH_KINDS)
    ax = axes_or_current(ax)
    entries = LegendEntries()
    drawn, ylabel, _ = _draw_one(
        branch, kind, measure, system, ax, label_specials, linewidth, _seen, entries
    )
    if not ax.get_xlabel():
        ax.set_xlabel(param_label(branch))
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)
    if legend:
        diagram_legend(ax, entries)
    return drawn


def _branches(diagram) -> list[xr.Dataset]:
    if isinstance(diagram, xr.Dataset):
        return [diagram]
    if isinstance(diagram, xr.DataTree):
        out = [node.to_dataset() for node in diagram.children.values() if "param" in node]
        if "param" in diagram.dataset:
            out.insert(0, diagram.to_dataset())
        return out
    if isinstance(diagram, Mapping):
        return list(diagram.values())
    if isinstance(diagram, Iterable) and not isinstance(diagram, str):
        return list(diagram)
    raise InputTypeError(
        f"`diagram` must be a DataTree, a branch Dataset or a list of branches; got "
        f"{type(diagram).__name__}."
    )


def _title(branches: list[xr.Dataset], kinds: list[str]) -> str:
    system = branches[0].attrs.get("system", "")
    if set(kinds) == {"map branch"}:
        periods = {int(b.attrs.get("period", 1)) for b in branches}
        what = "fixed points" if periods == {1} else "fixed points and cycles"
        if 1 not in periods:
            what = "cycles"
        what += " of the map"
    else:
        parts = [
            word
            for word, kind in (("equilibria", "equilibrium branch"), ("cycles", "cycle branch"))
            if kind in kinds
        ]
        what = " and ".join(parts)
    return f"{system}: {what} in {param_label(branches[0])}".lstrip(": ")


def draw_diagram(
    diagram,
    *,
    measure: Measure = None,
    system=None,
    ax=None,
    label_specials: bool = True,
    legend: bool = True,
    title: str | None = None,
) -> DiagramArtists:
    """Draw a bifurcation diagram: every branch, one legend.

    Branches of equilibria, of fixed points and cycles of maps, and of periodic orbits of flows
    may be mixed: an equilibrium branch with its Hopf point and the branch of cycles started
    there (:func:`dynsys.continuation.continue_cycle`) make one picture, the cycles drawn as the
    largest and smallest value of the measure over each cycle (or, with ``measure="amplitude"``,
    their amplitude next to the equilibria at 0).

    Parameters
    ----------
    diagram : xarray.DataTree, xarray.Dataset, mapping or list of Datasets
        A result of :func:`dynsys.continuation.bifurcation_diagram` (its child nodes are the
        branches), one branch, or several branches.
    measure, system, label_specials
        As for :func:`draw_branch`. A special point shared by two branches (the junction of a
        switched branch) is labelled once.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    legend : bool
        Add one legend: index colours, stable/unstable, special types drawn.
    title : str, optional
        Axes title (default: the system name, what the branches hold and the continued
        parameter, from the attributes).

    Returns
    -------
    DiagramArtists
        All branches' lines, markers and texts.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``diagram`` is none of the accepted types.
    dynsys.errors.InputError
        If a branch is another kind of result (the message names the function that draws it).

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, bifurcation_diagram
    >>> from dynsys.models import pitchfork_normal_form
    >>> opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    >>> tree = bifurcation_diagram(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    >>> drawn = draw_diagram(tree)
    >>> len(drawn.lines), [t.get_text() for t in drawn.texts]
    (3, ['BP'])

    The logistic map's period-doubling cascade, every point of every cycle:

    >>> from dynsys.models import logistic
    >>> opts = ContinuationOptions(ds_max=0.05, p_min=2.5, p_max=3.5)
    >>> tree = bifurcation_diagram(logistic(r=2.5), [0.6], "r", options=opts)
    >>> drawn = draw_diagram(tree)
    >>> sorted({round(float(m.get_xdata()[0]), 6) for m in drawn.markers})  # r = 3, 1 + sqrt 6
    [3.0, 3.44949]
    """
    ax = axes_or_current(ax)
    branches = _branches(diagram)
    kinds = [require(b, "draw_diagram", *_BRANCH_KINDS) for b in branches]
    drawn = DiagramArtists([], [], [])
    seen: list = []
    entries = LegendEntries()
    labels, envelope = [], False
    for branch, kind in zip(branches, kinds, strict=True):
        part, label, is_envelope = _draw_one(
            branch, kind, measure, system, ax, label_specials, 1.8, seen, entries
        )
        drawn = drawn + part
        labels.append(label)
        envelope = envelope or is_envelope
    if branches:
        if not ax.get_xlabel():
            ax.set_xlabel(param_label(branches[0]))
        if not ax.get_ylabel():
            ylabel = labels[0]
            if envelope and len(set(kinds)) > 1:
                ylabel += " (cycles: max and min)"
            elif envelope:
                ylabel = f"max and min of {ylabel}"
            ax.set_ylabel(ylabel)
    if legend and branches:
        diagram_legend(ax, entries)
    if title is None and branches:
        title = _title(branches, kinds)
    if title:
        ax.set_title(title)
    return drawn


def draw_fold_curve(
    curve: xr.Dataset,
    *,
    ax=None,
    color: str = "#2c3e50",
    label_specials: bool = True,
    label: str | None = None,
) -> DiagramArtists:
    """Draw a fold curve from :func:`dynsys.continuation.continue_fold` in the parameter plane.

    The curve is solid where the fold coefficient is positive and dashed where it is negative
    (the two sides of a cusp); cusps (CP) and Bogdanov-Takens points (BT) are marked.

    Parameters
    ----------
    curve : xarray.Dataset
        Variables ``param``, ``param2``, ``fold_a``, ``special_type``, ``special_param``,
        ``special_param2``, ``special_status``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    color : str
        Colour of the curve.
    label_specials : bool
        Write "CP" / "BT" next to the markers.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    DiagramArtists

    Examples
    --------
    >>> import numpy as np
    >>> from dynsys.continuation import ContinuationOptions, continue_fold
    >>> from dynsys.system import System
    >>> cusp = System(lambda x, p: p["b1"] + p["b2"] * x - x**3, ["x"], {"b1": 0.0, "b2": 1.0})
    >>> x_fold = 1 / np.sqrt(3)
    >>> curve = continue_fold(cusp, [x_fold], "b1", "b2", params={"b1": -2 * x_fold**3},
    ...                       options=ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0))
    >>> drawn = draw_fold_curve(curve)
    >>> [t.get_text() for t in drawn.texts]
    ['CP']
    """
    ax = axes_or_current(ax)
    sign = np.asarray(curve["fold_a"].values, dtype=float) >= 0
    keys = [bool(sign[k]) for k in range(max(len(sign) - 1, 1))]
    return _parameter_plane_curve(
        ax, curve, keys, color=color, label=label, dashes="--", label_specials=label_specials
    )
