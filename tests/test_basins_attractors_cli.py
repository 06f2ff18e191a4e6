"""`dynsys basins` with attractors that are not points: the bistable Hopf normal form
``r' = mu r + r^3 - r^5``, ``theta' = 1`` at ``mu = -0.1`` (example spec
``examples/bistable_hopf_basins.toml``): the basin of the origin is the disc inside the unstable
cycle ``r_u^2 = (1 - sqrt(1 + 4 mu)) / 2``, every other start goes to the stable cycle
``r_s^2 = (1 + sqrt(1 + 4 mu)) / 2`` of period ``2 pi``. The recurrence options are set from the
spec (``[basins.recurrence]``, derived from AttractorOptions)."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

from dynsys import Status
from dynsys.cli import main
from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MU = -0.1
R_U = np.sqrt((1 - np.sqrt(1 + 4 * MU)) / 2)
R_S = np.sqrt((1 + np.sqrt(1 + 4 * MU)) / 2)

HOPF = """
[model]
name = "bistable_hopf"
params = { mu = -0.1 }

[basins]
mode = "probabilities"
sampler = { kind = "uniform", low = [-1.5, -1.5], high = [1.5, 1.5] }
n = 200
seed = 1
flow = { t_max = 100.0 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_example_map_splits_the_plane_at_the_unstable_cycle(tmp_path, capsys):
    spec = EXAMPLES / "bistable_hopf_basins.toml"
    assert main(["basins", str(spec), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "basins.nc")
    types = ds.attractor_type.values.tolist()
    assert types == ["point", "cycle"]
    r = np.hypot(ds.x.values[:, None], ds.y.values[None, :])
    label = ds.label.values
    assert np.all(label[r < R_U - 0.03] == 0) and np.all(label[r > R_U + 0.03] == 1)
    assert float(ds.attractor_period[1]) == pytest.approx(2 * np.pi, abs=1e-10)
    drawn = ds.attractor_samples.values[1]
    drawn = drawn[np.isfinite(drawn).all(axis=1)]
    np.testing.assert_allclose(np.linalg.norm(drawn, axis=1), R_S, atol=1e-6)
    assert ds.attrs["recurrence_cell_rule"] == "given"  # cell_size = 0.05 in the spec
    # the printed table: kind, period and largest Lyapunov exponent of the cycle
    header = next(line for line in out.splitlines() if line.startswith("label"))
    assert header.split()[:6] == ["label", "attractor", "index", "period", "lyapunov", "x"]
    row = next(line for line in out.splitlines() if line.split()[:2] == ["1", "cycle"])
    assert row.split()[3] == "6.2831853" and row.split()[4] == "0"
    assert (tmp_path / "basins.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recurrence_options_from_the_spec(tmp_path, capsys):
    spec = write(
        tmp_path,
        HOPF
        + """
        recurrence = { cell_size = [0.04, 0.06], n_draw = 50 }
        refine_cycles = false
        """,
    )
    assert main(["basins", str(spec), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "o" / "basins.nc")
    assert ds.attrs["recurrence_cell_rule"] == "given"
    assert ds.attrs["recurrence_cell_size_used"] == 0.06
    cycle = ds.sel(attractor=ds.attractor_type == "cycle")
    assert str(cycle.attractor_period_method.values[0]) == "poincare returns"
    assert int(np.isfinite(cycle.attractor_samples.values[0]).all(axis=1).sum()) <= 50
    assert "95% interval" in out and "period" in out


def test_points_only_from_the_spec(tmp_path, capsys):
    spec = write(tmp_path, HOPF + 'attractor_kinds = "points"\n')
    assert main(["basins", str(spec), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "o" / "basins.nc")
    assert set(ds.attractor_type.values.tolist()) <= {"point", ""}  # no cycle
    assert -Status.TIME_LIMIT in ds.attractor.values
    assert "note:" in out and "time_limit" in out and "attractor_kinds='any'" in out
    assert "period" not in out.splitlines()[3]  # no cycle: no period column


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("recurrence = { cell_size = -0.1 }\n", "`basins.recurrence.cell_size` must be positive"),
        ("recurrence = { cels = 0.1 }\n", "basins.recurrence.cels"),
        ('attractor_kinds = "cycles"\n', "attractor_kinds"),
    ],
)
def test_bad_recurrence_keys_are_errors_naming_them(tmp_path, capsys, table, message):
    spec = write(tmp_path, HOPF + table)
    assert main(["basins", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_schema_lists_the_nested_recurrence_options(capsys):
    assert main(["spec", "--schema", "basins"]) == 0
    out = capsys.readouterr().out
    for key in (
        "basins.attractor_kinds",
        "basins.recurrence.cell_size",
        "basins.recurrence.newton.tol",
        "basins.iterate.max_period",
        "basins.refine_cycles",
        "basins.cycles.ntst",
    ):
        assert key in out
