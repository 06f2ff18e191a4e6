"""``two_parameter_diagram``: the fold and Hopf curves through the special points of a branch."""

from __future__ import annotations

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

_CURVES = {"LP": ("fold", continue_fold), "H": ("hopf", continue_hopf)}
_ON_CURVE = 0.1  # a point within this fraction of a step of a traced curve lies on it


def _on_curve(curve: xr.Dataset, p1: float, p2: float, x: np.ndarray) -> bool:
    """Whether ``(x, p1)`` at ``param2 = p2`` lies on ``curve``: some step of the curve crosses
    ``p2`` and the linear interpolation there is within a tenth of that step of the point."""
    P2 = curve["param2"].values
    U = np.column_stack([curve["x"].values, curve["param"].values, P2])
    point = np.append(x, [p1, p2])
    scale = 1e-9 * (1.0 + float(np.max(np.abs(point))))
    for k in range(len(P2) - 1):
        a, b = P2[k] - p2, P2[k + 1] - p2
        if a * b > 0:
            continue
        theta = 0.0 if a == b else a / (a - b)
        guess = U[k] + theta * (U[k + 1] - U[k])
        step = float(np.linalg.norm(U[k + 1] - U[k]))
        if float(np.linalg.norm(guess - point)) <= _ON_CURVE * step + scale:
            return True
    return False


def two_parameter_diagram(
    system,
    branch: xr.Dataset,
    param2: str,
    *,
    params: Mapping[str, Any] | None = None,
    options: ContinuationOptions | None = None,
    param1_range: tuple[float, float] = (-np.inf, np.inf),
    progress: bool = False,
) -> xr.DataTree:
    """Continue every fold (LP) and Hopf (H) point of a branch in a second parameter.

    Each curve is traced once: a special point of the branch that lies on a curve already
    traced (two folds joined through a cusp, two Hopf points on one loop) starts no new curve.

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

    Returns
    -------
    xarray.DataTree
        Children ``fold0``, ``fold1``, ... (from :func:`continue_fold`) and ``hopf0``, ...
        (from :func:`continue_hopf`), each with attributes ``branch_special`` (the row of the
        branch's special table it started from) and ``branch_specials_on_curve`` (every row of
        that type lying on it). The root holds provenance, ``continuation_param``,
        ``continuation_param2``, ``n_curves`` and ``failed_specials`` (rows whose curve could
        not start: Newton on the extended system did not converge).

    Raises
    ------
    dynsys.errors.InputTypeError
        If ``branch`` is not a Dataset.
    dynsys.errors.UnknownParameterError
        If ``param2`` is not a parameter of the system.
    dynsys.errors.InputError
        As :func:`continue_fold` and :func:`continue_hopf` (for example ``param2`` equal to
        the branch's parameter).

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
    if not isinstance(branch, xr.Dataset):
        raise InputTypeError(
            f"`branch` must be a branch Dataset from continue_branch; got {type(branch).__name__}."
        )
    param1 = branch.attrs.get("continuation_param")
    if param1 is None:
        raise InputError("`branch` has no 'continuation_param' attribute: is it a branch?")
    if not isinstance(param2, str) or param2 not in system.param_names:
        raise UnknownParameterError(
            f"{param2!r} is not a parameter of system '{system.name}'; it has "
            f"{sorted(system.param_names)}."
        )
    p2 = float(
        dict(params or {}).get(param2, branch.attrs.get(f"param_{param2}", system.params[param2]))
    )
    types = [str(t) for t in branch["special_type"].values]
    curves: dict[str, xr.Dataset] = {}
    failed: list[int] = []
    counts = {"fold": 0, "hopf": 0}
    for row, kind in enumerate(types):
        if kind not in _CURVES:
            continue
        prefix, trace = _CURVES[kind]
        p1 = float(branch["special_param"].values[row])
        x = np.asarray(branch["special_x"].values[row], dtype=float)
        owner = next(
            (
                name
                for name, curve in curves.items()
                if name.startswith(prefix) and _on_curve(curve, p1, p2, x)
            ),
            None,
        )
        if owner is not None:
            curves[owner].attrs["branch_specials_on_curve"] = np.append(
                curves[owner].attrs["branch_specials_on_curve"], row
            )
            continue
        try:
            curve = trace(
                system,
                branch,
                param1,
                param2,
                params=params,
                special=row,
                options=options,
                param1_range=param1_range,
                progress=progress,
            )
        except ContinuationError:
            failed.append(row)
            continue
        curve.attrs["branch_special"] = row
        curve.attrs["branch_specials_on_curve"] = np.array([row], dtype=np.int64)
        curves[f"{prefix}{counts[prefix]}"] = curve
        counts[prefix] += 1
    root = xr.Dataset(
        attrs=provenance(
            system,
            continuation_param=param1,
            continuation_param2=param2,
            n_curves=len(curves),
            failed_specials=np.array(failed, dtype=np.int64),
        )
    )
    return xr.DataTree.from_dict({"/": root, **curves})
