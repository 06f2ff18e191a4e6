"""The `dynsys analyze` command end to end, and every example spec at a small size."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from dynsys.cli import main
from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def toml_value(value) -> str:
    """A TOML value: inline tables (nested ones too), arrays, strings, booleans, numbers."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def toml_text(data: dict) -> str:
    lines = []
    for section, table in data.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def shrink_basins(table: dict) -> None:
    """At most 10 grid points per axis (keeping the parity), 60 samples in one round."""
    for spec in table.get("grid", {}).get("axes", {}).values():
        if "linspace" in spec:
            low, high, num = spec["linspace"]
            spec["linspace"] = [low, high, min(num, 10 - num % 2)]
    if "n" in table or table.get("mode") in ("probabilities", "sweep"):
        table["n"] = min(table.get("n", 60), 60)
        if "max_samples" in table or "target_width" in table:
            table["max_samples"] = table["n"]
    if "values" in table:
        table["values"] = table["values"][:2]


def test_analyze_double_well_finds_the_exact_points(tmp_path, capsys):
    code = main(["analyze", str(EXAMPLES / "double_well.toml"), "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "saddle-1" in out and "minimum" in out
    ds = load(tmp_path / "fixed_points.nc")
    order = np.argsort(ds["x"].values[:, 0])
    np.testing.assert_allclose(ds["x"].values[order], [[-1, 0], [0, 0], [1, 0]], atol=1e-12)
    assert list(ds["kind"].values[order]) == ["minimum", "saddle-1", "minimum"]
    np.testing.assert_allclose(ds["energy"].values[order], [0.0, 0.25, 0.0], atol=1e-15)
    assert ds.attrs["system"] == "double_well"
    assert (tmp_path / "portrait.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_spec_runs_small(spec, tmp_path):
    data = tomllib.loads(spec.read_text())
    data.setdefault("fixed_points", {})["seeds"] = 60
    portrait = data.setdefault("portrait", {})
    portrait["orbits"] = min(portrait.get("orbits", 2), 2)
    if "basins" in data:
        shrink_basins(data["basins"])
    if "graph" in data:
        data["graph"]["path_points"] = min(data["graph"].get("path_points", 20), 20)
    small = tmp_path / spec.name
    small.write_text(toml_text(data))
    out = tmp_path / "out"
    # a spec without a region is a `dynsys basins` spec (attractors found on the way)
    command = "analyze" if "region" in data else "basins"
    assert main([command, str(small), "--out", str(out)]) == 0
    if command == "analyze":
        ds = load(out / "fixed_points.nc")
        assert ds.sizes["point"] >= 1
        assert float(ds["residual"].max()) < 1e-8
    if "basins" in data:
        basins = load(out / "basins.nc")
        assert float(basins["fraction"].sum("attractor").min()) == pytest.approx(1.0)
    if "graph" in data:
        assert load(out / "graph.nc").sizes["node"] >= 1


def test_bad_spec_is_an_error_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "double_well"\n[region]\nlower = [-1, -1]\nupper = [1]\n')
    assert main(["analyze", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`region.upper` has 1 values; the model has 2 states" in err
    assert main(["analyze", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
