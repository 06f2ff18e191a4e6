"""Follow a family of critical points of the teacher-student network in the width ``k`` as a real
parameter, with its stability inside ``Fix(H)`` and in the whole space.

:func:`width_branch` continues a critical point of :func:`dynsys.models.families.young_family`
in ``k`` (:func:`dynsys.continuation.continue_branch`: folds of the family inside ``Fix(H)``
are its births and deaths, ``special_type == "LP"``), and for the one-odd-unit family
``Δ(S_{k-1} x S_1)`` adds the Hessian of the whole network along the branch by irreducible
(:func:`dynsys.models.families.odd_unit_spectrum`): the index in the whole space, and the values
of ``k`` where an eigenvalue of a block crosses zero (a change of type: there the point is a
symmetry-breaking bifurcation of the network, and for the block ``[n-1,1]`` e.g. a branch of
isotropy ``Δ(S_{k-2} x S_1 x S_1)`` meets it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.optimize
import xarray as xr

from ..continuation import ContinuationOptions, continue_branch
from ..errors import InputError
from ._family_spectrum import IRREPS
from .families import odd_unit_spectrum, young_family

__all__ = ["width_branch"]

_NEWTON_TOL = 1e-13


def _correct(system, z, k: float) -> np.ndarray:
    """Newton on ``grad L = 0`` at width ``k`` from ``z`` (analytic Hessian)."""
    p = {"k": k}
    for _ in range(50):
        g = system.gradient(z, p)
        if not np.all(np.isfinite(g)):
            return np.full_like(z, np.nan)
        step = np.linalg.solve(-system.jac_dense(z, p), g)
        z = z - step
        if np.linalg.norm(step) <= _NEWTON_TOL * max(1.0, np.abs(z).max()):
            break
    return z


def _block_min(z, k: float) -> np.ndarray:
    if not k > 4.0 or not np.all(np.isfinite(z)):
        return np.full(len(IRREPS), np.nan)
    blocks = odd_unit_spectrum(z, k)["blocks"]
    return np.array([blocks[name].min() for name in IRREPS])


def width_branch(
    z0,
    k0: float,
    *,
    tail=(1,),
    options: ContinuationOptions | None = None,
    locate_tol: float = 1e-10,
    params: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Continue a critical point of the family in the width ``k`` and record its stability.

    Parameters
    ----------
    z0 : array_like
        A critical point (or a point near one) of ``young_family(k0, tail)``.
    k0 : float
        The width to start at (an integer, where the point is a critical point of the network).
    tail : tuple of int
        The family (see :func:`dynsys.models.families.young_family`); the whole-space spectrum
        is added for ``(1,)`` only.
    options : ContinuationOptions, optional
        Steps and bounds in ``k`` (``p_min`` must keep ``k - sum(tail) > 1``; default
        ``[sum(tail) + 2, 4 k0]``).
    locate_tol : float
        Type changes are located to this width in ``k`` (bisection, Brent's method).
    params : mapping, optional
        Unused; reserved for extra parameters of the family.

    Returns
    -------
    xarray.Dataset
        The branch Dataset of :func:`~dynsys.continuation.continue_branch` (``param`` is ``k``;
        ``index``/``stable``/``kind`` and the special points ``LP`` are inside ``Fix(H)``),
        and for ``tail=(1,)`` also ``block_min_eigenvalue(step, irrep)`` (the smallest
        eigenvalue of each block of the whole Hessian, NaN for ``k <= 4``),
        ``full_index(step)`` (index in the whole space, with real multiplicities), and a table of
        type changes over dim ``type_change``: ``type_change_k``, ``type_change_irrep``,
        ``type_change_x(type_change, state)``, ``type_change_direction`` (+1: the eigenvalue
        becomes positive as ``k`` increases).

    Examples
    --------
    >>> branch = width_branch([1.0, 0.0, 0.0, 0.0, 1.0], 6.0,
    ...                       options=ContinuationOptions(p_min=5.0, p_max=7.0, ds_max=0.5))
    >>> float(branch["full_index"].max()), branch.sizes["type_change"]  # the teacher
    (0.0, 0)
    """
    tail = tuple(tail)
    k0 = float(k0)
    system = young_family(k=k0, tail=tail)
    if options is None:
        options = ContinuationOptions(p_min=sum(tail) + 2.0, p_max=4.0 * k0, ds_max=0.2)
    if params:
        raise InputError("`params` is reserved; the family has the single parameter k.")
    branch = continue_branch(system, np.asarray(z0, dtype=float), "k", options=options)
    if tail != (1,):
        return branch
    ks, X = branch["param"].values, branch["x"].values
    mins = np.array([_block_min(z, k) for z, k in zip(X, ks, strict=True)])
    index = np.array(
        [
            odd_unit_spectrum(z, k)["index"] if k > 4.0 else np.nan
            for z, k in zip(X, ks, strict=True)
        ]
    )
    changes = []
    for j, name in enumerate(IRREPS):
        sign = np.sign(mins[:, j])
        for s in np.flatnonzero(sign[:-1] * sign[1:] < 0):
            a, b = ks[s], ks[s + 1]

            def value(k, s=s, j=j):
                t = (k - ks[s]) / (ks[s + 1] - ks[s])
                z = _correct(system, (1 - t) * X[s] + t * X[s + 1], k)
                return _block_min(z, k)[j]

            k_star = scipy.optimize.brentq(value, min(a, b), max(a, b), xtol=locate_tol)
            t = (k_star - a) / (b - a)
            z_star = _correct(system, (1 - t) * X[s] + t * X[s + 1], k_star)
            direction = int(np.sign(mins[s + 1, j] - mins[s, j]) * np.sign(b - a))
            changes.append((k_star, name, z_star, direction))
    changes.sort(key=lambda c: c[0])
    n = system.n
    return branch.assign(
        block_min_eigenvalue=(
            ("step", "irrep"),
            mins,
            {"long_name": "smallest eigenvalue of the whole Hessian's block per irreducible"},
        ),
        full_index=(
            "step",
            index,
            {"long_name": "index in the whole space (real multiplicities for real k)"},
        ),
        type_change_k=("type_change", np.array([c[0] for c in changes], dtype=float)),
        type_change_irrep=("type_change", np.array([c[1] for c in changes], dtype=str)),
        type_change_x=(
            ("type_change", "state"),
            np.array([c[2] for c in changes], dtype=float).reshape(-1, n),
        ),
        type_change_direction=(
            "type_change",
            np.array([c[3] for c in changes], dtype=np.int64),
        ),
    ).assign_coords(irrep=list(IRREPS))
