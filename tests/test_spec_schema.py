"""The spec schema is derived from the options classes: one place for each default.

Every options table of every command gives exactly the class's fields and defaults; and editing a
default in the source of an options class (in a copy of the package) changes the command line's
default and its printed reference, with nothing else edited."""

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dynsys
from dynsys.cli import main
from dynsys.cli.schema import COMMANDS, schema_for
from dynsys.cli.spec import OptionsTable, reference, validate

REPO = Path(dynsys.__file__).parent.parent


def _options_tables():
    for command in COMMANDS:
        for name, rule in schema_for(command).items():
            if isinstance(rule, OptionsTable):
                yield command, name, rule


@pytest.mark.parametrize(("command", "name", "rule"), list(_options_tables()))
def test_options_tables_are_the_classes_fields(command, name, rule):
    expected = rule.defaults()
    built = validate({}, {name: rule})[name]["options"]
    assert built == expected
    rows = {r.key: r for r in reference({name: rule})}

    def walk(options, prefix):  # nested options (e.g. basins.recurrence.newton) at any depth
        for f in dataclasses.fields(options):
            value = getattr(options, f.name)
            if dataclasses.is_dataclass(value):
                yield from walk(value, f"{prefix}{f.name}.")
            else:
                yield f"{prefix}{f.name}", value

    leaves = dict(walk(expected, f"{name}."))
    if name == "basins":  # two levels of nesting: BasinOptions.recurrence.newton
        assert "basins.recurrence.newton.tol" in leaves
    for key, value in leaves.items():
        assert rows[key].default == value, key


def test_spec_reference_prints_every_key_with_its_default(capsys):
    assert main(["spec", "--schema", "basins"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^basins\.flow\.t_max +float += 1000$", out, re.MULTILINE)
    assert re.search(r"^basins\.match_tol +float += 0\.0001$", out, re.MULTILINE)
    assert re.search(r"^graph\.newton\.max_iter +int += 50$", out, re.MULTILINE)
    assert re.search(r"^continuation\.newton\.max_iter +int += 8$", out, re.MULTILINE)


_EDITS = [
    # (file, pattern, replacement, spec key whose default moves, command, new default)
    (
        "dynsys/_newton.py",
        r'max_iter: int = integer\(50, "',
        'max_iter: int = integer(77, "',
        "fixed_points.max_iter",
        "analyze",
        "77",
    ),
    (
        "dynsys/graph/_options.py",
        r'path_points: int = integer\(200, "',
        'path_points: int = integer(123, "',
        "graph.path_points",
        "graph",
        "123",
    ),
    (
        "dynsys/basins/_options.py",
        r'match_tol: float = number\(1e-4, "',
        'match_tol: float = number(3e-4, "',
        "basins.match_tol",
        "basins",
        "0.0003",
    ),
]


@pytest.mark.slow
def test_editing_a_default_in_an_options_class_changes_the_command_line(tmp_path):
    copy = tmp_path / "copy"
    for package in ("dynsys", "phase"):
        shutil.copytree(
            REPO / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for file, pattern, replacement, *_ in _EDITS:
        path = copy / file
        text, count = re.subn(pattern, replacement, path.read_text())
        assert count == 1, f"{file}: the default to edit was not found"
        path.write_text(text)
    for _, _, _, key, command, value in _EDITS:
        table, _, field = key.rpartition(".")
        code = (
            "import io, contextlib\n"
            "from dynsys.cli import main\n"
            "from dynsys.cli.schema import schema_for\n"
            "from dynsys.cli.spec import validate\n"
            f"spec = validate({{}}, {{{table!r}: schema_for({command!r})[{table!r}]}})\n"
            f"print(getattr(spec[{table!r}]['options'], {field!r}))\n"
            f"main(['spec', '--schema', {command!r}])\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=copy,
            env={"PYTHONPATH": str(copy), "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        first, *reference_lines = out.splitlines()
        assert float(first) == float(value), key
        line = next(x for x in reference_lines if x.split()[:1] == [key])
        assert line.split("=")[-1].strip() == value, line
