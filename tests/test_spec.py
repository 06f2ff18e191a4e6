"""Spec validation: unknown keys, wrong types, out-of-range values and user factories."""

import textwrap

import pytest

from dynsys import SpecError, UnknownParameterError
from dynsys.cli.schema import schema_for
from dynsys.cli.spec import load_spec, resolve_system
from dynsys.models import MODELS

GOOD = """
[model]
name = "lorenz"
params = { r = 10 }

[region]
lower = [-30, -30, 0]
upper = [30, 30, 50]
"""


ANALYZE_SCHEMA = schema_for("analyze")


def write(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_good_spec_gets_defaults_and_builds_system(tmp_path):
    spec = load_spec(write(tmp_path, GOOD), ANALYZE_SCHEMA)
    assert spec["fixed_points"]["seeds"] == 400
    assert spec["region"]["lower"] == [-30.0, -30.0, 0.0]
    system = resolve_system(spec["model"], MODELS)
    assert system.params["r"] == 10.0


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ("[fixed_points]\nseed = 3\n", r"unknown key\(s\) \['fixed_points.seed'\]"),
        ("[fixed_points]\nseeds = 'many'\n", r"`fixed_points.seeds` must be an integer"),
        ("[fixed_points]\nseeds = -5\n", r"`fixed_points.seeds` must be > 0"),
        ("[fixed_points]\ntol = 0\n", r"`fixed_points.tol` must be a positive number"),
        ("[portrait]\nenabled = 1\n", r"`portrait.enabled` must be true or false"),
        ("[plot]\nx = 1\n", r"unknown key\(s\) \['plot'\]"),
    ],
)
def test_bad_keys_are_named(tmp_path, extra, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_spec(write(tmp_path, GOOD + extra), ANALYZE_SCHEMA)


def test_missing_region_is_named(tmp_path):
    with pytest.raises(SpecError, match=r"missing required key `region\.lower`"):
        load_spec(write(tmp_path, "[model]\nname = 'lorenz'\n"), ANALYZE_SCHEMA)


def test_not_toml(tmp_path):
    with pytest.raises(SpecError, match="not a valid TOML"):
        load_spec(write(tmp_path, "model = [unclosed"), ANALYZE_SCHEMA)


def test_unknown_model_and_parameter(tmp_path):
    spec = load_spec(write(tmp_path, GOOD.replace('"lorenz"', '"lorentz"')), ANALYZE_SCHEMA)
    with pytest.raises(SpecError, match="'lorentz' is not a known model"):
        resolve_system(spec["model"], MODELS)
    spec = load_spec(write(tmp_path, GOOD.replace("r = 10", "rho = 10")), ANALYZE_SCHEMA)
    with pytest.raises(UnknownParameterError, match="rho"):
        resolve_system(spec["model"], MODELS)


def test_user_factory_is_imported_not_evaluated(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "import numpy as np\n"
        "from dynsys import System, model\n"
        "@model\n"
        "def spiral(rate=1.0):\n"
        "    def f(x, p):\n"
        "        return np.stack([-p['k'] * x[..., 0] - x[..., 1],"
        " x[..., 0] - p['k'] * x[..., 1]], -1)\n"
        "    return System(f, ['u', 'v'], {'k': rate})\n"
        "NOT_A_FACTORY = 3\n"
        "def undeclared(rate=1.0):\n"
        "    return spiral(rate)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    base = "[region]\nlower = [-1, -1]\nupper = [1, 1]\n[model]\n"
    spec = load_spec(
        write(tmp_path, base + "factory = 'my_models:spiral'\nargs = { rate = 0.5 }\n"),
        ANALYZE_SCHEMA,
    )
    system = resolve_system(spec["model"], MODELS)
    assert system.params["k"] == 0.5
    for ref, pattern in [
        ("my_models:NOT_A_FACTORY", "not declared a dynsys model"),
        ("my_models:undeclared", "not declared a dynsys model"),
        ("no_such_module_xyz:f", "cannot import .* --import-path"),
        ("os.system('rm -rf /')", "must look like"),
    ]:
        spec = load_spec(write(tmp_path, base + f'factory = "{ref}"\n'), ANALYZE_SCHEMA)
        with pytest.raises(SpecError, match=pattern):
            resolve_system(spec["model"], MODELS)
    spec = load_spec(write(tmp_path, base + "name = 'lorenz'\nfactory = 'a:b'\n"), ANALYZE_SCHEMA)
    with pytest.raises(SpecError, match="exactly one of"):
        resolve_system(spec["model"], MODELS)


def test_a_spec_cannot_call_what_is_not_a_declared_model(tmp_path):
    # specs are data: naming a callable that is not declared a model is refused before it runs
    marker = tmp_path / "marker"
    victim = tmp_path / "victim"
    victim.mkdir()
    base = "[region]\nlower = [-1, -1]\nupper = [1, 1]\n[model]\n"
    for ref, args in [
        ("subprocess:getoutput", f'{{ cmd = "touch {marker}" }}'),
        ("os:system", f'{{ command = "touch {marker}" }}'),
        ("shutil:rmtree", f'{{ path = "{victim}" }}'),
        ("builtins:eval", '{ source = "1" }'),
    ]:
        spec = load_spec(
            write(tmp_path, base + f'factory = "{ref}"\nargs = {args}\n'), ANALYZE_SCHEMA
        )
        with pytest.raises(SpecError, match="not declared a dynsys model"):
            resolve_system(spec["model"], MODELS)
    assert not marker.exists() and victim.is_dir()


def test_a_factory_that_raises_is_one_line_spec_error(tmp_path, monkeypatch):
    (tmp_path / "raising_models.py").write_text(
        "from dynsys import model\n"
        "@model\n"
        "def broken(k=1.0):\n"
        "    raise RuntimeError('no such network')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    base = "[region]\nlower = [-1, -1]\nupper = [1, 1]\n[model]\n"
    spec = load_spec(write(tmp_path, base + 'factory = "raising_models:broken"\n'), ANALYZE_SCHEMA)
    with pytest.raises(SpecError, match="raised RuntimeError: no such network"):
        resolve_system(spec["model"], MODELS)


def test_every_builtin_model_is_declared():
    from dynsys.system import is_model

    assert all(is_model(factory) for factory in MODELS.values())
