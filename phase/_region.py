"""The region of a picture: a box given by its lower and upper corners, as the specs' ``[region]``.

One convention everywhere: ``Region(lower=(x_min, y_min), upper=(x_max, y_max))``, or a mapping
``{"lower": [...], "upper": [...]}`` (a spec's ``[region]`` table as it is). A bare pair of pairs is
refused: ``((a, b), (c, d))`` reads as two corners and as two ``(min, max)`` ranges alike, so it
could be silently misread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dynsys.errors import InputError

__all__ = ["Region", "as_region", "plane_box"]

_FORMS = (
    "give the region by its corners: `Region(lower=(x_min, y_min), upper=(x_max, y_max))` "
    "(from phase import Region) or a mapping `{'lower': (x_min, y_min), 'upper': (x_max, y_max)}` "
    "(a spec's [region] table)"
)


@dataclass(frozen=True)
class Region:
    """A box by its corners: ``lower`` and ``upper`` hold one value per drawn variable (the two
    of the plane) or per state variable of the system (the plane's two are then taken).

    Examples
    --------
    >>> Region(lower=(-2, -1), upper=(2, 1))
    Region(lower=(-2.0, -1.0), upper=(2.0, 1.0))
    >>> Region((0, 0), (1, -1))
    Traceback (most recent call last):
    ...
    dynsys.errors.InputError: the region's upper corner must exceed its lower corner in every \
coordinate; got lower = [0.0, 0.0], upper = [1.0, -1.0].
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        lower, upper = _corner(self.lower, "lower"), _corner(self.upper, "upper")
        if lower.size != upper.size:
            raise InputError(
                f"the region's corners have {lower.size} and {upper.size} values; give one value "
                "per variable in both."
            )
        if not np.all(upper > lower):
            raise InputError(
                "the region's upper corner must exceed its lower corner in every coordinate; got "
                f"lower = {lower.tolist()}, upper = {upper.tolist()}."
            )
        object.__setattr__(self, "lower", tuple(float(v) for v in lower))
        object.__setattr__(self, "upper", tuple(float(v) for v in upper))


def _corner(value, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"the region's {name} corner must be numbers; got {value!r}.") from None
    if arr.ndim != 1 or arr.size < 2:
        raise InputError(
            f"the region's {name} corner must be a list of numbers, one per variable; got "
            f"{value!r}; {_FORMS}."
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"the region's {name} corner must be finite; got {arr.tolist()}.")
    return arr


def as_region(region) -> Region:
    """The :class:`Region` of ``region``: a Region, a mapping or an object with ``lower`` and
    ``upper``.

    Raises
    ------
    InputError
        For anything else, in particular a bare ``((a, b), (c, d))``, which reads both as two
        corners and as two ``(min, max)`` ranges.

    Examples
    --------
    >>> as_region({"lower": [-2, -1], "upper": [2, 1]}).upper
    (2.0, 1.0)
    """
    if isinstance(region, Region):
        return region
    if isinstance(region, str | bytes):
        raise InputError(f"cannot read {region!r} as a region; {_FORMS}.")
    if isinstance(region, Mapping):
        missing = [k for k in ("lower", "upper") if k not in region]
        if missing:
            raise InputError(f"the region mapping lacks {missing}; {_FORMS}.")
        return Region(region["lower"], region["upper"])
    if hasattr(region, "lower") and hasattr(region, "upper"):
        return Region(region.lower, region.upper)
    if isinstance(region, Sequence | np.ndarray):
        raise InputError(
            f"a bare {type(region).__name__} {region!r} is not accepted as a region: it reads "
            f"both as (lower corner, upper corner) and as ((x_min, x_max), (y_min, y_max)); "
            f"{_FORMS}."
        )
    raise InputError(f"cannot read {region!r} as a region; {_FORMS}.")


def plane_box(region, n_states: int, i: int, j: int) -> tuple[tuple[float, float], ...]:
    """The ranges ``((x_min, x_max), (y_min, y_max))`` of the plane of states ``i`` and ``j``.

    Corners with two values are the plane's; corners with ``n_states`` values are the system's
    (their ``i``-th and ``j``-th values are taken).

    Examples
    --------
    >>> plane_box(Region((-1, -2, -3), (1, 2, 3)), 3, 0, 2)
    ((-1.0, 1.0), (-3.0, 3.0))
    """
    box = as_region(region)
    lower, upper = np.array(box.lower), np.array(box.upper)
    if lower.size == n_states:
        pick = [i, j]
    elif lower.size == 2:
        pick = [0, 1]
    else:
        raise InputError(
            f"the region's corners have {lower.size} values; give 2 (the plane's) or "
            f"{n_states} (one per state variable)."
        )
    a, b = pick
    return (float(lower[a]), float(upper[a])), (float(lower[b]), float(upper[b]))
