"""``two_parameter_diagram``: the fold and Hopf curves through the special points of a branch,
and the curves that meet them at Bogdanov-Takens points."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .._dataset import provenance
from ..errors import ContinuationError, InputError, InputTypeError, UnknownParameterError
from ._fold_curve import continue_fold
from ._hopf_curve import continue_hopf
from ._options import ContinuationOptions

__all__ = ["two_parameter_diagram"]

_CURVES = {"fold": continue_fold, "hopf": continue_hopf}
_FROM_BRANCH = {"LP": "fold", "H": "hopf"}
_ACROSS_BT = {"fold": "hopf", "hopf": "fold"}  # at a BT point the other curve starts
_ON_CURVE = 0.1  # a point within this fraction of a step of a traced curve lies on it


def _on_curve(curve: xr.Dataset, p1: float, p2: float, x: np.ndarray) -> bool:
    """Whether ``(x, p1, p2)`` lies on ``curve``: some step of the curve crosses ``param2 = p2``
    and the linear interpolation there is within a tenth of that step of the point."""
    P2 = curve["param2"].values
    U = np.column_stack([curve["x"].values, curve["param"].values, P2])
    point = np.append(x, [p1, p2])
    slack = 1e-9 * (1.0 + float(np.max(np.abs(point))))
    for k in range(len(P2) - 1):
        a, b = P2[k] - p2, P2[k + 1] - p2
        if a * b > 0:
            continue
        theta = 0.0 if a == b else a / (a - b)
        guess = U[k] + theta * (U[k + 1] - U[k])
        step = float(np.linalg.norm(U[k + 1] - U[k]))
        if float(np.linalg.norm(guess - point)) <= _ON_CURVE * step + slack:
            return True
    return False


def _check(system, branch, param2) -> str:
    if not isinstance(branch, xr.Dataset):
        raise InputTypeError(
            f"`branch` must be a branch Dataset from continue_branch; got {type(branch).__name__}."
        )
    param1 = branch.attrs.get("continuation_param")
    if param1 is None or "continuation_param2" in branch.attrs:
        raise InputError(
            "`branch` must be a branch from continue_branch (one continuation parameter)."
        )
    if not isinstance(param2, str) or param2 not in system.param_names:
        raise UnknownParameterError(
            f"{param2!r} is not a parameter of system '{system.name}'; it has "
            f"{sorted(system.param_names)}."
        )
    return str(param1)


def two_parameter_diagram(
    system,
    branch: xr.Dataset,
    param2: str,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions | None = None,
    param1_range: tuple[float, float] = (-np.inf, np.inf),
    max_curves: int = 20,
    progress: bool = False,
) -> xr.DataTree:
    """Fold and Hopf curves in ``(param1, param2)``: through every fold (LP) and Hopf (H) point
    of a branch, and, from every Bogdanov-Takens point on them, the curve of the other kind.

    Each curve is traced once: a point on a curve already traced (two folds joined through a
    cusp, two Hopf points on one loop, a BT point where both curves are known) starts none.

    Parameters
    ----------
    system : System or GradientSystem
        The vector field the branch was computed for.
    branch : xarray.Dataset
        A branch from :func:`continue_branch` (its ``continuation_param`` is ``param1``).
    param2 : str
        The second parameter.
    params, options, param1_range, progress
        As for :func:`continue_fold` and :func:`continue_hopf` (the same for every curve).
    max_curves : int
        Stop after this many curves.

    Returns
    -------
    xarray.DataTree
        Children ``fold0``, ``fold1``, ... (from :func:`continue_fold`) and ``hopf0``, ...
        (from :func:`continue_hopf`) in the order traced, each with attributes ``source`` (""
        for the branch, else the name of the curve it started from), ``source_special`` (the
        row of the source's special table) and ``branch_specials_on_curve`` (the rows of the
        branch's LP or H points lying on it). The root holds provenance,
        ``continuation_param``, ``continuation_param2``, ``n_curves`` and
        ``n_failed_starts`` (points whose curve could not start: Newton on the extended system
        did not converge).

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``branch`` is not a Dataset.
    dynsys.errors.UnknownParameterError
        If ``param2`` is not a parameter of the system.
    dynsys.errors.InputError
        If ``branch`` is not a one-parameter branch, ``max_curves < 1``, and as
        :func:`continue_fold` and :func:`continue_hopf` (``param2`` equal to the branch's).

    Examples
    --------
    >>> from dynsys.continuation import (ContinuationOptions, continue_branch,
    ...                                  two_parameter_diagram)
    >>> from dynsys.models import bogdanov_takens_normal_form
    >>> opts = ContinuationOptions(ds_max=0.1, p_min=-1.0, p_max=1.0)
    >>> system = bogdanov_takens_normal_form(b1=-0.5, b2=-0.5)
    >>> branch = continue_branch(system, [-0.5, 0.0], "b1", options=opts)
    >>> tree = two_parameter_diagram(system, branch, "b2", options=opts)
    >>> sorted(tree.children), [str(tree[c]["special_type"].values[0]) for c in sorted(tree)]
    (['fold0', 'hopf0'], ['BT', 'BT'])
    """
    param1 = _check(system, branch, param2)
    if isinstance(max_curves, bool) or not isinstance(max_curves, int | np.integer):
        raise InputError(f"`max_curves` must be an integer >= 1; got {max_curves!r}.")
    if max_curves < 1:
        raise InputError(f"`max_curves` must be an integer >= 1; got {max_curves!r}.")
    p2 = float(
        dict(params or {}).get(param2, branch.attrs.get(f"param_{param2}", system.params[param2]))
    )
    # (kind of curve, where it starts, row there, name of the source or "" for the branch)
    queue: deque = deque(
        (_FROM_BRANCH[str(t)], branch, row, "")
        for row, t in enumerate(branch["special_type"].values)
        if str(t) in _FROM_BRANCH
    )
    curves: dict[str, xr.Dataset] = {}
    failed = 0
    while queue and len(curves) < max_curves:
        kind, source, row, source_name = queue.popleft()
        x = np.asarray(source["special_x"].values[row], dtype=float)
        p1 = float(source["special_param"].values[row])
        here = float(source["special_param2"].values[row]) if source_name else p2
        owner = next(
            (n for n, c in curves.items() if n.startswith(kind) and _on_curve(c, p1, here, x)),
            None,
        )
        if owner is not None:
            if not source_name:
                seen = curves[owner].attrs["branch_specials_on_curve"]
                curves[owner].attrs["branch_specials_on_curve"] = np.append(seen, row)
            continue
        try:
            curve = _CURVES[kind](
                system,
                source,
                param1,
                param2,
                params=params,
                special=row,
                options=options,
                param1_range=param1_range,
                progress=progress,
            )
        except ContinuationError:
            failed += 1
            continue
        name = f"{kind}{sum(n.startswith(kind) for n in curves)}"
        curve.attrs.update(
            source=source_name,
            source_special=row,
            branch_specials_on_curve=np.array([] if source_name else [row], dtype=np.int64),
        )
        curves[name] = curve
        for bt in np.flatnonzero(curve["special_type"].values == "BT"):
            queue.append((_ACROSS_BT[kind], curve, int(bt), name))
    root = xr.Dataset(
        attrs=provenance(
            system,
            continuation_param=param1,
            continuation_param2=param2,
            n_curves=len(curves),
            n_failed_starts=failed,
        )
    )
    return xr.DataTree.from_dict({"/": root, **curves})
