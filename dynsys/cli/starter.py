"""``dynsys init [PATH] [--kind KIND]``: write a commented starter spec.

The starter runs as it is (a small problem on a model of dynsys, a few seconds) and lists every
other key the command reads, commented out, with its default and its one-line doc. The keys,
defaults and docs come from the same schema as ``dynsys spec --schema`` (the options classes of
dynsys and the tables of the stages), so the starter cannot drift from what the command accepts.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError, InputTypeError, SpecError

__all__ = ["KINDS", "starter_text", "write_starter"]

_GRID = {"axes": {"x": {"linspace": [-2.0, 2.0, 24]}, "y": {"linspace": [-1.5, 1.5, 18]}}}

# kind: (what it does, the tables it reads, the values set in the starter)
KINDS: dict[str, tuple[str, tuple[str, ...], dict[str, dict[str, Any]]]] = {
    "analyze": (
        (
            "fixed points of the double well V = (x^2 - 1)^2/4 + y^2/2, classified, with a "
            "phase portrait"
        ),
        ("model", "region", "fixed_points", "portrait", "output"),
        {
            "model": {"name": "double_well"},
            "region": {"lower": [-2.0, -1.5], "upper": [2.0, 1.5]},
            "fixed_points": {"seeds": 100, "rng_seed": 0},
            "portrait": {"orbits": 8, "t_max": 10.0},
        },
    ),
    "basins": (
        "basins of attraction of the two minima of the double well on a 24 x 18 grid",
        ("model", "region", "fixed_points", "basins", "output"),
        {
            "model": {"name": "double_well"},
            "basins": {"mode": "map", "grid": _GRID, "flow": {"t_max": 50.0}},
        },
    ),
    "continue": (
        (
            "equilibria of the pitchfork normal form x' = mu x - x^3 followed in mu from x = 0 "
            "at mu = -1, with branch switching at the pitchfork mu = 0"
        ),
        ("model", "region", "fixed_points", "start", "continuation", "cycles", "output"),
        {
            "model": {"name": "pitchfork_normal_form", "params": {"mu": -1.0}},
            "start": {"x": [0.0]},
            "continuation": {"param": "mu", "p_min": -1.0, "p_max": 1.0, "ds_max": 0.05},
        },
    ),
    "graph": (
        (
            "critical points of the double well joined by trajectories: the saddle and its "
            "two minima, barrier 1/4"
        ),
        ("model", "region", "fixed_points", "graph", "output"),
        {
            "model": {"name": "double_well"},
            "region": {"lower": [-2.0, -1.5], "upper": [2.0, 1.5]},
            "fixed_points": {"seeds": 100, "rng_seed": 0},
            "graph": {"path_points": 50},
        },
    ),
}


def toml_value(value: Any) -> str:
    """A value as TOML: numbers (``inf`` too), strings, booleans, arrays and inline tables.

    Examples
    --------
    >>> toml_value({"x": {"linspace": [-1.0, 1.0, 5]}, "ok": True, "t": math.inf})
    '{ x = { linspace = [-1.0, 1.0, 5] }, ok = true, t = inf }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise InputTypeError(f"no TOML form for {value!r}")  # pragma: no cover - schema bug


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of the values set in a starter: nested option tables are flattened, the
    values of free keys (``basins.grid``) stay tables."""
    out = {}
    for key, value in table.items():
        if key in ("flow", "newton") and isinstance(value, Mapping):
            out.update(_flatten(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def starter_text(kind: str = "analyze", path: str = "THIS_FILE") -> str:
    """The text of the starter spec of ``kind`` (``analyze``, ``basins``, ``continue``,
    ``graph``); ``path`` is the file named in its "Run:" line.

    Examples
    --------
    >>> import tomllib
    >>> tomllib.loads(starter_text("analyze"))["model"]
    {'name': 'double_well'}
    """
    from .schema import schema_for  # the schema imports the stages' tables: only when writing
    from .spec import reference

    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {sorted(KINDS)}.")
    what, tables, values = KINDS[kind]
    schema = schema_for(kind)
    header = textwrap.wrap(f"A starter spec for `dynsys {kind}`: {what}.", width=96)
    lines = [
        *(f"# {line}" for line in header),
        f"# Run: dynsys {kind} {path} [--out DIR] [--progress]",
        "#",
        "# Every key the command reads is listed, with its one-line doc; the keys that are",
        f"# commented out show their default. `dynsys spec --schema {kind}` prints the same",
        "# reference.",
        "# Nested option tables are written as dotted keys (flow.t_max = 10.0).",
    ]
    for table in tables:
        chosen = _flatten(values.get(table, {}))
        lines += ["", f"[{table}]"]
        for row in reference({table: schema[table]}):
            key = row.key[len(table) + 1 :]
            rule = f" ({row.expected})" if row.expected else ""
            lines.append(f"# {row.doc}{rule}")
            if key in chosen:
                lines.append(f"{key} = {toml_value(chosen[key])}")
            elif row.default is None:
                lines.append(f"# {key} =    (default: none)")
            else:
                lines.append(f"# {key} = {toml_value(row.default)}")
    if kind == "analyze":
        lines += [
            "",
            "# Optional stages that start from the fixed points found above: [continuation],",
            "# [basins] and [graph]; `dynsys init --kind continue|basins|graph` writes a starter",
            "# with each of them, and `dynsys spec --schema` lists their keys.",
        ]
    return "\n".join(lines) + "\n"


def write_starter(path: str | Path, kind: str = "analyze", *, force: bool = False) -> Path:
    """Write the starter spec of ``kind`` to ``path``.

    Raises
    ------
    SpecError
        If ``path`` exists and ``force`` is false.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_starter(folder / "spec.toml", "graph").name
    'spec.toml'
    """
    path = Path(path)
    if path.exists() and not force:
        raise SpecError(
            f"{str(path)!r} exists; choose another path or pass --force to overwrite it."
        )
    text = starter_text(kind, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
