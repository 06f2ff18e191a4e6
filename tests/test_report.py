"""``report.html``: the page every command writes into its run folder, read back with
``html.parser`` (the browser test is tests/test_report_browser.py)."""

import base64
import json
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dynsys import __version__, explain
from dynsys.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Page(HTMLParser):
    """The parts of a page the tests look at: tags with their attributes, the text of every
    element with an id, and the cells of every table by id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag in ("img", "meta", "br", "hr", "input", "link"):
            return
        self._open.append((tag, attrs.get("id")))
        if attrs.get("id"):
            self.text[attrs["id"]] = ""
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "table":
            self._table = None
        while self._open:
            name, _ = self._open.pop()
            if name == tag:
                break

    def handle_data(self, data):
        for _, ident in self._open:
            if ident:
                self.text[ident] += data
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, ident: str) -> list[dict[str, str]]:
        """The body rows of a table as dicts keyed by the header."""
        head, *body = self.tables[ident]
        return [dict(zip(head, row, strict=True)) for row in body]


def run(command: str, spec: Path, out: Path, *extra: str) -> Page:
    assert main([command, str(spec), "--out", str(out), *extra]) == 0
    return Page((out / "report.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def double_well(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "double_well"
    page = run("analyze", EXAMPLES / "double_well.toml", out)
    return out, page


def test_analyze_lists_the_report_with_the_files_it_wrote(tmp_path, capsys):
    spec = tmp_path / "dw.toml"
    spec.write_text(
        '[model]\nname = "double_well"\n[region]\nlower = [-2.0, -1.5]\n'
        "upper = [2.0, 1.5]\n[portrait]\nenabled = false\n"
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    assert f"wrote report: {tmp_path / 'o' / 'report.html'}" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "o" / "dynsys-run.json").read_text())
    assert "report.html" in manifest["files"]
    assert main(["analyze", str(spec), "--out", str(tmp_path / "n"), "--no-report"]) == 0
    assert "wrote report" not in capsys.readouterr().out
    assert not (tmp_path / "n" / "report.html").exists()
    assert (tmp_path / "n" / "fixed_points.nc").is_file()


def test_every_figure_of_the_folder_is_embedded(double_well):
    out, page = double_well
    pictures = sorted(out.glob("*.png"))
    assert {p.name for p in pictures} >= {
        "portrait.png",
        "basins.png",
        "graph.png",
        "disconnectivity.png",
    }
    images = {attrs["alt"]: attrs["src"] for tag, attrs in page.tags if tag == "img"}
    assert sorted(images) == [p.name for p in pictures]
    for picture in pictures:
        prefix = "data:image/png;base64,"
        assert images[picture.name].startswith(prefix)
        assert base64.b64decode(images[picture.name][len(prefix) :]) == picture.read_bytes()


def test_the_fixed_point_table_has_the_three_points_of_the_double_well(double_well):
    _, page = double_well
    rows = sorted(page.rows("table-fixed-points"), key=lambda r: float(r["x"]))
    # V = (x^2 - 1)^2 / 4 + y^2 / 2: minima at (+-1, 0) with V = 0, a saddle at 0 with V = 1/4
    assert [float(r["x"]) for r in rows] == [-1.0, 0.0, 1.0]
    assert [float(r["energy"]) for r in rows] == [0.0, 0.25, 0.0]
    assert [int(r["index"]) for r in rows] == [0, 1, 0]
    assert [r["kind"] for r in rows] == ["minimum", "saddle-1", "minimum"]
    assert all(float(r["residual"]) < 1e-10 for r in rows)
    assert rows[1]["eigenvalues"] == "1, -1"  # Hessian diag(-1, 1) at the saddle


def test_the_basin_and_graph_tables_are_read_from_the_results(double_well):
    _, page = double_well
    attractors = page.rows("table-attractors")
    assert [float(r["fraction"]) for r in attractors] == [0.5, 0.5]
    for row in attractors:
        low, high = (float(v) for v in row["95% interval"].strip("[]").split(","))
        assert low < 0.5 < high
    nodes = page.rows("table-graph-nodes")
    assert sorted(float(r["energy"]) for r in nodes) == [0.0, 0.0, 0.25]
    edges = page.rows("table-graph-edges")
    assert len(edges) == 2
    assert all(r["saddle"].endswith("(saddle-1)") and r["end"].endswith("(minimum)") for r in edges)
    assert [float(r["barrier E(saddle) - E(end)"]) for r in edges] == [0.25, 0.25]
    (barrier,) = page.rows("table-lowest-barriers")
    assert float(barrier["top energy"]) == 0.25 and float(barrier["height from a"]) == 0.25


def test_the_page_holds_the_spec_provenance_and_outcomes(double_well):
    out, page = double_well
    assert page.text["spec-text"] == (EXAMPLES / "double_well.toml").read_text()
    resolved = json.loads(page.text["spec-resolved"])
    assert resolved["fixed_points"]["rng_seed"] == 0
    provenance = {r["name"]: r["value"] for r in page.rows("table-provenance")}
    assert provenance["dynsys"] == __version__
    assert provenance["command"] == "analyze"
    assert provenance["seed: fixed_points.rng_seed"] == "0"
    assert float(provenance["elapsed (s)"]) > 0
    assert provenance["numpy"][0].isdigit() and provenance["xarray"][0].isdigit()
    assert provenance["run"] == json.loads((out / "dynsys-run.json").read_text())["run"]
    outcomes = page.rows("table-outcomes")
    seeds = [
        r
        for r in outcomes
        if r["file"] == "fixed_points.nc" and r["what"] == "attribute n_converged"
    ]
    assert seeds and seeds[0]["count"] == "200" and seeds[0]["explanation"] == explain(0)
    grid = [r for r in outcomes if r["file"] == "basins.nc" and r["what"] == "status"]
    assert [(r["outcome"], r["count"]) for r in grid] == [("converged", "8000")]


def test_the_graph_view_embeds_its_data_and_draws_every_node_and_edge(double_well):
    _, page = double_well
    classes = [attrs.get("class") for _, attrs in page.tags]
    assert classes.count("node") == 3 and classes.count("edge") == 2
    data = json.loads(page.text["graph-data"])
    assert sorted(n["energy"] for n in data["nodes"]) == [0.0, 0.0, 0.25]
    assert [e["barrier"] for e in data["edges"]] == [0.25, 0.25]
    assert all(len(e["path"]) > 10 for e in data["edges"])
    lines = [
        attrs["points"]
        for tag, attrs in page.tags
        if tag == "polyline" and attrs.get("class") == "edge-line"
    ]
    assert len(lines) == 2 and all(len(p.split()) > 10 for p in lines)


def test_the_page_fetches_nothing(double_well):
    out, page = double_well
    html_text = (out / "report.html").read_text()
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "object", "embed"), tag
        for name in ("src", "href", "xlink:href", "srcset", "action", "data"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, name, value[:60])
        if tag == "script":
            assert "src" not in attrs
    assert "url(" not in html_text and "@import" not in html_text
    assert "http://" not in html_text and "https://" not in html_text


def test_text_from_the_spec_is_escaped(tmp_path):
    spec = tmp_path / "evil.toml"
    text = (
        '# </pre><script>alert("x")</script> & <img src=x>\n[model]\nname = "double_well"\n'
        "[region]\nlower = [-2.0, -1.5]\nupper = [2.0, 1.5]\n[portrait]\nenabled = false\n"
    )
    spec.write_text(text)
    page = run("analyze", spec, tmp_path / "o")
    assert page.text["spec-text"] == text
    assert "script" not in [tag for tag, _ in page.tags]  # no graph here: no script at all
    assert not [attrs for tag, attrs in page.tags if tag == "img"]  # no figures, no <img src=x>


def test_basin_probabilities_show_fractions_with_wilson_intervals(tmp_path):
    data = tomllib.loads((EXAMPLES / "duffing_basins.toml").read_text())
    text = (EXAMPLES / "duffing_basins.toml").read_text().replace("n = 1000", "n = 200")
    text = text.replace("max_samples = 20000", "max_samples = 200")
    assert data["basins"]["mode"] == "probabilities" and "max_samples = 200\n" in text
    spec = tmp_path / "duffing.toml"
    spec.write_text(text)
    out = tmp_path / "o"
    page = run("basins", spec, out)
    rows = page.rows("table-attractors")
    assert len(rows) >= 2
    sinks = [r for r in rows if r["attractor"] == "spiral sink" or r["index"] == "0"]
    assert len(sinks) == 2
    for row in sinks:
        low, high = (float(v) for v in row["95% interval"].strip("[]").split(","))
        assert 0 < low < float(row["fraction"]) < high < 1
    assert sum(int(r["orbits"]) for r in rows) == 200
    assert [attrs["alt"] for tag, attrs in page.tags if tag == "img"] == ["basins.png"]
    assert "graph-data" not in page.text  # no graph, no graph view


def test_continuation_lists_branches_and_special_points(tmp_path):
    text = (EXAMPLES / "lorenz_continuation.toml").read_text()
    text = text.replace("p_max = 30.0", "p_max = 3.0").replace("depth = 1", "depth = 0")
    spec = tmp_path / "lorenz.toml"
    spec.write_text(text)
    page = run("continue", spec, tmp_path / "o")
    (branch,) = page.rows("table-branches")
    assert branch["branch"] == "branch0" and branch["stopped by"] == "param_bound / param_bound"
    points = page.rows("table-special-points")
    bp = [r for r in points if r["type"] == "BP"]
    assert len(bp) == 1 and float(bp[0]["r"]) == pytest.approx(1.0, abs=1e-8)
    assert bp[0]["status"] == "converged"
    provenance = {r["name"]: r["value"] for r in page.rows("table-provenance")}
    assert provenance["parameter sigma"] == "10" and provenance["parameter r"] == "0.5"
    outcomes = page.rows("table-outcomes")
    assert any(
        r["outcome"] == "param_bound" and r["explanation"] == explain("param_bound")
        for r in outcomes
    )


def test_a_report_that_cannot_be_built_does_not_fail_the_run(tmp_path, monkeypatch, capsys):
    from dynsys.cli import report

    def broken(*args, **kwargs):
        raise ValueError("no page today")

    monkeypatch.setattr(report, "build_report", broken)
    spec = tmp_path / "dw.toml"
    spec.write_text(
        '[model]\nname = "double_well"\n[region]\nlower = [-2.0, -1.5]\n'
        "upper = [2.0, 1.5]\n[portrait]\nenabled = false\n"
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    assert "report.html was not written: ValueError: no page today" in capsys.readouterr().err
    assert not (tmp_path / "o" / "report.html").exists()
    assert (tmp_path / "o" / "fixed_points.nc").is_file()


def test_the_report_of_a_finished_folder_can_be_rebuilt(double_well, tmp_path):
    from dynsys.cli.report import build_report

    out, _ = double_well
    page = Page(build_report(out))  # from dynsys-run.json: command and spec path
    assert page.rows("table-fixed-points") and page.text["spec-text"].startswith("# The main")
    provenance = {r["name"]: r["value"] for r in page.rows("table-provenance")}
    assert provenance["command"] == "analyze"
