"""`dynsys continue` and the continuation stage of `dynsys analyze`, end to end, against known
bifurcation values: Lorenz (BP at r = 1, Hopf at r = 470/19), the fold normal form (LP at
mu = 0), the Duffing pitchfork (BP at alpha = 0); and spec errors that name the key."""

import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from dynsys.cli import main
from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SIGMA, BETA = 10.0, 8.0 / 3.0
R_HOPF = SIGMA * (SIGMA + BETA + 3) / (SIGMA - BETA - 1)  # 470/19

FOLD = """
[model]
name = "fold_normal_form"
params = { mu = 1.0 }

[region]
lower = [-2.0]
upper = [2.0]

[fixed_points]
seeds = 20

[start]
pick = "stable"

[continuation]
param = "mu"
p_min = -1.0
p_max = 1.0
ds_max = 0.2
depth = 0
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def specials(tree: xr.DataTree, kind: str) -> list[float]:
    out = []
    for node in tree.children.values():
        ds = node.to_dataset()
        out += ds["special_param"].values[ds["special_type"].values == kind].tolist()
    return out


@pytest.fixture(scope="module")
def lorenz_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lorenz")
    code = main(["continue", str(EXAMPLES / "lorenz_continuation.toml"), "--out", str(out)])
    return code, out


def test_lorenz_spec_writes_the_diagram_with_bp_and_hopf(lorenz_run, capsys):
    code, out = lorenz_run
    assert code == 0
    tree = load(out / "diagram.nc")
    assert isinstance(tree, xr.DataTree)
    assert sorted(tree.children) == ["branch0", "branch1"]
    origin = tree["branch0"].to_dataset()
    assert origin["special_type"].values.tolist() == ["BP"]
    assert abs(float(origin["special_param"][0]) - 1.0) < 1e-10
    hopf = specials(tree, "H")
    assert len(hopf) == 2  # on C+ and on C-
    assert max(abs(h - R_HOPF) for h in hopf) < 1e-8
    nontrivial = tree["branch1"].to_dataset()
    assert nontrivial.attrs["parent_branch"] == "branch0"
    x = nontrivial["x"].values
    r = nontrivial["param"].values
    np.testing.assert_allclose(x[:, 0] ** 2, BETA * (r - 1.0), atol=1e-8)  # x^2 = beta (r - 1)
    assert (out / "diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lorenz_printout(tmp_path, capsys):
    spec = EXAMPLES / "lorenz_continuation.toml"
    assert main(["continue", str(spec), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "24.7368421053" in out and "subcritical" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["branch0", "BP", "1", "converged", "+1"] in [row[:5] for row in lines]


def test_start_found_among_fixed_points_fold_at_zero(tmp_path, capsys):
    assert main(["continue", str(write(tmp_path, FOLD)), "--out", str(tmp_path / "o")]) == 0
    tree = load(tmp_path / "o" / "diagram.nc")
    branch = tree["branch0"].to_dataset()
    # x' = mu - x^2: started on the stable equilibrium +1 at mu = 1, folds at mu = 0
    assert branch["special_type"].values.tolist() == ["LP"]
    assert abs(float(branch["special_param"][0])) < 1e-10
    np.testing.assert_allclose(branch["x"].values[:, 0] ** 2, branch["param"].values, atol=1e-10)
    assert "start: fixed point" in capsys.readouterr().out


def test_analyze_runs_the_stage_from_its_own_fixed_points(tmp_path):
    spec = write(
        tmp_path,
        """
        [model]
        name = "duffing"

        [region]
        lower = [-2.0, -1.0]
        upper = [2.0, 1.0]

        [fixed_points]
        seeds = 40

        [portrait]
        enabled = false

        [start]
        pick = "stable"
        near = [1.0, 0.0]

        [continuation]
        param = "alpha"
        p_min = -1.0
        p_max = 0.5
        ds_max = 0.1
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "fixed_points.nc").is_file()
    tree = load(tmp_path / "o" / "diagram.nc")
    sink = tree["branch0"].to_dataset()
    assert sink["x"].values[sink.attrs["start_step"], 0] == pytest.approx(1.0, abs=1e-12)
    # q^2 = -alpha meets the origin in a pitchfork at alpha = 0; switching finds the origin
    bp = specials(tree, "BP")
    assert bp and max(abs(b) for b in bp) < 1e-10
    origin = tree["branch1"].to_dataset()
    assert np.abs(origin["x"].values).max() < 1e-12


