"""Run specifications: TOML files validated against a schema.

A spec is data. It is parsed with :mod:`tomllib`, checked key by key (unknown keys, wrong types and
out-of-range values are errors that name the dotted key), and completed with defaults. Nothing in
it is evaluated; a user's own system enters only as an importable ``module:function`` reference.

A schema is a nested mapping of :class:`Key` (a key the command line owns) and
:class:`OptionsTable` (a table read into an options class of dynsys: its keys, types, defaults
and docs are the class's fields, so the spec and the Python API cannot drift).
:func:`reference` lists every key of a schema with its type, default and doc.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import Options
from ..errors import MissingFileError, OptionError, SpecError
from ..system import System, is_model

__all__ = [
    "Key",
    "OptionsTable",
    "SpecKey",
    "Table",
    "load_spec",
    "reference",
    "resolve_system",
    "validate",
]

_REQUIRED = object()


@dataclass(frozen=True)
class Key:
    """One key of a spec table: its type, default, and an optional range check.

    ``kind`` is one of ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"floats"`` (a list of
    numbers), ``"strs"`` (a list of strings), ``"numbers"`` (a table of name -> number),
    ``"table"`` (a free table of name -> number, string or bool, for factory arguments) or
    ``"free"`` (any table, nested ones included, handed on as it is to the stage that uses it,
    which checks it and names its keys in errors).
    ``check`` returns an error text for a bad value, or ``None``.
    """

    kind: str
    default: Any = _REQUIRED
    check: Callable[[Any], str | None] | None = None
    doc: str = ""


@dataclass(frozen=True)
class OptionsTable:
    """A spec table read into an options class.

    Its keys are the spec fields of ``options_type`` (nested options as sub-tables) with the
    defaults of ``base`` (``options_type()`` when None), plus the command line's own ``extra``
    keys. Validation returns the extra keys' values and, under ``"options"``, the options object.
    """

    options_type: type[Options]
    extra: Mapping[str, Key] = field(default_factory=dict)
    base: Options | None = None
    doc: str = ""

    def defaults(self) -> Options:
        """The options object an empty table gives."""
        return self.options_type() if self.base is None else self.base


Table = Mapping[str, "Key | OptionsTable | Table"]


def positive(value) -> str | None:
    """Range check: the value must be > 0."""
    return None if value > 0 else f"must be > 0, got {value!r}"


def non_negative(value) -> str | None:
    """Range check: the value must be >= 0."""
    return None if value >= 0 else f"must be >= 0, got {value!r}"


def one_of(*choices: str) -> Callable[[Any], str | None]:
    """Range check: the value must be one of ``choices``."""

    def check(value):
        return None if value in choices else f"must be one of {list(choices)}, got {value!r}"

    return check


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(key: Key, value, where: str):
    kind = key.kind
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = _is_number(value)
        value = float(value) if ok else value
    elif kind == "str":
        ok = isinstance(value, str)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "floats":
        ok = isinstance(value, list) and all(_is_number(v) for v in value)
        value = [float(v) for v in value] if ok else value
    elif kind == "strs":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind == "numbers":
        ok = isinstance(value, dict) and all(_is_number(v) for v in value.values())
        value = {k: float(v) for k, v in value.items()} if ok else value
    elif kind == "table":
        ok = isinstance(value, dict) and all(
            isinstance(v, int | float | str | bool) for v in value.values()
        )
    elif kind == "free":
        ok = isinstance(value, dict)
    else:  # pragma: no cover - schema bug
        raise AssertionError(f"unknown key kind {kind!r}")
    if not ok:
        names = {
            "int": "an integer",
            "float": "a number",
            "str": "a string",
            "bool": "true or false",
            "floats": "a list of numbers",
            "strs": "a list of strings",
            "numbers": "a table of name = number",
            "table": "a table of name = value",
            "free": f"a table ([{where}])",
        }
        raise SpecError(f"`{where}` must be {names[kind]}; got {value!r}.")
    if key.check is not None:
        problem = key.check(value)
        if problem:
            raise SpecError(f"`{where}` {problem}.")
    return value


def validate(data: Mapping[str, Any], schema: Table, *, prefix: str = "") -> dict[str, Any]:
    """Check ``data`` against ``schema`` and return it completed with defaults.

    Raises
    ------
    SpecError
        For an unknown key, a missing required key, a wrong type or an out-of-range value; the
        message names the dotted key.

    Examples
    --------
    >>> validate({"a": {"n": 3}}, {"a": {"n": Key("int", 1), "t": Key("float", 2.0)}})
    {'a': {'n': 3, 't': 2.0}}
    """
    unknown = [k for k in data if k not in schema]
    if unknown:
        where = f" in [{prefix.rstrip('.')}]" if prefix else ""
        raise SpecError(
            f"unknown key(s) {[prefix + k for k in unknown]}{where}; allowed: {sorted(schema)}."
        )
    out: dict[str, Any] = {}
    for name, rule in schema.items():
        dotted = prefix + name
        if isinstance(rule, OptionsTable):
            sub = data.get(name, {})
            if not isinstance(sub, dict):
                raise SpecError(f"`{dotted}` must be a table ([{dotted}]); got {sub!r}.")
            out[name] = _options_table(sub, rule, dotted)
        elif isinstance(rule, Key):
            if name in data:
                out[name] = _coerce(rule, data[name], dotted)
            elif rule.default is _REQUIRED:
                raise SpecError(f"missing required key `{dotted}`.")
            else:
                out[name] = rule.default
        else:
            sub = data.get(name, {})
            if not isinstance(sub, dict):
                raise SpecError(f"`{dotted}` must be a table ([{dotted}]); got {sub!r}.")
            out[name] = validate(sub, rule, prefix=dotted + ".")
    return out


def _options_table(data: dict[str, Any], rule: OptionsTable, dotted: str) -> dict[str, Any]:
    allowed = set(rule.extra) | set(rule.options_type.spec_fields())
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise SpecError(
            f"unknown key(s) {[f'{dotted}.{k}' for k in unknown]} in [{dotted}]; allowed: "
            f"{sorted(allowed)}."
        )
    extra = {k: v for k, v in data.items() if k in rule.extra}
    out = validate(extra, rule.extra, prefix=dotted + ".")
    fields = {k: v for k, v in data.items() if k not in rule.extra}
    try:
        out["options"] = rule.options_type.from_mapping(fields, base=rule.defaults())
    except OptionError as exc:
        raise SpecError(f"`{dotted}.{exc.option}` {exc.detail}") from None
    return out


@dataclass(frozen=True)
class SpecKey:
    """One key of the spec reference: dotted name, type, default, one-line doc and rule."""

    key: str
    type: str
    default: Any
    doc: str
    expected: str


def reference(schema: Table, prefix: str = "") -> Iterator[SpecKey]:
    """Every key of ``schema``: dotted name, type, default and one-line doc.

    Examples
    --------
    >>> from dynsys.fixedpoints import NewtonOptions
    >>> rows = list(reference({"newton": OptionsTable(NewtonOptions)}))
    >>> rows[0].key, rows[0].default
    ('newton.tol', 1e-10)
    """
    for name, rule in schema.items():
        dotted = prefix + name
        if isinstance(rule, Key):
            required = rule.default is _REQUIRED
            yield SpecKey(
                dotted,
                rule.kind,
                None if required else rule.default,
                rule.doc,
                "required" if required else "",
            )
        elif isinstance(rule, OptionsTable):
            yield from reference(rule.extra, prefix=dotted + ".")
            for row in rule.options_type.reference(base=rule.defaults(), prefix=dotted + "."):
                yield SpecKey(row.key, row.type, row.default, row.doc, row.expected)
        else:
            yield from reference(rule, prefix=dotted + ".")


def load_spec(path: str | Path, schema: Table) -> dict[str, Any]:
    """Read a TOML spec file and validate it against ``schema``.

    Raises
    ------
    dynsys.errors.MissingFileError
        If the file does not exist (a FileNotFoundError too).
    SpecError
        If it is not valid TOML or does not match the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"spec file {str(path)!r} does not exist.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path} is not a valid TOML file: {exc}") from exc
    return validate(data, schema)


