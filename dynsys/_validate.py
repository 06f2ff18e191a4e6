"""Shared input checks.

Each raises an error that names the argument, what came and what was expected, and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import InputError, InvalidSystemError, UnknownParameterError

__all__ = [
    "as_float_array",
    "as_state_batch",
    "check_count",
    "check_names",
    "check_params",
    "check_positive",
]


def as_float_array(x, name: str) -> np.ndarray:
    """``x`` as a float array, or an InputError for ragged nesting or values that are not numbers.

    Examples
    --------
    >>> as_float_array([[1, 2], [3, 4]], "x").shape
    (2, 2)
    """
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"`{name}` must be a rectangular array of numbers; got {x!r:.80} ({exc})."
        ) from None


def as_state_batch(x, n: int, *, name: str = "x", allow_nonfinite: bool = False) -> np.ndarray:
    """Return ``x`` as a float array of shape ``(..., n)``, or raise naming the problem.

    Examples
    --------
    >>> as_state_batch([1, 2], 2).shape
    (2,)
    """
    arr = as_float_array(x, name)
    if arr.ndim == 0 or arr.shape[-1] != n:
        raise InputError(
            f"`{name}` has shape {arr.shape}; expected (..., {n}): the last axis holds the "
            f"{n} state variables. Reshape it, e.g. `np.reshape({name}, (-1, {n}))`."
        )
    if not allow_nonfinite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InputError(
            f"`{name}` contains {bad} non-finite value(s) (NaN or inf); give finite states."
        )
    return arr


def check_names(names, what: str) -> tuple[str, ...]:
    """Return ``names`` as a tuple of distinct non-empty strings."""
    if isinstance(names, str):
        raise InvalidSystemError(
            f"`{what}` must be a sequence of names, got the single string {names!r}; "
            f"write [{names!r}] for one name."
        )
    out = tuple(names)
    for item in out:
        if not isinstance(item, str) or not item:
            raise InvalidSystemError(f"`{what}` must hold non-empty strings; got {item!r}.")
    if len(set(out)) != len(out):
        dup = sorted({v for v in out if out.count(v) > 1})
        raise InvalidSystemError(f"`{what}` has repeated names {dup}; names must be distinct.")
    return out


def check_params(given: Mapping[str, object], known: Mapping[str, object], where: str) -> None:
    """Raise :class:`UnknownParameterError` if ``given`` names a parameter not in ``known``."""
    unknown = [k for k in given if k not in known]
    if unknown:
        raise UnknownParameterError(
            f"{where}: unknown parameter(s) {unknown}; this system has parameters "
            f"{sorted(known) or 'none'}."
        )


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is finite and positive (or zero when allowed)."""
    v = float(value)
    ok = np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        bound = "non-negative" if allow_zero else "positive"
        raise InputError(f"`{name}` must be a finite {bound} number; got {value!r}.")
    return v


def check_count(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer (not a bool) of at least ``minimum``.

    Examples
    --------
    >>> check_count(3, "n")
    3
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)
