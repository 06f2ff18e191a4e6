"""Bifurcation diagrams: branches of equilibria against any measure, and fold curves.

A branch (from :func:`dynsys.continuation.continue_branch`) is drawn as the continued parameter
against a *measure* of the state: a state variable, the Euclidean norm, the loss (the potential of
a gradient system), or any function of the state. Stable parts are solid, unstable parts dashed,
and the colour gives the index (number of unstable directions). Special points carry a marker and
a text: LP (fold), BP (branch point), H (Hopf), IC (other index change); a special point that
was not located (``special_status`` other than CONVERGED) has an open marker and a question
mark. A diagram (a DataTree from
:func:`dynsys.continuation.bifurcation_diagram`, or a list of branches) is drawn branch by branch
with one legend. Fold curves from :func:`dynsys.continuation.continue_fold` are drawn in the plane
of the two parameters, cusps (CP) and Bogdanov-Takens points (BT) marked.

Every function takes ``ax=None`` (then the current axes) and returns what it drew.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from dynsys import Status
from dynsys.errors import InputError, InputTypeError

from ._style import label_from_attrs

__all__ = [
    "DiagramArtists",
    "draw_branch",
    "draw_diagram",
    "draw_fold_curve",
    "index_color",
    "measure_values",
]

INDEX_COLORS = ("#1f4e9c", "#e67e22", "#c0392b", "#8e44ad", "#16a085", "#7f6000")
SPECIAL_STYLE = {
    "LP": {"marker": "s", "color": "#2c3e50"},
    "BP": {"marker": "o", "color": "#27ae60"},
    "H": {"marker": "^", "color": "#8e44ad"},
    "IC": {"marker": "D", "color": "#7f8c8d"},
    "CP": {"marker": "*", "color": "#c0392b"},
    "BT": {"marker": "P", "color": "#16a085"},
    "PD": {"marker": "v", "color": "#d35400"},
    "NS": {"marker": "h", "color": "#2980b9"},
    "LPC": {"marker": "s", "color": "#7f6000"},
    "GH": {"marker": "X", "color": "#b03a2e"},
    "ZH": {"marker": "d", "color": "#5d6d7e"},
    "HH": {"marker": "8", "color": "#6c3483"},
}
SPECIAL_NAMES = {
    "LP": "fold (LP)",
    "BP": "branch point (BP)",
    "H": "Hopf (H)",
    "IC": "index change (IC)",
    "CP": "cusp (CP)",
    "BT": "Bogdanov-Takens (BT)",
    "PD": "period doubling (PD)",
    "NS": "Neimark-Sacker (NS)",
    "LPC": "fold of cycles (LPC)",
    "GH": "generalised Hopf (GH)",
    "ZH": "zero-Hopf (ZH)",
    "HH": "double Hopf (HH)",
}
LOSS_NAMES = ("loss", "energy", "potential")

Measure = str | int | Callable[[np.ndarray], Any] | None


class DiagramArtists(NamedTuple):
    """What a drawing function drew: branch lines, special-point markers, their texts."""

    lines: list
    markers: list
    texts: list

    def __add__(self, other):  # type: ignore[override]
        return DiagramArtists(
            self.lines + other.lines, self.markers + other.markers, self.texts + other.texts
        )


def index_color(index: int) -> str:
    """The colour of branch parts with ``index`` unstable directions.

    Examples
    --------
    >>> index_color(0), index_color(1)
    ('#1f4e9c', '#e67e22')
    """
    index = int(index)
    if index < 0:
        return "#7f8c8d"
    return INDEX_COLORS[min(index, len(INDEX_COLORS) - 1)]


# ---------------------------------------------------------------------------- measures
def _branch_params(branch: xr.Dataset, system) -> dict[str, float]:
    stored = {
        name: float(branch.attrs[f"param_{name}"])
        for name in system.param_names
        if f"param_{name}" in branch.attrs
    }
    return system.resolve_params(stored)


def _loss(system, branch: xr.Dataset, X: np.ndarray, P: np.ndarray) -> np.ndarray:
    if system is None or not system.has_potential:
        raise InputError(
            "the measure 'loss' needs `system=`, a system with a potential (a GradientSystem "
            "or a LyapunovSystem); pass the system the branch was computed for."
        )
    param = str(branch.attrs.get("continuation_param", ""))
    if param not in system.param_names:
        raise InputError(
            f"`system` has no parameter {param!r} (the branch's continuation parameter); "
            "pass the system the branch was computed for."
        )
    base = _branch_params(branch, system)
    return np.array(
        [float(system.potential(x, {**base, param: float(p)})) for x, p in zip(X, P, strict=True)]
    ).reshape(len(X))


def _apply(fn: Callable, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.zeros(0)
    values = np.asarray(fn(X), dtype=float)
    if values.shape != (len(X),):  # not vectorised over the leading axis: one state at a time
        values = np.array([float(np.asarray(fn(x), dtype=float)) for x in X])
    return values


def measure_values(
    branch: xr.Dataset, measure: Measure = None, *, system=None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Evaluate a measure of the state along a branch and at its special points.

    Parameters
    ----------
    branch : xarray.Dataset
        A branch Dataset (variables ``param``, ``x``, ``special_param``, ``special_x``).
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
        If ``measure`` names no state, or ``"loss"`` is asked for without a suitable system.
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
    names = [str(s) for s in branch["state"].values] if "state" in branch.coords else []
    X = np.asarray(branch["x"].values, dtype=float)
    P = np.asarray(branch["param"].values, dtype=float)
    n = X.shape[-1]
    S = np.asarray(branch["special_x"].values, dtype=float).reshape(-1, n)
    SP = np.asarray(branch["special_param"].values, dtype=float).reshape(-1)
    if measure is None:
        measure = 0
    if callable(measure):
        label = getattr(measure, "__name__", "measure")
        return _apply(measure, X), _apply(measure, S), label
    if isinstance(measure, int | np.integer) and not isinstance(measure, bool):
        k = int(measure)
        if not -n <= k < n:
            raise InputError(f"`measure`={k} is not a state index; the state has {n} variables.")
        label = names[k] if names else f"x[{k}]"
        return X[:, k], S[:, k], label
    if not isinstance(measure, str):
        raise InputTypeError(
            f"`measure` must be None, a state index, a state name, 'norm', 'loss' or a callable; "
            f"got {measure!r}."
        )
    if measure in names:
        k = names.index(measure)
        return X[:, k], S[:, k], measure
    if measure == "norm":
        return np.linalg.norm(X, axis=-1), np.linalg.norm(S, axis=-1), "|x|"
    if measure in LOSS_NAMES:
        return _loss(system, branch, X, P), _loss(system, branch, S, SP), measure
    raise InputError(
        f"`measure` {measure!r} is not a state variable {names}, 'norm' or 'loss'; choose one of "
        "those or pass a function of the state."
    )


# ---------------------------------------------------------------------------- drawing
def _runs(keys: list) -> list[tuple[int, int]]:
    """Maximal runs ``[start, stop)`` of equal keys."""
    runs, start = [], 0
    for k in range(1, len(keys) + 1):
        if k == len(keys) or keys[k] != keys[start]:
            runs.append((start, k))
            start = k
    return runs


def _point_keys(stable: np.ndarray, index: np.ndarray, nullity: np.ndarray) -> list:
    """The style key ``(stable, index)`` of each point; a non-hyperbolic point (a special point
    on the grid) takes its successor's key, so one degenerate point makes no segment of its
    own."""
    keys = []
    for k in range(len(stable)):
        j = k + 1 if k + 1 < len(stable) and nullity[k] > 0 and nullity[k + 1] == 0 else k
        keys.append((bool(stable[j]), int(index[j])))
    return keys


def _vertices(branch: xr.Dataset, values: np.ndarray, special_values: np.ndarray):
    """The polyline of a branch with its special points inserted where they lie between two
    steps, and the style key of each segment: a change of stability or index happens at the
    special point, not at the next step."""
    p = np.asarray(branch["param"].values, dtype=float)
    nullity = (
        np.asarray(branch["nullity"].values, dtype=int)
        if "nullity" in branch
        else np.zeros(len(p), dtype=int)
    )
    point_keys = _point_keys(
        np.asarray(branch["stable"].values, dtype=bool),
        np.asarray(branch["index"].values, dtype=int),
        nullity,
    )
    steps = np.asarray(branch["special_step"].values, dtype=int).reshape(-1)
    sp = np.asarray(branch["special_param"].values, dtype=float).reshape(-1)
    inside = {}
    for row, k in enumerate(steps):
        if 0 <= k < len(p) - 1 and np.isfinite(sp[row]) and np.isfinite(special_values[row]):
            inside.setdefault(int(k), []).append(row)
    xs, ys, keys = [], [], []
    for k in range(len(p)):
        xs.append(p[k])
        ys.append(values[k])
        if k == len(p) - 1:
            break
        keys.append(point_keys[k])
        for row in inside.get(k, []):
            xs.append(sp[row])
            ys.append(special_values[row])
            keys.append(point_keys[k + 1])
    if not keys and point_keys:  # a single point
        keys = [point_keys[0]]
    return np.asarray(xs), np.asarray(ys), keys


def _param_label(branch: xr.Dataset) -> str:
    name = branch.attrs.get("continuation_param")
    return str(name) if name else label_from_attrs(branch["param"], "parameter")


def _located(status: xr.DataArray) -> list[bool]:
    """Whether each special point was located: its ``special_status`` is CONVERGED (files
    written before the status table hold the names "converged" / "guess")."""
    values = np.asarray(status.values).reshape(-1)
    if values.dtype.kind in "iu":
        return (values == Status.CONVERGED).tolist()
    return [str(v) == "converged" for v in values]


def _label_specials(ax, types, located, xs, ys, *, text: bool, seen: list | None):
    markers, texts = [], []
    for kind, ok, x, y in zip(types, located, xs, ys, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        style = SPECIAL_STYLE.get(kind, {"marker": "x", "color": "black"})
        guess = not ok
        (marker,) = ax.plot(
            [x],
            [y],
            linestyle="none",
            marker=style["marker"],
            markersize=8,
            markeredgecolor=style["color"],
            markerfacecolor="white" if guess else style["color"],
            markeredgewidth=1.5,
            zorder=6,
        )
        markers.append(marker)
        if not text:
            continue
        scale = max(abs(x), abs(y), 1.0)
        if seen is not None:
            if any(
                k == kind and abs(a - x) <= 1e-6 * scale and abs(b - y) <= 1e-6 * scale
                for k, a, b in seen
            ):
                continue
            seen.append((kind, x, y))
        texts.append(
            ax.annotate(
                kind + ("?" if guess else ""),
                (x, y),
                xytext=(5, 5),
                textcoords="offset points",
                fontsize="small",
                color=style["color"],
                zorder=7,
            )
        )
    return markers, texts


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

    Parameters
    ----------
    branch : xarray.Dataset
        A branch from :func:`dynsys.continuation.continue_branch` (or a node of a diagram).
    measure : None, int, str or callable
        What to put on the vertical axis (see :func:`measure_values`).
    system : System, optional
        The system of the branch, needed for the measure ``"loss"``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    label_specials : bool
        Write the type (LP, BP, H, IC) next to each special point's marker.
    legend : bool
        Add a legend (index colours, line styles, special types).
    linewidth : float
        Width of the branch lines.

    Returns
    -------
    DiagramArtists
        ``lines`` (one per run of equal stability and index), ``markers`` and ``texts`` of the
        special points.

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
    ax = ax or plt.gca()
    values, special_values, ylabel = measure_values(branch, measure, system=system)
    xs, ys, keys = _vertices(branch, values, special_values)
    lines = []
    for start, stop in _runs(keys):
        part = slice(start, stop + 1)  # segments start..stop-1 join vertices start..stop
        is_stable, k = keys[start]
        (line,) = ax.plot(
            xs[part],
            ys[part],
            color=index_color(k),
            linestyle="-" if is_stable else "--",
            linewidth=linewidth,
            zorder=3,
        )
        lines.append(line)
    markers, texts = _label_specials(
        ax,
        [str(t) for t in branch["special_type"].values],
        _located(branch["special_status"]),
        np.asarray(branch["special_param"].values, dtype=float).reshape(-1),
        special_values,
        text=label_specials,
        seen=_seen,
    )
    if not ax.get_xlabel():
        ax.set_xlabel(_param_label(branch))
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)
    if legend:
        _legend(ax, [branch])
    return DiagramArtists(lines, markers, texts)


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
    if isinstance(diagram, Iterable):
        return list(diagram)
    raise InputTypeError(
        f"`diagram` must be a DataTree, a branch Dataset or a list of branches; got "
        f"{type(diagram).__name__}."
    )


def _legend(ax, branches: list[xr.Dataset]):
    indices = sorted({int(i) for b in branches for i in np.asarray(b["index"].values)})
    types = [
        t
        for t in SPECIAL_STYLE
        if any(t in [str(s) for s in b["special_type"].values] for b in branches)
    ]
    handles = [Line2D([], [], color=index_color(k), label=f"index {k}") for k in indices]
    handles += [
        Line2D([], [], color="black", linestyle="-", label="stable"),
        Line2D([], [], color="black", linestyle="--", label="unstable"),
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="none",
            marker=SPECIAL_STYLE[t]["marker"],
            color=SPECIAL_STYLE[t]["color"],
            label=SPECIAL_NAMES[t],
        )
        for t in types
    ]
    return ax.legend(handles=handles, loc="best", fontsize="small", framealpha=0.85)


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
        Add one legend: index colours, stable/unstable, special types present.
    title : str, optional
        Axes title (default: the system name and the continued parameter, from the attributes).

    Returns
    -------
    DiagramArtists
        All branches' lines, markers and texts.

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``diagram`` is none of the accepted types.

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, bifurcation_diagram
    >>> from dynsys.models import pitchfork_normal_form
    >>> opts = ContinuationOptions(ds_max=0.2, p_min=-1.0, p_max=1.0)
    >>> tree = bifurcation_diagram(pitchfork_normal_form(mu=-1.0), [0.0], "mu", options=opts)
    >>> drawn = draw_diagram(tree)
    >>> len(drawn.lines), [t.get_text() for t in drawn.texts]
    (3, ['BP'])
    """
    ax = ax or plt.gca()
    branches = _branches(diagram)
    drawn = DiagramArtists([], [], [])
    seen: list = []
    for branch in branches:
        drawn = drawn + draw_branch(
            branch,
            measure=measure,
            system=system,
            ax=ax,
            label_specials=label_specials,
            _seen=seen,
        )
    if legend and branches:
        _legend(ax, branches)
    if title is None and branches:
        attrs = branches[0].attrs
        title = f"{attrs.get('system', '')}: equilibria in {_param_label(branches[0])}".lstrip(": ")
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
    ax = ax or plt.gca()
    p1 = np.asarray(curve["param"].values, dtype=float)
    p2 = np.asarray(curve["param2"].values, dtype=float)
    sign = np.asarray(curve["fold_a"].values, dtype=float) >= 0
    keys = [bool(sign[k]) for k in range(max(len(sign) - 1, 1))]
    lines = []
    for start, stop in _runs(keys):
        part = slice(start, stop + 1)
        (line,) = ax.plot(
            p1[part],
            p2[part],
            color=color,
            linestyle="-" if keys[start] else "--",
            linewidth=1.8,
            label=label if not lines else None,
        )
        lines.append(line)
    markers, texts = _label_specials(
        ax,
        [str(t) for t in curve["special_type"].values],
        _located(curve["special_status"]),
        np.asarray(curve["special_param"].values, dtype=float).reshape(-1),
        np.asarray(curve["special_param2"].values, dtype=float).reshape(-1),
        text=label_specials,
        seen=None,
    )
    attrs = curve.attrs
    if not ax.get_xlabel():
        ax.set_xlabel(str(attrs.get("continuation_param", "parameter 1")))
    if not ax.get_ylabel():
        ax.set_ylabel(str(attrs.get("continuation_param2", "parameter 2")))
    return DiagramArtists(lines, markers, texts)
