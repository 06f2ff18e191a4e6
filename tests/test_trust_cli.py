"""The trust campaign's findings on the command line and the kernel, one test each: no spec can
run arbitrary code or send work elsewhere, no stage runs unbounded, no malformed input becomes a
traceback or a silent wrong answer, and no run loses or mixes results."""

import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from dynsys import Status, explain, find_fixed_points
from dynsys.cli import main
from dynsys.io import load
from dynsys.models import double_well, lorenz

DOUBLE_WELL = """
[model]
name = "double_well"
[region]
lower = [-2.0, -1.5]
upper = [2.0, 1.5]
[fixed_points]
seeds = 40
[portrait]
orbits = 2
t_max = 2.0
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run_cli(args: list[str], cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """The command in a fresh process, under a time bound (a hang fails the test)."""
    code = f"from dynsys.cli import main; raise SystemExit(main({args!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )


# ----------------------------------------------------------------------------- 1. what runs
def test_a_spec_cannot_send_work_to_a_scheduler(tmp_path, capsys):
    spec = write(
        tmp_path,
        DOUBLE_WELL
        + """
        [basins]
        mode = "map"
        executor = "tcp://127.0.0.1:8786"
        grid = { axes = { x = { values = [0.5] }, y = { values = [0.0] } } }
        """,
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "never in a spec" in err and "--executor" in err
    assert not (tmp_path / "o").exists()  # refused before anything ran


# ----------------------------------------------------------------------------- 2-3. bounds
STIFF = """
[model]
name = "stiff_manifold"
[region]
lower = [-2.0, -2.0]
upper = [2.0, 2.0]
[fixed_points]
seeds = 40
[portrait]
orbits = 3
t_max = 5.0
max_steps = 2000
"""


def test_stiff_portrait_is_bounded_and_says_why_orbits_stopped(tmp_path):
    spec = write(tmp_path, STIFF)
    done = run_cli(["analyze", str(spec), "--out", str(tmp_path / "o")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "portrait orbit(s) stopped early: max_steps" in done.stdout
    assert (tmp_path / "o" / "portrait.png").is_file()


def test_a_field_that_is_nan_in_part_of_the_region_does_not_hang_the_portrait(tmp_path):
    (tmp_path / "half_models.py").write_text(
        "import numpy as np\n"
        "from dynsys import System, model\n"
        "@model\n"
        "def half():\n"
        "    def f(x, p):\n"
        "        with np.errstate(invalid='ignore'):\n"
        "            return np.stack([np.sqrt(x[..., 0]) - 1.0, -x[..., 1]], -1)\n"
        "    return System(f, ['u', 'v'], probe=[0.5, 0.3])\n"
    )
    spec = write(
        tmp_path,
        """
        [model]
        factory = "half_models:half"
        [region]
        lower = [-2.0, -1.0]
        upper = [2.0, 1.0]
        [fixed_points]
        seeds = 40
        [portrait]
        orbits = 6
        t_max = 3.0
        """,
    )
    done = run_cli(["analyze", str(spec), "--out", str(tmp_path / "o")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stopped early: nonfinite" in done.stdout
    points = load(tmp_path / "o" / "fixed_points.nc")
    np.testing.assert_allclose(points["x"].values, [[1.0, 0.0]], atol=1e-10)


def test_too_many_portrait_orbits_is_refused_at_once(tmp_path, capsys):
    spec = write(tmp_path, DOUBLE_WELL.replace("orbits = 2", "orbits = 100000"))
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "`portrait.orbits` must be between 0 and 1000" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 5. sizes
def test_deduplication_memory_is_linear_in_the_seeds():
    # 100,000 seeds on the double well land on three points; pairwise clustering needed memory
    # quadratic in the seeds on one point (4 GB at 20,000 seeds)
    seeds = np.random.default_rng(0).uniform(-2, 2, (100_000, 2))
    tracemalloc.start()
    try:
        ds = find_fixed_points(double_well(), seeds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.sizes["point"] == 3 and int(ds["n_seeds"].sum()) == ds.attrs["n_converged"]
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("seeds = 40", "seeds = 4000000000"),
        ("", "grid"),
    ],
)
def test_absurd_sizes_are_refused_with_an_estimate(tmp_path, capsys, edit, message):
    if edit:
        text = DOUBLE_WELL.replace(edit, message)
        expected = "`fixed_points.seeds` = 4000000000 needs about"
    else:
        text = DOUBLE_WELL + (
            '[basins]\nmode = "map"\n'
            "grid = { axes = { x = { linspace = [-2.0, 2.0, 100000] }, "
            "y = { linspace = [-1.5, 1.5, 100000] } } }\n"
        )
        expected = "the basin grid of 100000 x 100000 = 1e+10 points needs about"
    spec = write(tmp_path, text)
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "GB" in err


# ----------------------------------------------------------------------------- 6. folders
def test_each_spec_has_its_own_default_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = write(tmp_path, DOUBLE_WELL, "first.toml")
    second = write(tmp_path, DOUBLE_WELL.replace("seeds = 40", "seeds = 30"), "second.toml")
    assert main(["analyze", str(first)]) == 0
    assert main(["analyze", str(second)]) == 0
    a = load(tmp_path / "out" / "first" / "fixed_points.nc")
    b = load(tmp_path / "out" / "second" / "fixed_points.nc")
    assert a.attrs["n_seeds"] == 40 and b.attrs["n_seeds"] == 30


def test_a_folder_in_use_is_refused(tmp_path, capsys):
    spec = write(tmp_path, DOUBLE_WELL)
    out = tmp_path / "o"
    lock = tmp_path / ".o.lock"
    import socket

    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run": "x"}))
    assert main(["analyze", str(spec), "--out", str(out)]) == 2
    assert "is in use by run x" in capsys.readouterr().err
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(), "run": "y"}))
    assert main(["analyze", str(spec), "--out", str(out)]) == 0  # a stale lock is taken over
    assert not lock.exists()


def test_an_interrupted_run_never_mixes_or_loses_results(tmp_path, monkeypatch, capsys):
    spec = write(tmp_path, DOUBLE_WELL)
    out = tmp_path / "o"
    assert main(["analyze", str(spec), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    manifest = json.loads((out / "dynsys-run.json").read_text())
    assert manifest["complete"] and set(manifest["files"]) == set(before) - {"dynsys-run.json"}

    from dynsys.cli import analyze

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(analyze, "_portrait_stage", interrupted)  # after fixed_points.nc
    assert main(["analyze", str(spec.with_name("spec.toml")), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "was left as it was" in err
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # the previous run's folder, byte for byte
    kept = list(tmp_path.glob("o.incomplete-*"))
    assert len(kept) == 1 and (kept[0] / "fixed_points.nc").is_file()
    assert not list(tmp_path.glob(".o.*"))  # no staging folder, no lock left


def test_a_folder_that_is_not_a_dynsys_run_is_never_replaced(tmp_path, capsys):
    spec = write(tmp_path, DOUBLE_WELL)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    assert main(["analyze", str(spec), "--out", str(tmp_path / "mine")]) == 2
    assert "no dynsys run wrote" in capsys.readouterr().err
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


# ----------------------------------------------------------------------------- 8. one-line errors
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("lower = [-2.0, -1.5]", "lower = [-inf, -1.5]"), "`region.lower` must hold finite"),
        (("upper = [2.0, 1.5]", "upper = [1e300, 1.5]"), "`region.upper` must hold finite"),
        (("t_max = 2.0", 't_max = 2.0\nplane = ["x", "x"]'), "two different states"),
    ],
)
def test_malformed_specs_are_one_line_errors_before_any_work(tmp_path, capsys, edit, message):
    spec = write(tmp_path, DOUBLE_WELL.replace(*edit))
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_grid_axis_name_that_netcdf_cannot_hold_is_refused_before_computing(tmp_path, capsys):
    (tmp_path / "slash_models.py").write_text(
        "import numpy as np\n"
        "from dynsys import System, model\n"
        "@model\n"
        "def slash():\n"
        "    return System(lambda x, p: -x, ['a/b', 'c'])\n"
    )
    spec = write(
        tmp_path,
        """
        [model]
        factory = "slash_models:slash"
        [basins]
        mode = "map"
        grid = { axes = { "a/b" = { linspace = [-1.0, 1.0, 4] }, c = { values = [0.0] } } }
        """,
    )
    argv = ["basins", str(spec), "--out", str(tmp_path / "o"), "--import-path", str(tmp_path)]
    assert main(argv) == 2
    assert "cannot name a dimension of a netCDF file" in capsys.readouterr().err


def test_a_field_that_raises_is_one_line_error(tmp_path, capsys):
    (tmp_path / "raising_field.py").write_text(
        "import numpy as np\n"
        "from dynsys import System, model\n"
        "@model\n"
        "def partial():\n"
        "    def f(x, p):\n"
        "        if np.any(x[..., 0] > 1.5):\n"
        "            raise ValueError('outside the model')\n"
        "        return -x\n"
        "    return System(f, ['x', 'y'], probe=[0.1, 0.2])\n"
    )
    spec = write(
        tmp_path,
        """
        [model]
        factory = "raising_field:partial"
        [region]
        lower = [-2.0, -2.0]
        upper = [2.0, 2.0]
        [fixed_points]
        seeds = 40
        """,
    )
    argv = ["analyze", str(spec), "--out", str(tmp_path / "o"), "--import-path", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "raised ValueError: outside the model" in err and err.count("\n") == 1


def test_a_module_that_cannot_be_imported_says_how_to_fix_the_path(tmp_path, capsys):
    # the module is neither beside the spec (that folder is searched) nor on the path
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "nearby_lib.py").write_text(
        "from dynsys import model\nfrom dynsys.models import double_well\n"
        "@model\ndef well():\n    return double_well()\n"
    )
    spec = write(
        tmp_path, DOUBLE_WELL.replace('name = "double_well"', 'factory = "nearby_lib:well"')
    )
    assert main(["analyze", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--import-path DIR" in err and "beside the spec" in err
    lib = str(tmp_path / "lib")
    argv = ["analyze", str(spec), "--out", str(tmp_path / "o"), "--import-path", lib]
    try:
        assert main(argv) == 0
    finally:
        sys.path.remove(str((tmp_path / "lib").resolve()))
        sys.modules.pop("nearby_lib", None)


# ----------------------------------------------------------------------------- 10-11
def test_overflowing_field_still_finds_the_origin_without_warnings():
    # Lorenz at r = 1e300: |f| overflows when squared, and the Jacobian's scales differ by 1e300;
    # the origin is still an equilibrium, and every seed gets an outcome, with no warning flood
    import warnings

    seeds = np.random.default_rng(0).uniform(-30, 30, (200, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = find_fixed_points(lorenz(r=1e300), seeds)
    assert ds.sizes["point"] >= 1
    np.testing.assert_array_equal(ds["x"].values[0], [0.0, 0.0, 0.0])
    assert ds.attrs["n_converged"] + ds.attrs["n_failed"] == 200


def test_the_time_limit_message_does_not_mislead_about_cycles():
    text = explain(Status.TIME_LIMIT)
    assert "raise `t_max`" in text and "cycle" in text
