"""Pages of the dynsys documentation generated at build time from the code, so they cannot drift:

- ``.. dynsys-spec-reference:: COMMAND``: every key of a command's spec (type, default, doc),
  from :func:`dynsys.cli.schema.schema_for`, the same source as ``dynsys spec --schema``;
- ``.. dynsys-outcomes::``: the one outcome table, from :class:`dynsys.Status` and
  :func:`dynsys.explain`;
- ``.. dynsys-starter:: KIND``: the starter spec ``dynsys init --kind KIND`` writes;
- the gallery: one page per script of ``examples/`` (its docstring, the figures it draws at the
  quick size, its source), written into ``docs/gallery/`` when the build starts. The scripts run
  only when ``DYNSYS_DOCS_RUN_EXAMPLES`` is not ``0`` (the quick build of the tests sets it to
  ``0`` and the pages say the figures are drawn by ``make docs``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

import dynsys
from dynsys.cli.schema import COMMANDS, schema_for
from dynsys.cli.spec import reference
from dynsys.cli.starter import KINDS, starter_text

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent.parent
REPO = DOCS.parent
EXAMPLES = REPO / "examples"
GALLERY = DOCS / "gallery"


def _table(headers: list[str], rows: list[list[str]], widths: list[int]) -> nodes.table:
    """A docutils table (no RST source, so no markup in the cells is interpreted)."""
    table = nodes.table(classes=["dynsys-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(headers)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row)
    return table


def _row(cells: list[str]) -> nodes.row:
    row = nodes.row()
    for text in cells:
        entry = nodes.entry()
        entry += nodes.paragraph(text=text)
        row += entry
    return row


def _format(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    return f"{value:g}" if isinstance(value, float) else repr(value)


class SpecReference(Directive):
    """``.. dynsys-spec-reference:: COMMAND``: one table per spec table of the command."""

    required_arguments = 1

    def run(self):
        command = self.arguments[0]
        if command not in COMMANDS:
            raise self.error(f"unknown command {command!r}; one of {list(COMMANDS)}")
        schema = schema_for(command)
        out = []
        for table, rule in schema.items():
            rows = []
            for row in reference({table: rule}):
                default = "required" if row.expected == "required" else _format(row.default)
                rule_text = row.expected if row.expected != "required" else ""
                doc = row.doc + (f" ({rule_text})" if rule_text else "")
                rows.append([row.key, row.type, default, doc])
            section = nodes.section(ids=[f"spec-{command}-{table}"])
            section += nodes.title(text=f"[{table}]")
            section += _table(["key", "type", "default", "meaning"], rows, [24, 10, 12, 54])
            out.append(section)
        return out


class Outcomes(Directive):
    """``.. dynsys-outcomes::``: code, name, meaning, fix and where each code occurs."""

    def run(self):
        from dynsys._status import RESULTS

        rows = []
        for status in dynsys.Status:
            text = dynsys.explain(status)
            name, _, rest = text.partition(": ")
            meaning, _, fix = rest.partition(" Fix: ")
            where = ", ".join(r for r, codes in RESULTS.items() if status in codes)
            rows.append([str(int(status)), name, meaning, fix, where])
        return [_table(["code", "name", "meaning", "fix", "occurs in"], rows, [6, 16, 34, 34, 14])]


class Starter(Directive):
    """``.. dynsys-starter:: KIND``: the spec ``dynsys init --kind KIND`` writes."""

    required_arguments = 1

    def run(self):
        kind = self.arguments[0]
        if kind not in KINDS:
            raise self.error(f"unknown kind {kind!r}; one of {sorted(KINDS)}")
        block = nodes.literal_block(text=starter_text(kind))
        block["language"] = "toml"
        return [block]


# ----------------------------------------------------------------------------- the gallery
def _docstring(path: Path) -> str:
    import ast

    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _run_example(path: Path, out: Path) -> list[Path]:
    """Run an example at its quick size; return the PNG files it wrote."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"gallery_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with contextlib.redirect_stdout(io.StringIO()):  # the examples report what they wrote
        written = module.main(out, quick=True)
    return [Path(p) for p in written.values() if Path(p).suffix == ".png"]


def _title_and_body(path: Path, doc: str) -> tuple[str, str]:
    """The docstring's first paragraph (one line) as the title, the rest as the body."""
    first, _, rest = doc.strip().partition("\n\n")
    title = " ".join(first.split()).rstrip(".") or path.stem
    return title, rest.strip()


def _run_line(spec: Path) -> str:
    """The command a spec's comments give (``# Run: dynsys ...``), else ``dynsys analyze``."""
    for line in spec.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Run:"):
            return line.removeprefix("# Run:").strip()
    return f"dynsys analyze examples/{spec.name}"


def write_gallery(app) -> None:
    """Write ``docs/gallery/``: an index and one page per example script."""
    run = os.environ.get("DYNSYS_DOCS_RUN_EXAMPLES", "1") != "0"
    scripts = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    specs = sorted(EXAMPLES.glob("*.toml"))
    if GALLERY.exists():
        shutil.rmtree(GALLERY)
    (GALLERY / "images").mkdir(parents=True)
    entries = []
    for path in scripts:
        doc = _docstring(path)
        title, body = _title_and_body(path, doc)
        figures = []
        if run:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    pngs = _run_example(path, Path(tmp))
                except Exception as exc:  # noqa: BLE001 - a broken example is a warning (-W fails)
                    logger.warning("gallery: %s failed: %s: %s", path.name, type(exc).__name__, exc)
                    pngs = []
                for png in pngs:
                    target = GALLERY / "images" / f"{path.stem}__{png.name}"
                    shutil.copyfile(png, target)
                    figures.append(target.name)
        lines = [f".. _gallery-{path.stem}:", "", title, "=" * len(title), ""]
        lines += [f"``examples/{path.name}`` (run: ``python examples/{path.name} --quick``)", ""]
        if body:
            lines += ["::", ""] + ["    " + line for line in body.splitlines()] + [""]
        if figures:
            for name in figures:
                lines += [f".. image:: images/{name}", "   :width: 100%", ""]
        else:
            lines += [
                ".. note::",
                "",
                "   The figures of this example are drawn by ``make docs`` (this build skipped",
                "   running the examples).",
                "",
            ]
        lines += [
            "Source",
            "------",
            "",
            f".. literalinclude:: ../../examples/{path.name}",
            "   :language: python",
            "",
        ]
        (GALLERY / f"{path.stem}.rst").write_text("\n".join(lines), encoding="utf-8")
        entries.append(path.stem)
    index = [
        "Gallery",
        "=======",
        "",
        "The scripts of ``examples/``, each with the figures it draws at its quick size",
        "(``python examples/NAME.py --quick``; without ``--quick`` they run at the size of the",
        "papers they reproduce). The spec files run with the command line:",
        "",
    ]
    for spec in specs:
        index += [f"- ``examples/{spec.name}``: ``{_run_line(spec)}``"]
    index += ["", ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {name}" for name in entries]
    (GALLERY / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


def setup(app):
    app.add_directive("dynsys-spec-reference", SpecReference)
    app.add_directive("dynsys-outcomes", Outcomes)
    app.add_directive("dynsys-starter", Starter)
    app.connect("builder-inited", write_gallery)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


__all__ = ["setup"]
