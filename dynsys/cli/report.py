"""``report.html``: one self-contained page per run folder.

Every command that writes a run folder (``dynsys analyze``, ``continue``, ``basins``, ``graph``)
ends by writing ``report.html`` into it (``--no-report`` skips it). The page holds the spec (its
text, and the spec with every default filled in), provenance (dynsys, Python and library
versions, the run id, command, times, the model's parameters, every seed of the spec, and each
file's attributes: tolerances, options, counts), the tables read back from the saved results
(:mod:`dynsys.cli.report_tables`: fixed points; attractors with fractions and Wilson intervals;
branches and special points; graph nodes, edges with barriers, lowest barriers), the count of
every outcome code with its :func:`dynsys.explain` text, every PNG of the folder embedded as a
``data:`` URI, and for a critical-point graph an interactive view
(:mod:`dynsys.cli.report_graph`). Nothing is fetched: no external script, style, font or image,
so the page works offline and can be mailed as one file. All text is escaped
(:func:`html.escape`); the page is written atomically (:func:`dynsys.io.atomic_write_path`).

:func:`write_report` also rebuilds the page of a finished folder, from its ``dynsys-run.json``.
"""

from __future__ import annotations

import base64
import html
import json
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import xarray as xr

from .report_tables import Table, fmt, kind_of, outcome_table, tables_of

__all__ = ["REPORT", "build_report", "report_run", "write_report"]

REPORT = "report.html"
_LIBRARIES = ("numpy", "scipy", "xarray", "networkx", "matplotlib", "h5netcdf", "h5py", "numba")
_TITLES = {
    "fixed_points": "Fixed points",
    "basins": "Basins of attraction",
    "diagram": "Continuation",
    "graph": "Critical-point graph",
    "other": "Result",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.8em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; }
