"""The front door of the command line: --version, python -m dynsys, --progress everywhere,
dynsys init, and a factory module imported from the spec's own folder."""

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

import dynsys
import dynsys.cli.spec as cli_spec
from dynsys import SpecError
from dynsys.cli import build_parser, main
from dynsys.cli.schema import schema_for
from dynsys.cli.spec import load_spec
from dynsys.cli.starter import KINDS, starter_text, write_starter
from dynsys.io import load

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- version
def test_version_prints_the_distribution_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"dynsys {dynsys.__version__}"


def test_python_dash_m_dynsys_is_the_command():
    run = subprocess.run(
        [sys.executable, "-m", "dynsys", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"dynsys \d+\.\d+\.\d+\S*", run.stdout.strip())


def test_the_version_has_one_source():
    """The build reads the version from dynsys/_version.py (no second copy to drift)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "dynsys/_version.py"
    assert project["project"]["name"] != "dynsys"  # that name is taken on the package index


# ----------------------------------------------------------------------------- --progress
@pytest.mark.parametrize("command", ["analyze", "continue", "basins", "graph"])
def test_progress_is_accepted_before_and_after_every_command(command):
    parser = build_parser()
    assert parser.parse_args([command, "s.toml", "--progress"]).progress is True
    assert parser.parse_args(["--progress", command, "s.toml"]).progress is True
    assert not hasattr(parser.parse_args([command, "s.toml"]), "progress")  # main: False


def test_progress_is_accepted_by_init_and_spec(tmp_path, capsys):
    assert main(["init", str(tmp_path / "a.toml"), "--progress"]) == 0
    assert main(["spec", "--schema", "--progress"]) == 0
    assert "model.name" in capsys.readouterr().out


def test_analyze_progress_draws_bars(tmp_path, capsys):
    spec = write_starter(tmp_path / "analyze.toml", "analyze")
    assert main(["--progress", "analyze", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert "orbit/s" in capsys.readouterr().err  # the bar of the portrait's orbits


# ----------------------------------------------------------------------------- init
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_init_writes_a_spec_that_runs(kind, tmp_path, capsys):
    path = tmp_path / "specs" / f"{kind}.toml"
    assert main(["init", str(path), "--kind", kind]) == 0
    assert f"dynsys {kind} {path}" in capsys.readouterr().out
    assert f"# Run: dynsys {kind} {path} " in path.read_text()
    out = tmp_path / "out"
    assert main([kind, str(path), "--out", str(out)]) == 0
    if kind == "analyze":
        ds = load(out / "fixed_points.nc")
        np.testing.assert_allclose(np.sort(ds["x"].values[:, 0]), [-1.0, 0.0, 1.0], atol=1e-10)
        assert (out / "portrait.png").is_file()
    elif kind == "basins":
        ds = load(out / "basins.nc")
        counts = np.unique(ds["label"].values, return_counts=True)[1]
        assert counts.tolist() == [24 * 18 // 2] * 2  # the two minima share the grid evenly
    elif kind == "continue":
        assert (out / "diagram.nc").is_file() and (out / "diagram.png").is_file()
        assert "BP" in capsys.readouterr().out  # the pitchfork at mu = 0
    else:
        assert (out / "graph.graphml").is_file()
        assert "saddle" in (out / "graph.graphml").read_text()


def test_init_explains_every_key_the_command_reads():
    text = starter_text("basins")
    lines = text.splitlines()
    for row in cli_spec.reference({"basins": schema_for("basins")["basins"]}):
        key = row.key.removeprefix("basins.")
        at = next(
            (i for i, line in enumerate(lines) if re.match(rf"(# )?{re.escape(key)} =", line)),
            None,
        )
        assert at is not None, f"{row.key} is missing from the starter"
        assert lines[at - 1].startswith(f"# {row.doc}"), row.key  # its doc above it


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_uncommented_defaults_are_valid_and_are_the_defaults(kind, tmp_path):
    """Uncommenting every default line gives a spec that validates to the same values as
    leaving them commented: the defaults shown are real and well formed."""
    text = starter_text(kind)
    line = r"^# ([a-z_][a-z_0-9.]* = (?!   \(default: none\)).*)$"
    uncommented = re.sub(line, r"\1", text, flags=re.MULTILINE)
    assert uncommented != text
    quiet, loud = tmp_path / "quiet.toml", tmp_path / "loud.toml"
    quiet.write_text(text)
    loud.write_text(uncommented)
    assert load_spec(loud, schema_for(kind)) == load_spec(quiet, schema_for(kind))


def test_init_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "dynsys.toml"
    path.write_text("# mine\n")
    assert main(["init", str(path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert path.read_text() == "# mine\n"
    assert main(["init", str(path), "--force", "--kind", "graph"]) == 0
    assert tomllib.loads(path.read_text())["graph"] == {"path_points": 50}


def test_init_default_path_is_dynsys_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert tomllib.loads((tmp_path / "dynsys.toml").read_text())["model"]["name"] == "double_well"


def test_unknown_kind_is_an_error():
    with pytest.raises(dynsys.errors.InputError, match="unknown kind 'map'"):
        starter_text("map")


# ----------------------------------------------------------------------------- the spec's folder
FACTORY = """
import numpy as np
from dynsys import System, model

WHERE = {where!r}

def _field(x, p):
    return np.stack([-(x[..., 0] ** 3 - p["a"] * x[..., 0]), -x[..., 1]], axis=-1)

@model
def well(a=1.0):
    return System(_field, ["x", "y"], {{"a": a}}, name="well_" + WHERE)

def undeclared(a=1.0):
    return well(a)
"""

SPEC = """
[model]
factory = "{module}:{function}"
args = {{ a = 1.0 }}

[region]
lower = [-2.0, -1.0]
upper = [2.0, 1.0]

[fixed_points]
seeds = 40

[portrait]
enabled = false
"""


def factory_beside_spec(folder: Path, module: str, function: str = "well") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(FACTORY.format(where="beside"))
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(module=module, function=function))
    return spec


@pytest.fixture
def path_spy(monkeypatch):
    """Record sys.path while the factory is resolved."""
    seen = []
    original = cli_spec.resolve_system

    def spy(model, registry):
        seen.append(list(sys.path))
        return original(model, registry)

    monkeypatch.setattr(cli_spec, "resolve_system", spy)
    return seen


def test_factory_beside_the_spec_imports_without_import_path(tmp_path, path_spy, monkeypatch):
    monkeypatch.chdir(REPO)  # the working folder is not the spec's
    folder = tmp_path / "project"
    spec = factory_beside_spec(folder, "fd_model_beside")
    before = list(sys.path)
    assert main(["analyze", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert sys.path == before  # removed again
    assert "fd_model_beside" not in sys.modules  # not importable by name afterwards
    [during] = path_spy
    assert during == [*before, str(folder.resolve())]  # appended: searched last
    ds = load(tmp_path / "out" / "fixed_points.nc")
    assert ds.attrs["system"] == "well_beside"
    np.testing.assert_allclose(np.sort(ds["x"].values[:, 0]), [-1.0, 0.0, 1.0], atol=1e-10)


def test_a_module_of_the_same_name_elsewhere_on_the_path_wins(tmp_path, monkeypatch, capsys):
    spec = factory_beside_spec(tmp_path / "project", "fd_model_twin")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "fd_model_twin.py").write_text(FACTORY.format(where="elsewhere"))
    monkeypatch.syspath_prepend(str(other))
    assert main(["analyze", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert load(tmp_path / "out" / "fixed_points.nc").attrs["system"] == "well_elsewhere"
    sys.modules.pop("fd_model_twin", None)


def test_import_path_wins_over_the_spec_folder(tmp_path):
    spec = factory_beside_spec(tmp_path / "project", "fd_model_flag")
    other = tmp_path / "flagged"
    other.mkdir()
    (other / "fd_model_flag.py").write_text(FACTORY.format(where="flagged"))
    try:
        code = main(
            ["analyze", str(spec), "--out", str(tmp_path / "out"), "--import-path", str(other)]
        )
    finally:
        sys.path.remove(str(other.resolve()))
        sys.modules.pop("fd_model_flag", None)
    assert code == 0
    assert load(tmp_path / "out" / "fixed_points.nc").attrs["system"] == "well_flagged"


def test_a_spec_without_a_factory_never_touches_sys_path(tmp_path, path_spy):
    spec = write_starter(tmp_path / "spec.toml", "analyze")
    (tmp_path / "numpy.py").write_text("raise RuntimeError('never imported')\n")
    before = list(sys.path)
    assert main(["analyze", str(spec), "--out", str(tmp_path / "out")]) == 0
    assert path_spy == [before]
    assert sys.path == before


def test_an_undeclared_factory_beside_the_spec_is_refused(tmp_path, capsys):
    spec = factory_beside_spec(tmp_path / "project", "fd_model_undeclared", "undeclared")
    before = list(sys.path)
    assert main(["analyze", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "not declared a dynsys model" in capsys.readouterr().err
    assert sys.path == before
    assert not (tmp_path / "out").exists()


def test_the_spec_folder_is_removed_when_the_factory_fails(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "fd_model_broken.py").write_text("raise ValueError('broken module')\n")
    (folder / "spec.toml").write_text(SPEC.format(module="fd_model_broken", function="well"))
    before = list(sys.path)
    with pytest.raises(SpecError, match="broken module"):
        spec = load_spec(folder / "spec.toml", schema_for("analyze"))
        from dynsys.cli.search_path import spec_folder_on_path
        from dynsys.models import MODELS

        with spec_folder_on_path(folder / "spec.toml", spec["model"]):
            cli_spec.resolve_system(spec["model"], MODELS)
    assert sys.path == before


@pytest.mark.slow
def test_factory_beside_the_spec_reaches_worker_processes(tmp_path):
    """Worker processes do not have the spec's folder on their path: the system goes to them
    by value."""
    spec = factory_beside_spec(tmp_path / "project", "fd_model_workers")
    spec.write_text(
        spec.read_text().split("[region]")[0]
        + textwrap.dedent(
            """
            [basins]
            mode = "map"
            grid.axes.x.linspace = [-2.0, 2.0, 6]
            grid.axes.y.linspace = [-1.0, 1.0, 4]
            executor = "processes"
            workers = 2
            chunk_size = 12
            figure = false
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "dynsys", "basins", str(spec), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    counts = np.unique(load(tmp_path / "out" / "basins.nc")["label"].values, return_counts=True)
    assert counts[1].tolist() == [12, 12]
