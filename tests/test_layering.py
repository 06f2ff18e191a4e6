"""The direction of imports: phase -> dynsys, models -> core, cli -> everything; never back."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import dynsys

ROOT = Path(dynsys.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.add(prefix + (node.module or ""))
    return names


def core_files():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {"cli", "models"}:
            continue
        yield path


def test_core_never_imports_phase_models_or_matplotlib():
    for path in core_files():
        for name in imported_modules(path):
            assert not name.startswith(("phase", "matplotlib")), f"{path} imports {name}"
            assert "models" not in name.split("."), f"{path} imports {name}"


def test_models_never_import_phase_or_cli():
    for path in (ROOT / "models").rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(("phase", "matplotlib")), f"{path} imports {name}"
            assert "cli" not in name.split("."), f"{path} imports {name}"


def test_import_dynsys_does_not_load_matplotlib():
    modules = [m.name for m in pkgutil.walk_packages(dynsys.__path__, "dynsys.")]
    modules = [m for m in modules if not m.startswith("dynsys.cli")]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was loaded'\n"
        "assert 'phase' not in sys.modules, 'phase was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