td { font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.note { color: #555; font-size: 0.9em; }
.graph-view { position: relative; display: flex; flex-wrap: wrap; gap: 1em; }
#graph-svg .frame { fill: #fcfcfc; stroke: #bbb; }
#graph-svg .axis, #graph-svg .tick, #graph-svg .label { font-size: 11px; fill: #444; }
#graph-svg .axis { text-anchor: middle; }
#graph-svg .edge { cursor: pointer; }
#graph-svg .edge-hit { fill: none; stroke: transparent; stroke-width: 12; }
#graph-svg .edge-line { fill: none; stroke: #888; stroke-width: 1.6; }
#graph-svg .edge:hover .edge-line { stroke: #333; }
#graph-svg .edge.selected .edge-line { stroke: #e377c2; stroke-width: 3; }
#graph-svg .node { cursor: help; }
#graph-svg .node circle { stroke: #222; stroke-width: 1; }
.tooltip { position: absolute; background: #fffbe6; border: 1px solid #caa; padding: 0.4em;
           font-size: 0.85em; pointer-events: none; max-width: 360px; }
.detail { flex: 1; min-width: 260px; font-size: 0.9em; }
"""


# ------------------------------------------------------------------------ pieces of HTML
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table_html(table: Table, taken: set[str]) -> str:
    ident = f"table-{table.key}"
    k = 2
    while ident in taken:
        ident = f"table-{table.key}-{k}"
        k += 1
    taken.add(ident)
    head = "".join(f"<th>{_e(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}">(none)</td></tr>'
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (
        f'<h4>{_e(table.title)}</h4>{note}<table id="{ident}" data-key="{_e(table.key)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _pairs(title: str, key: str, pairs: list[tuple[str, Any]]) -> Table:
    return Table(key, title, ["name", "value"], [[k, fmt(v)] for k, v in pairs])


def _attrs_html(label: str, obj: xr.Dataset | xr.DataTree, taken: set[str]) -> str:
    attrs = obj.attrs if isinstance(obj, xr.Dataset) else obj.to_dataset().attrs
    table = _pairs(f"Attributes of {label}", f"attrs-{Path(label).stem}", list(attrs.items()))
    return (
        f"<details><summary>All attributes of {_e(label)} (options, tolerances, counts)"
        f"</summary>{_table_html(table, taken)}</details>"
    )


# ------------------------------------------------------------------------ provenance
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _plain(value: Any) -> Any:
    from .. import Options

    if isinstance(value, Options):
        return value.as_attrs()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _seeds(spec: dict, where: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in spec.items():
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, dict):
            out.extend(_seeds(value, name))
        elif "seed" in str(key).lower() and value is not None:
            out.append((name, value))
    return out


def _provenance(run: dict[str, Any], spec: dict | None, results: dict) -> Table:
    from .. import __version__

    pairs: list[tuple[str, Any]] = [
        ("dynsys", __version__),
        ("python", platform.python_version()),
        ("platform", platform.platform()),
        *((name, _version(name)) for name in _LIBRARIES),
    ]
    for key in ("command", "spec", "run", "started", "finished", "elapsed_s"):
        if key in run:
            pairs.append((key if key != "elapsed_s" else "elapsed (s)", run[key]))
    params: dict[str, Any] = {}
    if spec is not None:
        model = spec.get("model", {})
        pairs.append(("model", model.get("name", "")))
        params = dict(model.get("params") or {})
    for obj in results.values():  # the values the results were computed with
        attrs = obj.attrs if isinstance(obj, xr.Dataset) else obj.to_dataset().attrs
        for key, value in attrs.items():
            if str(key).startswith("param_"):
                params.setdefault(str(key)[len("param_") :], value)
    pairs.extend((f"parameter {name}", value) for name, value in sorted(params.items()))
    if spec is not None:
        pairs.extend((f"seed: {name}", value) for name, value in _seeds(spec))
    for label, obj in results.items():
        attrs = obj.attrs if isinstance(obj, xr.Dataset) else obj.to_dataset().attrs
        if "created" in attrs:
            pairs.append((f"{label} written", attrs["created"]))
    return _pairs("Provenance", "provenance", pairs)


# ------------------------------------------------------------------------ the page
def _load_results(folder: Path) -> tuple[dict, list[str]]:
    from ..errors import DynsysError
    from ..io import load

    results, problems = {}, []
    for path in sorted(folder.glob("*.nc")):
        try:
            results[path.name] = load(path)
        except (DynsysError, OSError) as exc:
            problems.append(f"{path.name} could not be read: {exc}")
    order = list(_TITLES)
    ranked = sorted(results.items(), key=lambda item: (order.index(kind_of(item[1])), item[0]))
    return dict(ranked), problems


def _figure_html(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure id="figure-{_e(path.stem)}"><img src="data:image/png;base64,{data}" '
        f'alt="{_e(path.name)}"><figcaption>{_e(path.name)}</figcaption></figure>'
    )


def _manifest(folder: Path) -> dict[str, Any]:
    from .run_folder import MANIFEST

    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_report(
    folder: str | Path,
    *,
    run: dict[str, Any] | None = None,
    spec_text: str | None = None,
    spec: dict | None = None,
) -> str:
    """The HTML of the report of a run folder.

    Parameters
    ----------
    folder : str or Path
        The folder with the results (``*.nc``, ``*.png``).
    run : dict, optional
        What the run was: ``command``, ``spec`` (its path), ``run`` (id), ``started``,
        ``finished``, ``elapsed_s``; default the folder's ``dynsys-run.json``.
    spec_text : str, optional
        The text of the spec file; default read from ``run["spec"]`` when that file exists.
    spec : dict, optional
        The validated spec (defaults filled in), shown after the text; gives the model's
        parameters and the seeds.

    Returns
    -------
    str
        A complete HTML document that refers to no external resource.

    Examples
    --------
    >>> import tempfile
    >>> page = build_report(tempfile.mkdtemp(), run={"command": "analyze"}, spec_text="a < b")
    >>> "a &lt; b" in page, page.startswith("<!DOCTYPE html>")
    (True, True)
    """
    folder = Path(folder)
    run = dict(run) if run is not None else _manifest(folder)
    if spec_text is None and run.get("spec") and Path(run["spec"]).is_file():
        spec_text = Path(run["spec"]).read_text(encoding="utf-8", errors="replace")
    results, problems = _load_results(folder)
    taken: set[str] = set()
    command = run.get("command", "")
    name = Path(str(run.get("spec", folder.name))).stem
    title = f"dynsys {command}: {name}" if command else f"dynsys report: {name}"
    nav = ["spec", "provenance", "results", "outcomes", "figures"]
    graphs = {k: v for k, v in results.items() if kind_of(v) == "graph"}
    if graphs:
        nav.insert(3, "graph")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        "<nav>" + "".join(f'<a href="#{s}">{s}</a>' for s in nav) + "</nav>",
        '<h2 id="spec">Spec</h2>',
    ]
    if spec_text is not None:
        out.append(f'<pre id="spec-text">{_e(spec_text)}</pre>')
    else:
        out.append('<p class="note">The spec file is not available.</p>')
    if spec is not None:
        resolved = json.dumps(_plain(spec), indent=1, default=str)
        out.append(
            "<details><summary>The spec with every default filled in</summary>"
            f'<pre id="spec-resolved">{_e(resolved)}</pre></details>'
        )
    out.append('<h2 id="provenance">Provenance</h2>')
    out.append(_table_html(_provenance(run, spec, results), taken))
    out.append('<h2 id="results">Results</h2>')
    for problem in problems:
        out.append(f'<p class="note problem">{_e(problem)}</p>')
    for label, obj in results.items():
        out.append(
            f'<h3 id="result-{_e(Path(label).stem)}">{_e(_TITLES[kind_of(obj)])}: {_e(label)}</h3>'
        )
        out.extend(_table_html(t, taken) for t in tables_of(obj))
        out.append(_attrs_html(label, obj, taken))
    if graphs:
        from .report_graph import graph_view

        out.append('<h2 id="graph">Critical-point graph (interactive)</h2>')
        label, ds = next(iter(graphs.items()))
        out.append(f'<p class="note">{_e(label)}, drawn on the plane of the view\'s axes.</p>')
        out.append(graph_view(ds) or '<p class="note">The graph has no nodes.</p>')
    out.append('<h2 id="outcomes">Outcomes</h2>')
    out.append(_table_html(outcome_table(results), taken))
    out.append('<h2 id="figures">Figures</h2>')
    pictures = sorted(folder.glob("*.png"))
    out.extend(_figure_html(p) for p in pictures)
    if not pictures:
        out.append('<p class="note">This run drew no figures.</p>')
    files = {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    files = sorted(files | {REPORT})
    out.append('<h2 id="files">Files</h2><ul>')
    out.extend(f"<li>{_e(f)}</li>" for f in files)
    out.append("</ul>")
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    out.append(f'<p class="note">Report written {_e(stamp)} by dynsys.</p></body></html>')
    return "\n".join(out)


def write_report(
    folder: str | Path,
    *,
    run: dict[str, Any] | None = None,
    spec_text: str | None = None,
    spec: dict | None = None,
) -> Path:
    """Write ``report.html`` into ``folder`` (atomically) and return its path; the arguments are
    those of :func:`build_report`.

    Examples
    --------
    >>> import tempfile
    >>> write_report(tempfile.mkdtemp(), run={"command": "graph"}).name
    'report.html'
    """
    from ..io import atomic_write_path

    page = build_report(folder, run=run, spec_text=spec_text, spec=spec)
    target = Path(folder) / REPORT
    with atomic_write_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def report_run(folder, spec: dict, spec_path: str | Path, started: float) -> dict[str, Path]:
    """The last step of a command: the report of its staging folder (a ``RunFolder``).

    ``started`` is the ``time.time()`` when the run began. A failure to build the page is
    reported as a warning and does not fail the run (the results are written already).

    Examples
    --------
    >>> import tempfile
    >>> from dynsys.cli.run_folder import RunFolder
    >>> with RunFolder(Path(tempfile.mkdtemp()) / "out", command="graph", spec="a.toml") as run:
    ...     sorted(report_run(run, {}, "a.toml", time.time()))
    ['report']
    """
    now = time.time()
    run = {
        "command": folder.command,
        "spec": str(spec_path),
        "run": folder.run_id,
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(now - started, 2),
    }
    try:
        text = Path(spec_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = None
    try:
        return {"report": write_report(folder.path, run=run, spec_text=text, spec=spec)}
    except Exception as exc:  # noqa: BLE001 - the results are safe; the page is a summary
        print(f"warning: {REPORT} was not written: {type(exc).__name__}: {exc}", file=sys.stderr)
        return {}
