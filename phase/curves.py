"""Two-parameter diagrams: fold and Hopf curves of equilibria in the plane of two parameters.

Fold curves come from :func:`dynsys.continuation.continue_fold` (drawn by
:func:`phase.bifurcation.draw_fold_curve`), Hopf curves from
:func:`dynsys.continuation.continue_hopf`: solid where the curve is a Hopf curve (a pair of
eigenvalues ``+-i omega``), dotted on its neutral-saddle part (a real pair ``+-mu``, where there is
no oscillation and nothing bifurcates). Codimension-two points carry markers: cusp (CP),
Bogdanov-Takens (BT), generalised Hopf (GH), zero-Hopf (ZH) and double Hopf (HH).
:func:`draw_two_parameter_diagram` draws a whole DataTree from
:func:`dynsys.continuation.two_parameter_diagram` with one legend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.lines import Line2D

from dynsys.errors import InputTypeError

from ._diagram import SPECIAL_NAMES, SPECIAL_STYLE, DiagramArtists, _parameter_plane_curve
from .bifurcation import draw_fold_curve

__all__ = ["FOLD_COLOR", "HOPF_COLOR", "draw_hopf_curve", "draw_two_parameter_diagram"]

FOLD_COLOR = "#2c3e50"
HOPF_COLOR = "#cc79a7"  # Okabe-Ito reddish purple


def draw_hopf_curve(
    curve: xr.Dataset,
    *,
    ax=None,
    color: str = HOPF_COLOR,
    label_specials: bool = True,
    label: str | None = None,
) -> DiagramArtists:
    """Draw a Hopf curve from :func:`dynsys.continuation.continue_hopf` in the parameter plane.

    Solid on the Hopf part, dotted where ``neutral_saddle`` is true; codimension-two points
    (BT, GH, ZH, HH) are marked, open with a question mark where they were not located.

    Parameters
    ----------
    curve : xarray.Dataset
        Variables ``param``, ``param2``, ``neutral_saddle``, ``special_type``,
        ``special_param``, ``special_param2``, ``special_status``.
    ax : matplotlib.axes.Axes, optional
        Where to draw (default: the current axes).
    color : str
        Colour of the curve.
    label_specials : bool
        Write the type next to each marker.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    DiagramArtists

    Examples
    --------
    >>> from dynsys.continuation import ContinuationOptions, continue_branch, continue_hopf
    >>> from dynsys.models import bogdanov_takens_normal_form
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    >>> system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    >>> branch = continue_branch(system, [-0.5, 0.0], "b1", options=opts)
    >>> curve = continue_hopf(system, branch, "b1", "b2", options=opts)
    >>> drawn = draw_hopf_curve(curve)
    >>> [t.get_text() for t in drawn.texts]
    ['BT']
    """
    ax = ax or plt.gca()
    saddle = np.asarray(curve["neutral_saddle"].values, dtype=bool)
    # a segment is drawn as a Hopf part when both its ends are
    keys = [not (saddle[k] or saddle[k + 1]) for k in range(max(len(saddle) - 1, 1))]
    if len(saddle) == 1:
        keys = [not bool(saddle[0])]
    return _parameter_plane_curve(
        ax, curve, keys, color=color, label=label, dashes=":", label_specials=label_specials
    )


def draw_two_parameter_diagram(
    tree: xr.DataTree, *, ax=None, legend: bool = True, title: str | None = None
) -> DiagramArtists:
    """Draw every fold and Hopf curve of a two-parameter diagram, with one legend.

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`dynsys.continuation.two_parameter_diagram` (or any tree of fold curves from
        :func:`~dynsys.continuation.continue_fold` and Hopf curves from
        :func:`~dynsys.continuation.continue_hopf`; other children are skipped).
    ax : matplotlib.axes.Axes, optional
        Where to draw.
    legend : bool
        Add a legend of the curve kinds and of the special points drawn.
    title : str, optional
        Title (default: the system and the two parameters).

    Returns
    -------
    DiagramArtists

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``tree`` is not a DataTree.

    Examples
    --------
    >>> from dynsys.continuation import (ContinuationOptions, continue_branch,
    ...                                  two_parameter_diagram)
    >>> from dynsys.models import bogdanov_takens_normal_form
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    >>> system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    >>> branch = continue_branch(system, [-0.5, 0.0], "b1", options=opts)
    >>> tree = two_parameter_diagram(system, branch, "b2", options=opts)
    >>> drawn = draw_two_parameter_diagram(tree)
    >>> sorted({t.get_text() for t in drawn.texts})
    ['BT']
    """
    if not isinstance(tree, xr.DataTree):
        raise InputTypeError(
            f"`tree` must be the DataTree of two_parameter_diagram(); got {type(tree).__name__}."
        )
    ax = ax or plt.gca()
    drawn = DiagramArtists([], [], [])
    kinds: list[str] = []
    seen_types: list[str] = []
    for node in tree.children.values():
        curve = node.to_dataset()
        if "param2" not in curve:
            continue
        if "fold_a" in curve:
            part = draw_fold_curve(curve, ax=ax, color=FOLD_COLOR)
            kinds.append("fold")
        elif "neutral_saddle" in curve:
            part = draw_hopf_curve(curve, ax=ax, color=HOPF_COLOR)
            kinds.append("hopf")
            if bool(np.any(curve["neutral_saddle"].values)):
                kinds.append("neutral")
        else:
            continue
        seen_types += [str(t) for t in curve["special_type"].values]
        drawn = drawn + part
    if legend and drawn.lines:
        handles = []
        if "fold" in kinds:
            handles.append(Line2D([], [], color=FOLD_COLOR, label="fold curve (LP)"))
        if "hopf" in kinds:
            handles.append(Line2D([], [], color=HOPF_COLOR, label="Hopf curve (H)"))
        if "neutral" in kinds:
            handles.append(Line2D([], [], color=HOPF_COLOR, linestyle=":", label="neutral saddle"))
        for kind in dict.fromkeys(seen_types):
            style = SPECIAL_STYLE.get(kind, {"marker": "x", "color": "black"})
            handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="none",
                    marker=style["marker"],
                    color=style["color"],
                    label=SPECIAL_NAMES.get(kind, kind),
                )
            )
        ax.legend(handles=handles, fontsize="small", loc="best")
    if title is None:
        attrs = tree.attrs
        title = (
            f"{attrs.get('system', '')}: fold and Hopf curves in "
            f"({attrs.get('continuation_param', '')}, {attrs.get('continuation_param2', '')})"
        ).lstrip(": ")
    if title:
        ax.set_title(title)
    return drawn
