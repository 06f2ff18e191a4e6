"""Trapping regions a model proves with a Lyapunov function.

A flow with a function ``V`` that never increases along orbits (``dV/dt = grad V . f <= 0``) keeps
every orbit that enters ``{V < c}`` inside it. When a hyperplane ``normal . x = offset`` does not
meet ``{V < c}`` (``V >= c`` on it), the part of ``{V < c}`` on one side is positively invariant
too; when it holds exactly one equilibrium, an attracting one, and ``V`` decreases strictly off
the equilibria (LaSalle), every orbit that enters it converges to that equilibrium. Such a region
is part of the equilibrium's basin, whatever its size: a basin computation may stop an orbit the
moment it enters it, and the label is proved, not estimated.

The proof is the model's (its :attr:`TrappingRegions.proof` says what it rests on); a basin
computation checks what it can at run time: ``dV/dt <= 0`` at sample states, and that each region
holds exactly one of the known attracting points (:mod:`dynsys.basins._traps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._lazy import check_name, load_name
from .errors import InputError

__all__ = ["TrapGeometry", "TrappingRegions"]


@dataclass(frozen=True)
class TrapGeometry:
    """The regions ``{x : V(x) < levels[k], normals[k] . x > offsets[k]}`` at given parameter
    values (``normals (k, n)``; a zero normal with a negative offset takes the whole sublevel
    set).

    Examples
    --------
    >>> g = TrapGeometry(np.array([0.0]), np.array([[1.0, 0.0]]), np.array([0.0]))
    >>> len(g)
    1
    """

    levels: np.ndarray
    normals: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        levels = np.atleast_1d(np.asarray(self.levels, dtype=float))
        normals = np.atleast_2d(np.asarray(self.normals, dtype=float))
        offsets = np.atleast_1d(np.asarray(self.offsets, dtype=float))
        if not (levels.shape[0] == normals.shape[0] == offsets.shape[0]):
            raise InputError(
                f"a trap geometry needs one level, normal and offset per region; got "
                f"{levels.shape[0]} levels, {normals.shape[0]} normals, {offsets.shape[0]} offsets."
            )
        for name, value in (("levels", levels), ("normals", normals), ("offsets", offsets)):
            if not np.all(np.isfinite(value)):
                raise InputError(f"the trap geometry's {name} must be finite; got {value!r}.")
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "normals", normals)
        object.__setattr__(self, "offsets", offsets)

    def __len__(self) -> int:
        return int(self.levels.shape[0])


@dataclass(frozen=True)
class TrappingRegions:
    """Trapping regions declared by a model (:meth:`dynsys.System.with_trapping_regions`).

    Each function is named ``"package.module:name"`` (so that the declaration pickles as names,
    and a spec can only reach it through a model that declares it):

    Parameters
    ----------
    lyapunov : str
        ``V(x, p)`` in numpy: states ``(..., n)``, ``p`` the parameter values in the order
        ``params``; returns ``(...)``. It never increases along orbits.
    compiled : str
        The same ``V`` compiled with ``numba.njit(dynsys.integrate.compiled_lyapunov_signature())``:
        ``V(y, p)`` of one state, returning a float, with the same operations in the same order.
    geometry : str
        ``geometry(p)``: the :class:`TrapGeometry` at the parameter values ``p``, or a string
        saying why the proof does not hold there (then no region is used).
    params : sequence of str
        The parameter names, in the order the functions read them.
    proof : str
        What the regions rest on, in one or two sentences (recorded with results).
    lanes : str, optional
        The same ``V`` in lane form, compiled with
        ``numba.njit(dynsys.integrate.lane_lyapunov_signature())``: ``lanes(Y, p, out)`` writes
        ``V`` of each column of ``Y (n, k)`` into ``out (k,)``. A field with a lane form
        (``CompiledField.lanes``) runs its orbits 32 at a time only when this is given too.

    Examples
    --------
    >>> from dynsys.models import duffing
    >>> traps = duffing().trapping_regions
    >>> traps.params
    ('delta', 'alpha', 'beta')
    >>> len(traps.geometry_at({"delta": 0.25, "alpha": -1.0, "beta": 1.0}))
    2
    """

    lyapunov: str
    compiled: str
    geometry: str
    params: tuple[str, ...] = ()
    proof: str = ""
    lanes: str | None = None

    def __post_init__(self) -> None:
        for name in ("lyapunov", "compiled", "geometry", "lanes"):
            if name != "lanes" or self.lanes is not None:
                check_name(name, getattr(self, name))
        object.__setattr__(self, "params", tuple(str(p) for p in self.params))

    def values(self, params) -> np.ndarray:
        """The parameter values in the order :attr:`params`, from a mapping."""
        return np.array([float(params[name]) for name in self.params])

    def lyapunov_function(self):
        """The numpy ``V(x, p)``."""
        return load_name(self.lyapunov)

    def compiled_function(self):
        """The compiled ``V(y, p)`` (imports its module, and with it numba)."""
        return load_name(self.compiled)

    def lanes_function(self):
        """The compiled ``V`` in lane form, or None when none is declared."""
        return None if self.lanes is None else load_name(self.lanes)

    def geometry_at(self, params) -> TrapGeometry | str:
        """The regions at the parameter values ``params`` (a mapping), or why there are none."""
        found = load_name(self.geometry)(self.values(params))
        if isinstance(found, str):
            return found
        if not isinstance(found, TrapGeometry):
            raise InputError(
                f"{self.geometry} must return a TrapGeometry or a reason (str); got "
                f"{type(found).__name__}."
            )
        return found
