"""`dynsys basins` and the basins stage of `dynsys analyze`, end to end, against exact basins: the
double well (x' = x - x^3 keeps the sign of x: each half-plane is one basin, the line x = 0 the
saddle's stable manifold), the damped Duffing oscillator (odd field on a symmetric box: each sink
has probability 1/2), the pitchfork x' = x - x^3 from uniform intervals (P(+1) = the positive
share of the interval); spec errors that name the key, and output folders that cannot be one."""

import textwrap
from pathlib import Path

import numpy as np
import pytest

from dynsys import Status
from dynsys.cli import main
from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"
Z = 3.29  # two-sided 99.9% normal quantile: the tolerance of the Monte-Carlo checks

DOUBLE_WELL = """
[model]
name = "double_well"

[region]
lower = [-2.0, -1.5]
upper = [2.0, 1.5]

[fixed_points]
seeds = 40

[portrait]
enabled = false
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def rows_by_x(ds, state: str = "x") -> dict[float, int]:
    """Attractor label by the rounded coordinate ``state`` of its state (attractor rows only)."""
    rows = ds["attractor"].values[ds["attractor"].values >= 0]
    xs = ds["attractor_x"].sel(attractor=rows, state=state).values
    return {round(float(x), 9) + 0.0: int(r) for x, r in zip(xs, rows, strict=True)}


def test_double_well_example_map_is_exactly_half_and_half(tmp_path, capsys):
    assert main(["basins", str(EXAMPLES / "double_well.toml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "basins.nc")
    label = rows_by_x(ds)
    minus, plus = label[-1.0], label[1.0]
    np.testing.assert_array_equal(ds["fraction"].sel(attractor=[minus, plus]).values, [0.5, 0.5])
    # every grid point goes to the minimum on its side of x = 0
    expected = np.where(ds["x"].values[:, None] < 0, minus, plus)
    np.testing.assert_array_equal(ds["label"].values, np.broadcast_to(expected, ds["label"].shape))
    assert int(ds["n_orbits"].sum()) == ds["label"].size == 100 * 80
    assert (ds["attractor"].values >= 0).all()  # no outcome without an attractor
    assert "basin map: 100 x 80 grid points in (x, y)" in out
    assert "    4000    0.5000" in out  # orbits and fraction columns of both minima
    assert (tmp_path / "basins.png").read_bytes()[:8] == PNG


def test_odd_grid_puts_one_column_on_the_saddle(tmp_path):
    # x = 0 is invariant and y' = -y: the orbits from that column end at the saddle (0, 0)
    spec = write(
        tmp_path,
        DOUBLE_WELL
        + """
        [basins]
        mode = "map"
        grid = { axes = { x = { linspace = [-2.0, 2.0, 9] }, y = { linspace = [-1.5, 1.5, 6] } } }
        figure = false
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    ds = load(tmp_path / "o" / "basins.nc")
    label = rows_by_x(ds)
    # the column reaches the saddle, a verified fixed point that does not attract
    stalled = -Status.NOT_ATTRACTING
    assert np.all(ds["label"].sel(x=0.0).values == stalled)
    fraction = ds["fraction"].sel(attractor=[label[-1.0], stalled, label[1.0]]).values
    np.testing.assert_array_equal(fraction, [4 / 9, 1 / 9, 4 / 9])
    assert str(ds["attractor_kind"].sel(attractor=stalled).values) == "not_attracting"
    assert not (tmp_path / "o" / "basins.png").exists()  # figure = false
    assert (tmp_path / "o" / "fixed_points.nc").is_file()


