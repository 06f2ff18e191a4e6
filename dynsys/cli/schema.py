"""The spec schema of each command, assembled from the tables of the stages.

Each table is declared once, by the module that reads it (:mod:`~dynsys.cli.region`, the stages,
:mod:`~dynsys.cli.analyze`); the options tables among them are derived from the options classes
of dynsys. :func:`schema_for` puts a command's tables together and :func:`print_reference` lists
every key with its type, default and doc (``dynsys spec --schema``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from ..errors import InputError
from .analyze import PORTRAIT_TABLE
from .basins_spec import BASINS_TABLE
from .continuation_stage import CONTINUATION_TABLE, START_TABLE
from .cycles_stage import CYCLES_TABLE
from .graph_stage import GRAPH_TABLE
from .region import (
    FIXED_POINTS_TABLE,
    MODEL_TABLE,
    OPTIONAL_REGION_TABLE,
    OUTPUT_TABLE,
    REGION_TABLE,
)
from .spec import Table, reference

__all__ = ["COMMANDS", "print_reference", "schema_for"]

COMMANDS = ("analyze", "continue", "basins", "graph")


def schema_for(command: str) -> dict[str, Any]:
    """The schema of a command's spec. Every command accepts every table (one spec file serves
    all commands); ``[region]`` is optional for ``continue`` (given ``start.x``) and ``basins``.

    Examples
    --------
    >>> sorted(schema_for("analyze"))  # doctest: +NORMALIZE_WHITESPACE
    ['basins', 'continuation', 'cycles', 'fixed_points', 'graph', 'model', 'output',
     'portrait', 'region', 'start']
    """
    if command not in COMMANDS:
        raise InputError(f"unknown command {command!r}; one of {list(COMMANDS)}")
    region = REGION_TABLE if command in ("analyze", "graph") else OPTIONAL_REGION_TABLE
    return {
        "model": MODEL_TABLE,
        "region": region,
        "fixed_points": FIXED_POINTS_TABLE,
        "portrait": PORTRAIT_TABLE,
        "output": OUTPUT_TABLE,
        "start": START_TABLE,
        "continuation": CONTINUATION_TABLE,
        "cycles": CYCLES_TABLE,
        "basins": BASINS_TABLE,
        "graph": GRAPH_TABLE,
    }


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, Mapping) and not value:
        return "{}"
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def print_reference(schema: Table, out: TextIO) -> None:
    """Print every key of ``schema``: dotted name, type, default, doc (and the rule)."""
    rows = list(reference(schema))
    width = max(len(r.key) for r in rows)
    type_width = max(len(r.type) for r in rows)
    for r in rows:
        rule = f" ({r.expected})" if r.expected and r.expected != "required" else ""
        default = "required" if r.expected == "required" else _format(r.default)
        out.write(f"{r.key:<{width}}  {r.type:<{type_width}}  = {default}\n")
        out.write(f"{'':<{width}}  {r.doc}{rule}\n")
