"""Grids of initial states for basin maps: a 2-D grid in two state variables, or in a plane
through a higher-dimensional state space."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, InputTypeError

__all__ = ["Plane"]


_MAX_AXIS = 100_000_000  # coordinates on one axis


def _axis_values(name: str, spec) -> np.ndarray:
    """Coordinates of an axis: a tuple ``(low, high, num)`` is ``numpy.linspace``; a list or an
    array is the coordinates themselves. A malformed triple is an error naming the axis."""
    if not name or "/" in name:
        raise InputError(
            f"Plane: axis name {name!r} cannot name a dimension of a netCDF file (empty, or with "
            "'/'); name the axis differently (and give `directions`)."
        )
    if isinstance(spec, tuple):
        if len(spec) != 3:
            raise InputError(
                f"Plane: axis `{name}` is a tuple of {len(spec)} items; a tuple means "
                "(low, high, num) for numpy.linspace; give coordinates as a list or an array."
            )
        low, high, num = spec
        ok_num = isinstance(num, int | np.integer) and not isinstance(num, bool)
        if not ok_num or not 2 <= num <= _MAX_AXIS:
            raise InputError(
                f"Plane: axis `{name}` = {spec!r}: `num` must be an integer from 2 to "
                f"{_MAX_AXIS:g} (the number of grid points); got {num!r}."
            )
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            raise InputError(
                f"Plane: axis `{name}` = {spec!r}: `low` and `high` must be numbers."
            ) from None
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise InputError(f"Plane: axis `{name}` = {spec!r}: needs finite `low < high`.")
        return np.linspace(low, high, int(num))
    try:
        values = np.asarray(spec, dtype=float)
    except (TypeError, ValueError):
        values = np.zeros((0, 0))
    if values.ndim != 1 or values.size < 1 or not np.all(np.isfinite(values)):
        raise InputError(
            f"Plane: axis `{name}` must be a 1-D list or array of finite coordinates, or a tuple "
            f"(low, high, num) for numpy.linspace; got {spec!r}."
        )
    return values


@dataclass(frozen=True)
class Plane:
    """A 2-D grid of initial states: ``base + s * u + t * v`` for ``s``, ``t`` on two axes.

    Parameters
    ----------
    axes : mapping
        Two axis names to their coordinates: a list or 1-D array of coordinates, or a tuple
        ``(low, high, num)`` for ``numpy.linspace`` (``num`` an integer >= 2; anything else is an
        error, never read as coordinates). Without ``directions`` the names are state names, and
        the grid varies those two states.
    base : array_like, optional
        The state at the origin of the plane, shape ``(n,)``; zeros by default. The states not on
        an axis keep their ``base`` values.
    directions : mapping, optional
        Axis name to direction vector ``(n,)``; then the axis names are free (e.g. ``"s"``,
        ``"t"``) and the grid is ``base + s u + t v``.

    Examples
    --------
    >>> from dynsys.models import double_well
    >>> grid = Plane({"x": (-1, 1, 3), "y": [0.0, 0.5]})
    >>> grid.states(double_well()).shape
    (3, 2, 2)
    >>> diagonal = Plane({"s": [0.0, 1.0], "t": [0.0]}, directions={"s": [1, 1], "t": [1, -1]})
    >>> diagonal.states(double_well())[1, 0].tolist()
    [1.0, 1.0]
    """

    axes: Mapping[str, Any]
    base: Any = None
    directions: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.axes, Mapping) or len(self.axes) != 2:
            raise InputError(
                "Plane: `axes` must map exactly two axis names to coordinates, e.g. "
                f"{{'x': (-2, 2, 200), 'y': (-2, 2, 200)}}; got {self.axes!r}."
            )
        axes = {str(k): _axis_values(str(k), v) for k, v in self.axes.items()}
        object.__setattr__(self, "axes", axes)
        if self.directions is not None:
            if set(self.directions) != set(axes):
                raise InputError(
                    f"Plane: `directions` must give one vector per axis {sorted(axes)}; got "
                    f"{sorted(self.directions)}."
                )
            dirs = {k: np.asarray(self.directions[k], dtype=float) for k in axes}
            object.__setattr__(self, "directions", dirs)
        if self.base is not None:
            object.__setattr__(self, "base", np.asarray(self.base, dtype=float))

    @property
    def names(self) -> tuple[str, str]:
        """The two axis names (the dims of a basin map)."""
        first, second = self.axes
        return first, second

    def embedding(self, system) -> tuple[np.ndarray, np.ndarray]:
        """``(base (n,), directions (2, n))`` of the plane in the state space of ``system``."""
        n = system.n
        base = np.zeros(n) if self.base is None else self.base
        if base.shape != (n,) or not np.all(np.isfinite(base)):
            raise InputError(
                f"Plane: `base` must be a finite state of shape ({n},); got shape {base.shape}."
            )
        if self.directions is None:
            unknown = [a for a in self.names if a not in system.state_names]
            if unknown:
                raise InputError(
                    f"Plane: axes {unknown} are not states of {system.name!r} "
                    f"{list(system.state_names)}; name two states, or give `directions`."
                )
            if self.names[0] == self.names[1]:
                raise InputError("Plane: the two axes name the same state.")
            dirs = np.zeros((2, n))
            for row, name in enumerate(self.names):
                dirs[row, system.state_names.index(name)] = 1.0
            return base, dirs
        dirs = np.stack([self.directions[a] for a in self.names])
        if dirs.shape != (2, n) or not np.all(np.isfinite(dirs)):
            raise InputError(
                f"Plane: each direction must be a finite vector of shape ({n},); got "
                f"{[np.shape(self.directions[a]) for a in self.names]}."
            )
        if np.linalg.matrix_rank(dirs) < 2:
            raise InputError("Plane: the two directions are parallel; they must span a plane.")
        return base, dirs

    def states(self, system) -> np.ndarray:
        """The grid of initial states, shape ``(len(axis 1), len(axis 2), n)``."""
        base, dirs = self.embedding(system)
        s, t = (self.axes[a] for a in self.names)
        return base + s[:, None, None] * dirs[0] + t[None, :, None] * dirs[1]


def as_plane(grid) -> Plane:
    """A Plane from a Plane or a mapping of two state names to coordinates."""
    if isinstance(grid, Plane):
        return grid
    if isinstance(grid, Mapping):
        return Plane(grid)
    raise InputTypeError(
        "`grid` must be a Plane or a mapping of two state names to coordinates, e.g. "
        f"{{'x': (-2, 2, 200), 'v': (-2, 2, 200)}}; got {type(grid).__name__}."
    )
