"""``import dynsys`` loads only its kernel; every public name still resolves on first use.

Each check runs in a fresh interpreter (this test process has imported everything already)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Heavy dependencies that `import dynsys` must not load: they come with the families that use
# them (xarray with results, scipy.stats with samplers, networkx with the graph, dask with the
# basins executor, matplotlib with plotting, numba with the compiled kernels).
NOT_ON_IMPORT = (
    "xarray",
    "pandas",
    "scipy.stats",
    "scipy.integrate",
    "scipy.optimize",
    "networkx",
    "matplotlib",
    "numba",
    "dask",
    "distributed",
)

PACKAGES = (
    "phase",
    "dynsys",
    "dynsys.attractors",
    "dynsys.basins",
    "dynsys.continuation",
    "dynsys.cycles",
    "dynsys.fixedpoints",
    "dynsys.graph",
    "dynsys.integrate",
    "dynsys.models",
    "dynsys.saddles",
    "dynsys.spectra",
    "dynsys.symmetry",
)


def _python(code: str):
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_import_dynsys_loads_no_heavy_dependency():
    loaded = _python(
        "import json, sys, dynsys\n"
        f"print(json.dumps([m for m in {list(NOT_ON_IMPORT)!r} if m in sys.modules]))"
    )
    assert loaded == []


def test_the_continuation_of_equilibria_does_not_load_the_cycle_machinery():
    loaded = _python(
        "import json, sys\n"
        "from dynsys.continuation import continue_branch\n"
        "print(json.dumps([m for m in ('scipy.integrate', 'networkx', 'dask', 'matplotlib') "
        "if m in sys.modules]))"
    )
    assert loaded == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package):
    # each package in its own interpreter, so that no other import has loaded its modules
    result = _python(
        "import importlib, json\n"
        f"package = importlib.import_module({package!r})\n"
        "missing = [n for n in package.__all__ if not hasattr(package, n)]\n"
        "names = {n: type(getattr(package, n)).__name__ for n in package.__all__}\n"
        "listed = sorted(set(package.__all__) - set(dir(package)))\n"
        "print(json.dumps({'missing': missing, 'listed': listed, 'count': len(names)}))"
    )
    assert result["missing"] == []
    assert result["listed"] == []  # dir() shows every public name before its first use
    assert result["count"] > 0


def test_star_import_and_the_objects_are_the_defining_modules_own():
    result = _python(
        "import json\n"
        "from dynsys import *\n"
        "import dynsys, dynsys.continuation._branch as branch, dynsys.system as system\n"
        "print(json.dumps([continue_branch is branch.continue_branch, System is system.System, "
        "dynsys.continuation.continue_branch is continue_branch, "
        "set(dynsys.__all__) <= set(globals())]))"
    )
    assert result == [True, True, True, True]


def test_subpackages_are_attributes_and_unknown_names_raise():
    result = _python(
        "import json, dynsys\n"
        "kinds = [type(dynsys.graph).__name__, type(dynsys.models).__name__]\n"
        "try:\n"
        "    dynsys.no_such_name\n"
        "    error = ''\n"
        "except AttributeError as exc:\n"
        "    error = str(exc)\n"
        "print(json.dumps(kinds + [error]))"
    )
    assert result == ["module", "module", "module 'dynsys' has no attribute 'no_such_name'"]


def test_drawing_a_diagram_does_not_load_the_other_pictures_libraries():
    loaded = _python(
        "import json, sys, phase\n"
        "from phase import draw_diagram\n"
        "print(json.dumps([m for m in ('networkx', 'scipy.stats', 'phase.graph', 'phase.spectra') "
        "if m in sys.modules]))"
    )
    assert loaded == []


def test_phase_unknown_names_raise():
    result = _python(
        "import json, phase\n"
        "try:\n"
        "    phase.no_such_name\n"
        "    error = ''\n"
        "except AttributeError as exc:\n"
        "    error = str(exc)\n"
        "print(json.dumps([error, phase.draw_graph is __import__('phase.graph').graph.draw_graph]))"
    )
    assert result == ["module 'phase' has no attribute 'no_such_name'", True]
