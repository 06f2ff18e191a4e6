"""The `dynsys analyze` command end to end, and every example spec at a small size."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

from dynsys.cli import main
from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def toml_text(data: dict) -> str:
    lines = []
    for section, table in data.items():
        lines.append(f"[{section}]")
        for key, value in table.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {v!r}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            elif isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            else:
                lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


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
    small = tmp_path / spec.name
    small.write_text(toml_text(data))
    assert main(["analyze", str(small), "--out", str(tmp_path / "out")]) == 0
    ds = load(tmp_path / "out" / "fixed_points.nc")
    assert ds.sizes["point"] >= 1
    assert float(ds["residual"].max()) < 1e-8


def test_bad_spec_is_an_error_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "double_well"\n[region]\nlower = [-1, -1]\nupper = [1]\n')
    assert main(["analyze", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "`region.upper` has 1 values; the model has 2 states" in err
    assert main(["analyze", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
