"""One base for the options of every algorithm.

An options class is a frozen dataclass derived from :class:`Options` whose fields are declared
with :func:`number`, :func:`integer`, :func:`flag`, :func:`choice`, :func:`subset`,
:func:`numbers`, :func:`text` or :func:`nested`. Each declaration carries the field's rule and a
one-line doc, and that is the only place the field is described: construction checks every value
against its rule (an :class:`~dynsys.errors.OptionError` names the class, the field, what it must
be and what came), :meth:`Options.as_attrs` stamps the values on results,
:meth:`Options.from_mapping` reads a spec table, and :meth:`Options.reference` lists keys, types,
defaults and docs for the command line. Options nest: ``BasinOptions(flow=FlowOptions(...))``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers as _numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self

import numpy as np

from .errors import OptionError

__all__ = [
    "Options",
    "ReferenceRow",
    "choice",
    "flag",
    "integer",
    "nested",
    "number",
    "numbers",
    "subset",
    "text",
]


@dataclass(frozen=True)
class _Rule:
    """How one field is checked, documented and read from a spec."""

    kind: str  # number, integer, flag, choice, subset, numbers, text, options
    doc: str
    above: float | None = None  # value > above
    at_least: float | None = None  # value >= at_least
    below: float | None = None  # value < below
    at_most: float | None = None  # value <= at_most
    allow_inf: bool = False
    allow_none: bool = False
    choices: tuple[Any, ...] = ()
    options_type: type | None = None
    in_spec: bool = True
    in_attrs: bool = True

    def expected(self) -> str:
        """What a valid value looks like, for error messages and the reference."""
        if self.kind == "number":
            if self.above == 0 and self.below is None and self.at_most is None:
                text = "a positive number"
            elif self.at_least == 0 and self.below is None and self.at_most is None:
                text = "a non-negative number"
            else:
                low = (
                    f"({self.above:g}"
                    if self.above is not None
                    else (f"[{self.at_least:g}" if self.at_least is not None else "(-inf")
                )
                high = (
                    f"{self.below:g})"
                    if self.below is not None
                    else (f"{self.at_most:g}]" if self.at_most is not None else "inf)")
                )
                text = f"a number in {low}, {high}"
            return text + (" (inf allowed)" if self.allow_inf else "")
        if self.kind == "integer":
            low = self.at_least
            if low == 1:
                return "a positive integer"
            if low == 0:
                return "a non-negative integer"
            return f"an integer >= {low:g}" if low is not None else "an integer"
        if self.kind == "flag":
            return "True or False"
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind == "subset":
            return f"a list of distinct values from {list(self.choices)}"
        if self.kind == "numbers":
            return "a sequence of finite numbers"
        if self.kind == "text":
            return "a string"
        return f"a {self.options_type.__name__}"

    def type_name(self) -> str:
        """The value type as shown in the reference of spec keys."""
        return {
            "number": "float",
            "integer": "int",
            "flag": "bool",
            "choice": "str",
            "subset": "list of str",
            "numbers": "list of float",
            "text": "str",
            "options": "table",
        }[self.kind]

    def check(self, owner: str, name: str, value: Any) -> Any:
        """The value, coerced to its canonical type, or an OptionError."""
        if value is None:
            if self.allow_none:
                return None
            raise _error(owner, name, self.expected(), value)
        method = getattr(self, f"_check_{self.kind}")
        return method(owner, name, value)

    def _check_number(self, owner, name, value):
        if isinstance(value, bool) or not isinstance(value, _numbers.Real):
            raise _error(owner, name, self.expected(), value)
        v = float(value)
        ok = not math.isnan(v) and (self.allow_inf or math.isfinite(v))
        ok = ok and (self.above is None or v > self.above)
        ok = ok and (self.at_least is None or v >= self.at_least)
        ok = ok and (self.below is None or v < self.below)
        ok = ok and (self.at_most is None or v <= self.at_most)
        if not ok:
            raise _error(owner, name, self.expected(), value)
        return v

    def _check_integer(self, owner, name, value):
        if isinstance(value, bool) or not isinstance(value, _numbers.Integral):
            raise _error(owner, name, self.expected(), value)
        if self.at_least is not None and value < self.at_least:
            raise _error(owner, name, self.expected(), value)
        return int(value)

    def _check_flag(self, owner, name, value):
        if not isinstance(value, bool | np.bool_):
            raise _error(owner, name, self.expected(), value)
        return bool(value)

    def _check_choice(self, owner, name, value):
        if isinstance(value, list):
            value = tuple(value)
        if value not in self.choices:
            raise _error(owner, name, self.expected(), value)
        return value

    def _check_subset(self, owner, name, value):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _error(owner, name, self.expected(), value)
        value = tuple(value)
        if len(set(value)) != len(value) or any(v not in self.choices for v in value):
            raise _error(owner, name, self.expected(), value)
        return value

    def _check_numbers(self, owner, name, value):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise _error(owner, name, self.expected(), value) from None
        if arr.ndim != 1 or not np.all(np.isfinite(arr)):
            raise _error(owner, name, self.expected(), value)
        return tuple(arr.tolist())

    def _check_text(self, owner, name, value):
        if not isinstance(value, str):
            raise _error(owner, name, self.expected(), value)
        return value

    def _check_options(self, owner, name, value):
        if not isinstance(value, self.options_type):
            raise _error(owner, name, self.expected(), value)
        return value


def _error(owner: str, name: str, expected: str, value: Any) -> OptionError:
    detail = f"must be {expected}; got {value!r}."
    return OptionError(f"{owner}: `{name}` {detail}", owner=owner, option=name, detail=detail)


def _field(default: Any, rule: _Rule) -> Any:
    return field(default=default, metadata={"rule": rule})


def number(
    default: float | None,
    doc: str,
    *,
    above: float | None = 0.0,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
    allow_inf: bool = False,
    allow_none: bool = False,
    in_spec: bool = True,
) -> Any:
    """A real option; by default it must be positive (``above=0``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo(Options):
    ...     tol: float = number(1e-8, "a tolerance")
    >>> Demo(tol=0.0)
    Traceback (most recent call last):
    ...
    dynsys.errors.OptionError: Demo: `tol` must be a positive number; got 0.0.
    """
    if at_least is not None:
        above = None
    rule = _Rule("number", doc, above, at_least, below, at_most, allow_inf, allow_none)
    return _field(default, dataclasses.replace(rule, in_spec=in_spec))


def integer(
    default: int | None,
    doc: str,
    *,
    at_least: int = 1,
    allow_none: bool = False,
    in_attrs: bool = True,
) -> Any:
    """An integer option, at least ``at_least`` (``in_attrs=False``: a setting of where work
    runs, which does not change results and is not stamped on them)."""
    rule = _Rule("integer", doc, at_least=at_least, allow_none=allow_none, in_attrs=in_attrs)
    return _field(default, rule)


def flag(default: bool, doc: str) -> Any:
    """A boolean option."""
    return _field(default, _Rule("flag", doc))


def choice(default: Any, choices: tuple[Any, ...], doc: str) -> Any:
    """An option that takes one of ``choices``."""
    return _field(default, _Rule("choice", doc, choices=tuple(choices)))


def subset(default: tuple[Any, ...], choices: tuple[Any, ...], doc: str) -> Any:
    """An option that takes a tuple of distinct values from ``choices``."""
    return _field(tuple(default), _Rule("subset", doc, choices=tuple(choices)))


def numbers(
    default: tuple[float, ...] | None,
    doc: str,
    *,
    allow_none: bool = True,
    in_attrs: bool = True,
) -> Any:
    """A sequence of finite numbers, stored as a tuple."""
    return _field(default, _Rule("numbers", doc, allow_none=allow_none, in_attrs=in_attrs))


def text(default: str, doc: str) -> Any:
    """A string option."""
    return _field(default, _Rule("text", doc))


def nested(options_type: type, doc: str, default: Any = None) -> Any:
    """An options object inside another; ``default`` (an instance) or ``options_type()``."""
    rule = _Rule("options", doc, options_type=options_type)
    value = options_type() if default is None else default
    return field(default_factory=lambda: value, metadata={"rule": rule})


@dataclass(frozen=True)
class ReferenceRow:
    """One key of the spec reference: dotted name, type, default and one-line doc."""

    key: str
    type: str
    default: Any
    doc: str
    expected: str


@dataclass(frozen=True)
class Options:
    """Base of the frozen, checked options classes of dynsys (see the module docstring).

    Subclasses declare their fields with the helpers of this module and may add rules between
    fields in :meth:`_check`.
    """

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in fields(self):
            rule = f.metadata.get("rule")
            if rule is not None:
                object.__setattr__(self, f.name, rule.check(owner, f.name, getattr(self, f.name)))
        self._check()

    def _check(self) -> None:
        """Rules that tie fields together; raise with :meth:`_fail`."""

    def _fail(self, name: str, expected: str, value: Any) -> OptionError:
        return _error(type(self).__name__, name, expected, value)

    # ------------------------------------------------------------------ provenance
    def as_attrs(self, prefix: str = "") -> dict[str, Any]:
        """The options as Dataset attributes: nested options prefixed with their field name and
        ``_``, ``None`` left out, booleans as 0/1 (netCDF has no booleans).

        Examples
        --------
        >>> from dynsys.fixedpoints import NewtonOptions
        >>> NewtonOptions().as_attrs(prefix="newton_")["newton_max_iter"]
        50
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            rule = f.metadata.get("rule")
            if rule is None or not rule.in_attrs:
                continue
            value = getattr(self, f.name)
            key = prefix + f.name
            if isinstance(value, Options):
                out.update(value.as_attrs(prefix=key + "_"))
            elif value is None:
                continue
            elif isinstance(value, bool):
                out[key] = int(value)
            elif isinstance(value, tuple):
                out[key] = (
                    " ".join(str(v) for v in value)
                    if rule.kind in ("choice", "subset")
                    else np.asarray(value, dtype=float)
                )
            else:
                out[key] = value
        return out

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (checked like a new object).

        Examples
        --------
        >>> from dynsys.integrate import FlowOptions
        >>> FlowOptions().replace(t_max=5.0).t_max
        5.0
        """
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ specs
    @classmethod
    def spec_fields(cls) -> dict[str, _Rule]:
        """The fields a spec table may set, with their rules."""
        return {
            f.name: f.metadata["rule"]
            for f in fields(cls)
            if "rule" in f.metadata and f.metadata["rule"].in_spec
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: Options | None = None) -> Self:
        """Options from a plain mapping (a TOML table), starting from ``base`` (the defaults).

        Nested options are read from nested mappings. An unknown key or a bad value raises
        :class:`~dynsys.errors.OptionError` whose ``option`` is the dotted key within ``data``.

        Examples
        --------
        >>> from dynsys.graph import GraphOptions
        >>> GraphOptions.from_mapping({"eps": 1e-3, "flow": {"t_max": 50.0}}).flow.t_max
        50.0
        >>> GraphOptions.from_mapping({"flow": {"rtol": -1}})
        Traceback (most recent call last):
        ...
        dynsys.errors.OptionError: FlowOptions: `rtol` must be a positive number; got -1.
        """
        base = cls() if base is None else base
        allowed = cls.spec_fields()
        unknown = sorted(k for k in data if k not in allowed)
        if unknown:
            raise OptionError(
                f"{cls.__name__}: unknown key(s) {unknown}; allowed: {sorted(allowed)}.",
                owner=cls.__name__,
                option=unknown[0],
                detail=f"is not a key here; allowed: {sorted(allowed)}.",
            )
        changes: dict[str, Any] = {}
        for key, value in data.items():
            rule = allowed[key]
            if rule.kind == "options":
                if not isinstance(value, Mapping):
                    raise _error(cls.__name__, key, "a table", value)
                try:
                    value = rule.options_type.from_mapping(value, base=getattr(base, key))
                except OptionError as exc:
                    raise OptionError(
                        str(exc), owner=exc.owner, option=f"{key}.{exc.option}", detail=exc.detail
                    ) from None
            changes[key] = value
        return dataclasses.replace(base, **changes)

    @classmethod
    def reference(cls, *, base: Options | None = None, prefix: str = "") -> Iterator[ReferenceRow]:
        """Every spec key with its type, default (from ``base`` or the class) and doc.

        Examples
        --------
        >>> from dynsys.fixedpoints import NewtonOptions
        >>> row = next(NewtonOptions.reference())
        >>> row.key, row.type, row.default
        ('tol', 'float', 1e-10)
        """
        base = cls() if base is None else base
        for name, rule in cls.spec_fields().items():
            value = getattr(base, name)
            if rule.kind == "options":
                yield from rule.options_type.reference(base=value, prefix=f"{prefix}{name}.")
            else:
                yield ReferenceRow(
                    prefix + name, rule.type_name(), value, rule.doc, rule.expected()
                )