def test_analyze_without_continuation_table_writes_no_diagram(tmp_path):
    spec = write(
        tmp_path,
        """
        [model]
        name = "double_well"

        [region]
        lower = [-2.0, -1.5]
        upper = [2.0, 1.5]

        [fixed_points]
        seeds = 30

        [portrait]
        enabled = false
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    assert not (tmp_path / "o" / "diagram.nc").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("[continuation]\nds_maxx = 0.5\n", r"unknown key(s) ['continuation.ds_maxx']"),
        ('[continuation]\ndepth = "one"\n', "`continuation.depth` must be an integer"),
        ("[continuation]\nds = -0.1\n", "`continuation.ds` must be a positive number"),
        ("[continuation]\nmax_points = 1\n", "`continuation.max_points` must be an integer >= 2"),
        ("[continuation]\nds = 0.9\n", "`continuation.ds` must be between"),
        ('[continuation]\nparam = "rho"\n', "`continuation.param` 'rho' is not a parameter"),
        ('[continuation]\nmeasure = "w"\n', "`continuation.measure` must be a state name"),
        ('[continuation]\nmeasure = "loss"\n', "`continuation.measure` = 'loss' needs a system"),
        ('[continuation]\ndirection = "up"\n', "`continuation.direction` must be one of"),
        (
            '[continuation]\ndetect = ["LP", "XX"]\n',
            "`continuation.detect` must be a list of distinct values from",
        ),
        ("[continuation]\nnewton_tol = 1e-9\n", "unknown key(s) ['continuation.newton_tol']"),
        ("[continuation]\np_min = 2.0\n", "lies outside [`continuation.p_min`"),
        ("[start]\nx = [0.0, 0.0]\n", "`start.x` has 2 values; the model has 3 states"),
        ('[start]\npick = "best"\n', "`start.pick` must be one of"),
    ],
)
def test_bad_spec_names_the_key(tmp_path, capsys, change, message):
    base = (EXAMPLES / "lorenz_continuation.toml").read_text()
    base = base.replace('param = "r"', 'param = "r"\nmax_points = 50')
    section, line = change.split("\n", 1)
    key = line.split("=")[0].strip()
    lines = base.splitlines()
    # replace the key inside its section if present, else add it after the section header
    start = lines.index(section)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    body = [row for row in lines[start + 1 : end] if row.split("=")[0].strip() != key]
    lines[start + 1 : end] = [line.strip(), *body]
    spec = write(tmp_path, "\n".join(lines) + "\n")
    assert main(["continue", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynsys continue: error:")
    assert message in err, err


LORENZ_NEWTON = """
[model]
name = "lorenz"
params = { r = 0.5 }

[start]
x = [0.0, 0.0, 0.0]

[continuation]
param = "r"
p_min = 0.0
p_max = 2.0
ds_max = 0.5
depth = 0

[continuation.newton]
"""


def test_newton_sub_table_reaches_the_corrector_options(tmp_path):
    from dynsys.cli.schema import schema_for
    from dynsys.cli.spec import load_spec
    from dynsys.continuation import ContinuationOptions
    from dynsys.fixedpoints import NewtonOptions

    spec = load_spec(write(tmp_path, LORENZ_NEWTON + "step_tol = 1e-9\n"), schema_for("continue"))
    options = spec["continuation"]["options"]
    assert isinstance(options, ContinuationOptions)
    assert options.newton.step_tol == 1e-9
    assert options.newton.max_iter == 8  # the rest of the corrector's defaults stay
    assert options == ContinuationOptions(newton=NewtonOptions(step_tol=1e-9, max_iter=8)).replace(
        p_min=0.0, p_max=2.0, ds_max=0.5
    )
    assert spec["continuation"]["depth"] == 0 and spec["continuation"]["param"] == "r"
    # and it is what the run used: the options are stamped on every branch
    assert main(["continue", str(tmp_path / "spec.toml"), "--out", str(tmp_path / "o")]) == 0
    branch = load(tmp_path / "o" / "diagram.nc")["branch0"].to_dataset()
    assert branch.attrs["newton_step_tol"] == 1e-9 and branch.attrs["newton_max_iter"] == 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("step_tol = 1e-16\n", "`continuation.newton.step_tol` must be >= 1e-15"),
        ("max_iter = 0\n", "`continuation.newton.max_iter` must be a positive integer; got 0"),
        ("step = 1\n", "`continuation.newton.step` is not a key here"),
    ],
)
def test_bad_newton_key_names_the_dotted_key(tmp_path, capsys, body, message):
    spec = write(tmp_path, LORENZ_NEWTON + body)
    assert main(["continue", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynsys continue: error:")
    assert message in err, err


def test_spec_reference_lists_the_options_once_from_the_class():
    from dynsys.cli.continuation_stage import CONTINUATION_TABLE
    from dynsys.cli.spec import reference

    rows = {row.key: row for row in reference({"continuation": CONTINUATION_TABLE})}
    assert rows["continuation.ds"].default == 0.01
    assert rows["continuation.newton.step_tol"].default == 1e-10
    assert rows["continuation.newton.max_iter"].default == 8
    assert rows["continuation.detect"].default == ("LP", "BP", "H", "IC", "PD", "NS", "LPC")
    assert rows["continuation.param"].type == "str"
    assert "continuation.newton_tol" not in rows and "continuation.detect_hopf" not in rows


def test_summary_names_the_stop_reasons_and_explains_short_branches(tmp_path, capsys):
    spec = write(tmp_path, LORENZ_NEWTON.replace("depth = 0", "depth = 0\nmax_points = 5"))
    assert main(["continue", str(spec), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "stopped by max_points/max_points" in out
    assert "note: max_points: the branch used up `max_points` points." in out


def test_missing_start_and_region_is_explained(tmp_path, capsys):
    spec = write(
        tmp_path,
        """
        [model]
        name = "lorenz"
        params = { r = 0.5 }

        [continuation]
        param = "r"
        """,
    )
    assert main(["continue", str(spec)]) == 2
    assert "give `start.x`, or a [region]" in capsys.readouterr().err


def test_continuation_table_without_param_is_an_error(tmp_path, capsys):
    spec = write(
        tmp_path,
        """
        [model]
        name = "double_well"

        [region]
        lower = [-2.0, -1.5]
        upper = [2.0, 1.5]

        [portrait]
        enabled = false

        [continuation]
        ds_max = 0.5
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "no `continuation.param`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"ds_max": 0.5}, "continuation.ds_max"),
        ({"newton": {"max_iter": 20}}, "continuation.newton"),
        ({"detect": ["LP"]}, "continuation.detect"),
        ({"depth": 2}, "continuation.depth"),
    ],
)
def test_options_without_param_are_named_in_the_error(table, key):
    from dynsys.cli.continuation_stage import CONTINUATION_TABLE, continuation_requested
    from dynsys.cli.spec import validate
    from dynsys.errors import SpecError

    schema = {"continuation": CONTINUATION_TABLE}
    assert not continuation_requested(validate({"continuation": {}}, schema))
    with pytest.raises(SpecError, match=rf"\['{key}'\] but no `continuation.param`"):
        continuation_requested(validate({"continuation": table}, schema))
