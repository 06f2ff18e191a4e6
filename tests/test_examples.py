"""Every Python example in examples/ runs at a small size, so none rots.

Each example script defines ``main(out_dir, *, quick=False) -> dict[str, Path]`` returning the files
it wrote; ``quick=True`` shrinks it to seconds. Examples check their own science with assertions
where the paper states a number (for example a 1/sqrt(N) slope); this test checks that they run,
that every file they report exists and loads, and that every figure matches its stored reference
(``compare_example_figure`` of tests/test_visual.py; ``make baseline-images`` regenerates). Files
whose name starts with an underscore (``_common.py``: helpers the scripts share) are not examples.
The scripts import those helpers as ``from _common import ...``, which works when examples/ is on
``sys.path`` (as when a script is run with ``python examples/NAME.py``); it is put there below.
"""

import importlib.util
import sys
from pathlib import Path

import matplotlib
import pytest
from test_visual import compare_example_figure

from dynsys.io import load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs_quick(script, tmp_path):
    module = load_module(script)
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"
    with matplotlib.rc_context():  # the defaults of a script run alone
        matplotlib.rcdefaults()
        written = module.main(tmp_path, quick=True)
    assert written, f"{script.name} wrote nothing"
    for path in written.values():
        path = Path(path)
        assert path.is_file() and path.stat().st_size > 0, path
        if path.suffix == ".nc":
            load(path)
        elif path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            compare_example_figure(path, script.stem, tmp_path)
