"""The command line imports only what the chosen command runs.

Building the parser imports no stage and no scientific library; reading a spec imports the
tables of every stage (each command accepts every table) but not the stages' machinery;
``dynsys continue`` on the Lorenz example never loads the basins stage, the symmetry package
(through the full model registry), scipy.optimize, pyplot or dask.distributed before it writes
its results. Each check runs in a fresh interpreter (this test process has imported everything
already).
"""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "lorenz_continuation.toml"

# Loaded by none of: building the parser, parsing `continue`, reading a spec.
NOT_ON_PARSE = (
    "xarray",
    "pandas",
    "scipy",
    "matplotlib",
    "dask",
    "distributed",
    "networkx",
    "h5py",
    "importlib.metadata",
    "dynsys.cli.schema",
    "dynsys.cli.analyze",
    "dynsys.cli.basins_stage",
    "dynsys.cli.continuation_stage",
)

# Loaded neither by reading a spec nor by printing the reference of its keys.
NOT_ON_SCHEMA = (
    "xarray",
    "matplotlib",
    "dask",
    "distributed",
    "networkx",
    "scipy.optimize",
    "scipy.stats",
    "dynsys.cli.basins_stage",
    "dynsys.fixedpoints._find",
    "dynsys.symmetry",
)

# Loaded at no time by `dynsys continue` on the Lorenz example (no region, no basins, no graph).
NOT_ON_CONTINUE = (
    "dynsys.cli.basins_stage",
    "dynsys.basins._map",
    "dynsys.graph._build",
    "dynsys.symmetry",
    "dynsys.models.families",
    "scipy.optimize",
    "scipy.stats",
    "networkx",
    "matplotlib.pyplot",
)


def _python(code: str) -> object:
    """Run ``code`` in a fresh interpreter; its last line of output is JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_building_the_parser_and_parsing_continue_load_no_stage():
    loaded = _python(
        "import json, sys\n"
        "from dynsys.cli import build_parser\n"
        "args = build_parser().parse_args(['continue', 'spec.toml', '--out', 'o', '--no-report'])\n"
        "assert args.command == 'continue'\n"
        f"print(json.dumps([m for m in {list(NOT_ON_PARSE)!r} if m in sys.modules]))"
    )
    assert loaded == []


def test_reading_a_spec_loads_the_tables_but_not_the_stages():
    result = _python(
        "import contextlib, io, json, sys\n"
        "from dynsys.cli import main\n"
        "from dynsys.cli.schema import schema_for\n"
        "from dynsys.cli.spec import load_spec\n"
        f"spec = load_spec({str(SPEC)!r}, schema_for('continue'))\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['spec', '--schema', 'continue'])\n"
        f"loaded = [m for m in {list(NOT_ON_SCHEMA)!r} if m in sys.modules]\n"
        "print(json.dumps([loaded, sorted(spec)]))"
    )
    loaded, tables = result
    assert loaded == []
    assert "basins" in tables and "graph" in tables  # every table is still read and checked


def test_continue_loads_only_what_it_runs(tmp_path):
    # the modules present when the diagram is saved (before xarray's netCDF writer asks dask
    # for its scheduler) and when the command has finished
    result = _python(
        "import json, sys\n"
        "import dynsys.io\n"
        "from dynsys.cli import main\n"
        "save, seen = dynsys.io.save, {}\n"
        "def spy(*args, **kwargs):\n"
        "    seen['at_save'] = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('distributed', 'matplotlib', 'phase'))\n"
        "    return save(*args, **kwargs)\n"
        "dynsys.io.save = spy\n"
        f"code = main(['continue', {str(SPEC)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--no-report'])\n"
        f"after = [m for m in {list(NOT_ON_CONTINUE)!r} if m in sys.modules]\n"
        "print(json.dumps([code, seen['at_save'], after]))"
    )
    code, at_save, after = result
    assert code == 0
    assert at_save == []  # nor matplotlib before the picture is drawn
    assert after == []
    assert (tmp_path / "out" / "diagram.nc").is_file()
    assert (tmp_path / "out" / "diagram.png").is_file()


def test_the_model_registry_names_the_factories_of_dynsys_models():
    from dynsys import models
    from dynsys.models import MODELS

    assert len(MODELS) == 17 and len(set(MODELS)) == 17
    assert all(MODELS[name] is getattr(models, name) for name in MODELS)
    assert MODELS.get("henon") is None and "henon" not in MODELS  # in dynsys.models, not MODELS
    with pytest.raises(KeyError):
        MODELS["henon"]


def test_the_search_defaults_written_in_the_region_table_are_the_functions():
    from dynsys.cli.region import _FIND_DEFAULTS
    from dynsys.fixedpoints import find_fixed_points

    parameters = inspect.signature(find_fixed_points).parameters
    assert {name: parameters[name].default for name in _FIND_DEFAULTS} == _FIND_DEFAULTS


def test_python_m_dynsys_exits_with_the_commands_code_and_spares_the_shutdown_collection():
    # `python -m dynsys` freezes the objects once the command has returned, so that the
    # interpreter's shutdown does not search them for cycles again; the exit code is main's
    code, frozen = _python(
        "import gc, json, runpy, sys\n"
        "sys.argv = ['dynsys', 'continue', 'no_such_spec.toml']\n"
        "try:\n"
        "    runpy.run_module('dynsys', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    print(json.dumps([exc.code, gc.get_freeze_count() > 0]))\n"
    )
    assert (code, frozen) == (2, True)
