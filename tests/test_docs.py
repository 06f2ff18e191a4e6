"""The documentation builds warning-free (a quick build: examples not run, notebook not executed),
its generated pages hold what the code says, and the notebook runs and displays its tables."""

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import dynsys
from dynsys.cli.schema import schema_for
from dynsys.cli.spec import reference

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
EXAMPLES = sorted(p.stem for p in (REPO / "examples").glob("*.py") if not p.name.startswith("_"))

sphinx = pytest.importorskip(
    "sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'"
)


class Text(HTMLParser):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_data(self, data):
        self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


def build(out: Path) -> None:
    """The quick build of the tests: examples not run, the notebook not executed."""
    env = {**os.environ, "DYNSYS_DOCS_RUN_EXAMPLES": "0"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(out / ".doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, f"the docs build failed or warned:\n{run.stderr[-5000:]}"
    assert "WARNING" not in run.stderr, run.stderr


@pytest.mark.slow
def test_docs_build_warning_free_with_the_generated_pages(tmp_path):
    """One build (the build writes the generated sources into docs/, so one at a time)."""
    build(tmp_path)
    for page in (
        "index",
        "install",
        "quickstart",
        "cli",
        "spec_reference",
        "datasets",
        "outcomes",
        "api",
        "notebooks/quickstart",
        "gallery/index",
    ):
        assert (tmp_path / f"{page}.html").is_file(), page
    for guide in ("phase_portraits", "basins", "graphs", "continuation"):
        assert (tmp_path / "guide" / f"{guide}.html").is_file(), guide

    # the spec reference lists every key of the schema
    text = Text(tmp_path / "spec_reference.html").text
    for row in reference(schema_for("analyze")):
        assert row.key in text, f"{row.key} is missing from the spec reference"

    # the outcome table lists every code with its meaning
    text = Text(tmp_path / "outcomes.html").text
    for status in dynsys.Status:
        meaning = dynsys.explain(status).split(": ", 1)[1].split(" Fix: ")[0]
        assert status.name.lower() in text and " ".join(meaning.split()) in text, status

    # a gallery page per example, with its source
    for stem in EXAMPLES:
        page = tmp_path / "gallery" / f"{stem}.html"
        assert page.is_file(), stem
        assert "defmain(" in Text(page).text.replace(" ", "")  # the source, highlighted

    # the API pages document the public faces
    text = Text(tmp_path / "api" / "dynsys.basins.html").text
    for name in ("basin_map", "basin_probabilities", "basin_probability_sweep", "BasinOptions"):
        assert name in text
    assert "summary" in Text(tmp_path / "api" / "dynsys.display.html").text


def test_the_notebook_runs_and_displays_its_tables():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(DOCS / "notebooks" / "quickstart.ipynb", as_version=4)
    env_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this tree's dynsys
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()
    html = [
        output["data"]["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    assert len(html) == 3, "fixed points, basins and the graph each display a table"
    points, basins, graph = html
    assert "3 fixed points of double_well" in points and points.count("<td>minimum</td>") == 2
    assert "basin fractions of double_well" in basins and "<td>400</td>" not in basins
    assert "dynsys-graph-summary" in graph and "<td>saddle-1</td>" in graph


def test_every_public_package_has_an_api_page():
    """A new family of dynsys gets its page: api.rst lists every public package."""
    listed = (DOCS / "api.rst").read_text()
    packages = [
        p.parent.name
        for p in (REPO / "dynsys").glob("*/__init__.py")
        if not p.parent.name.startswith("_") and p.parent.name != "cli"
    ]
    assert packages
    for name in packages:
        assert f"   dynsys.{name}\n" in listed, f"dynsys.{name} is missing from docs/api.rst"