def test_duffing_example_probabilities_are_one_half(tmp_path, capsys):
    spec = EXAMPLES / "duffing_basins.toml"
    assert main(["basins", str(spec), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "basins.nc")
    n = int(ds.attrs["n_samples"])
    assert n % 1000 == 0 and int(ds["n_orbits"].sum()) == n  # whole rounds of n = 1000
    assert (ds["attractor"].values >= 0).all()
    # found on the way (no [region]): the two sinks (+-1, 0)
    np.testing.assert_allclose(
        np.sort(ds["attractor_x"].values, axis=0), [[-1.0, 0.0], [1.0, 0.0]], atol=1e-10
    )
    assert set(ds["attractor_kind"].values.tolist()) == {"sink focus"}
    assert ((ds["ci_high"] - ds["ci_low"]).values < 0.05).all()  # target_width reached
    p = ds["fraction"].values
    assert np.all(np.abs(p - 0.5) < Z * np.sqrt(0.25 / n))
    assert "no [region]: attractors are found on the way" in out
    assert "95% interval" in out and "target width 0.05" in out
    assert (tmp_path / "basins.png").read_bytes()[:8] == PNG


def test_sweep_over_the_sampler_radius(tmp_path, capsys):
    # x' = x - x^3 from x0 uniform on [0.5 - r, 0.5 + r]: P(x -> +1) = min(1, (0.5 + r) / (2 r))
    spec = write(
        tmp_path,
        """
        [model]
        name = "pitchfork_normal_form"

        [basins]
        mode = "sweep"
        sampler = { kind = "ball", centre = [0.5], radius = 1.0 }
        param = "radius"
        values = [0.25, 1.0, 2.0]
        n = 400
        seed = 3
        """,
    )
    assert main(["basins", str(spec), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "o" / "basins.nc")
    plus = rows_by_x(ds.isel(param=-1))[1.0]
    radius = ds["param"].values
    exact = np.minimum(1.0, (0.5 + radius) / (2 * radius))
    p = ds["fraction"].sel(attractor=plus).values
    assert p[0] == 1.0
    assert np.all(np.abs(p - exact) <= Z * np.sqrt(exact * (1 - exact) / 400) + 1e-12)
    assert "basin probabilities over radius = [0.25, 1.0, 2.0]" in out
    assert (tmp_path / "o" / "basins.png").read_bytes()[:8] == PNG


def test_orbits_without_an_attractor_are_reported(tmp_path, capsys):
    spec = write(
        tmp_path,
        DOUBLE_WELL
        + """
        [basins]
        mode = "map"
        grid = { axes = { x = { linspace = [-1.9, 1.9, 4] }, y = { linspace = [-1.4, 1.4, 3] } } }
        flow = { t_max = 0.01 }
        figure = false
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    ds = load(tmp_path / "o" / "basins.nc")
    # none arrives by t = 0.01: all end at the time limit, and the note says what to change
    assert float(ds["fraction"].sel(attractor=-Status.TIME_LIMIT)) == 1.0
    assert "time_limit" in out
    assert "note: 12 orbit(s) time_limit: the final time was reached" in out
    assert "raise `t_max`" in out


def test_disabled_table_is_skipped_by_analyze(tmp_path):
    spec = write(tmp_path, DOUBLE_WELL + '[basins]\nmode = "map"\nenabled = false\n')
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "fixed_points.nc").is_file()
    assert not (tmp_path / "o" / "basins.nc").exists()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('mode = "map"\ngird = 3\n', "unknown key(s) ['basins.gird'] in [basins]"),
        ('mode = "mapp"\n', "`basins.mode` must be one of ['map', 'probabilities', 'sweep']"),
        ("n = 10\n", "[basins] sets ['basins.n'] but no `basins.mode`"),
        ('mode = "map"\nfigure = "yes"\n', "`basins.figure` must be true or false"),
        ('mode = "map"\ngrid = 3\n', "`basins.grid` must be a table"),
        (
            'mode = "map"\ngrid = { axes = { x = { linspace = [0, 1, 3] } } }\n',
            "`axes` must map exactly two",
        ),
        (  # a bare list is neither spelling: an error, never three coordinates
            'mode = "map"\ngrid = { axes = { x = [0, 1, 3], y = { values = [0] } } }\n',
            "`basins.grid.axes.x` must be { linspace = [low, high, num] }",
        ),
        (  # num must be an integer >= 2, never read as coordinates
            (
                'mode = "map"\n'
                "grid = { axes = { x = { linspace = [0, 1, 0] }, y = { values = [0] } } }\n"
            ),
            "`num` must be an integer from 2",
        ),
        (
            (
                'mode = "map"\n'
                "grid = { axes = { x = { linspace = [0, 1, 2.5] }, y = { values = [0] } } }\n"
            ),
            "`num` must be an integer from 2",
        ),
        (
            'mode = "probabilities"\nsampler = { kind = "cube" }\n',
            "`basins.sampler.kind` must be one of",
        ),
        (
            (
                'mode = "map"\n'
                "grid = { axes = { x = { values = [0, 1] }, y = { values = [0, 1] } } }\n"
                "flow = { tmax = 1 }\n"
            ),
            "`basins.flow.tmax` is not a key here",
        ),
    ],
)
def test_bad_basins_table_names_the_key(tmp_path, capsys, table, message):
    spec = write(tmp_path, DOUBLE_WELL + "[basins]\n" + table)
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynsys analyze: error:")
    assert message in err, err


def test_basins_command_needs_a_basins_table(tmp_path, capsys):
    spec = write(tmp_path, DOUBLE_WELL)
    assert main(["basins", str(spec), "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert "the spec has no [basins] table with a `basins.mode`" in captured.err
    assert "fixed point" not in captured.out  # it fails before any computation
    bad = write(tmp_path, "basins = 3\n" + DOUBLE_WELL, "top.toml")
    assert main(["basins", str(bad)]) == 2
    assert "`basins` must be a table ([basins])" in capsys.readouterr().err


def test_output_folder_that_cannot_be_one_is_a_clean_error(tmp_path, capsys):
    spec = EXAMPLES / "duffing_basins.toml"
    blocker = tmp_path / "file"
    blocker.write_text("")
    for out in (blocker, blocker / "sub"):
        assert main(["basins", str(spec), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"cannot use {str(out)!r} as the output folder" in err
        assert "is a file, not a folder" in err and "Traceback" not in err