def _entry_points() -> dict[str, Any]:
    """Model factories that installed packages register in the ``dynsys.models`` group."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="dynsys.models")}


def resolve_system(model: Mapping[str, Any], registry: Mapping[str, Callable[..., System]]):
    """Build the System a ``[model]`` table names.

    ``name`` picks a factory from ``registry`` (the models of dynsys) or from the entry points
    of the ``dynsys.models`` group (installed packages); ``factory = "module:function"`` imports
    a factory that must be declared one with :func:`dynsys.system.model`, checked before it is
    called: a spec never calls anything else. ``args`` are passed to the factory as keywords;
    ``params`` then override the system's parameter values.

    Raises
    ------
    SpecError
        For an unknown name, a factory that cannot be imported, is not declared a model, does
        not take the arguments, raises, or does not return a System.
    """
    name, factory_ref = model.get("name") or "", model.get("factory") or ""
    if bool(name) == bool(factory_ref):
        raise SpecError("[model] needs exactly one of `model.name` or `model.factory`.")
    if name:
        factory = registry.get(name)
        if factory is None:
            installed = _entry_points()
            if name not in installed:
                raise SpecError(
                    f"`model.name` {name!r} is not a known model; choose one of "
                    f"{sorted(registry) + sorted(installed)} or give "
                    '`model.factory = "module:function"`.'
                )
            factory = installed[name].load()
            where = f"entry point {name!r}"
        else:
            where = f"model {name!r}"
    else:
        factory = _import_factory(factory_ref)
        where = f"`model.factory` {factory_ref!r}"
    try:
        system = factory(**model["args"])
    except TypeError as exc:
        raise SpecError(f"`model.args` do not fit the factory ({where}): {exc}") from exc
    except Exception as exc:  # the user's factory failed: say where, in one line
        raise SpecError(f"the factory of {where} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(system, System):
        raise SpecError(
            f"the factory of {where} returned {type(system).__name__}; it must return a dynsys "
            "System."
        )
    if model["params"]:
        system = system.with_params(**model["params"])
    return system


def _import_factory(ref: str) -> Callable[..., System]:
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise SpecError(f"`model.factory` must look like 'package.module:function'; got {ref!r}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(
            f"`model.factory`: cannot import module {module_name!r} ({exc}). Modules are imported "
            "from the Python path and from the spec's own folder: put the module beside the spec, "
            "install its package, set PYTHONPATH, or pass --import-path DIR on the command line."
        ) from exc
    except Exception as exc:
        raise SpecError(
            f"`model.factory`: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    factory = getattr(module, attr, None)
    if not is_model(factory):
        raise SpecError(
            f"`model.factory` names {ref!r}, which is not declared a dynsys model, so a spec may "
            "not call it. Decorate the factory with @dynsys.model (or register it as an entry "
            "point of the dynsys.models group)."
        )
    return factory
